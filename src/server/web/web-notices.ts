/** Fixed notices picked by a `done` query parameter after a redirect; nothing from the URL is echoed. */
import type { Notice } from './layout';

const NOTICES: Record<string, Notice> = {
  revoked: { kind: 'ok', text: 'Token deleted. It stops working at once.' },
  'member-removed': { kind: 'ok', text: 'Member removed. Their personal tokens no longer work for this organisation.' },
  'role-changed': { kind: 'ok', text: 'Role saved.' },
  'bot-added': { kind: 'ok', text: 'Bot user added.' },
  'token-access-changed': { kind: 'ok', text: "Token access changed. It applies to the token's next request." },
  'member-access-saved': {
    kind: 'ok',
    text: "Member's access to this workspace saved. It applies to the next request.",
  },
  'user-invited': {
    kind: 'ok',
    text: 'Invitation sent. The user joins when they accept it on their Organisations page.',
  },
  'member-added': { kind: 'ok', text: 'Member added.' },
  'invitation-accepted': { kind: 'ok', text: 'Invitation accepted. You are now a member.' },
  'invitation-declined': { kind: 'ok', text: 'Invitation declined.' },
  'run-reports-saved': { kind: 'ok', text: 'Run-report setting saved. It applies to the next report.' },
  'access-saved': { kind: 'ok', text: 'Access levels saved. They apply to the next request.' },
  'trust-policy-added': {
    kind: 'ok',
    text: 'Trust policy added. CI jobs it admits can exchange their identity token from now on.',
  },
  'trust-policy-deleted': {
    kind: 'ok',
    text: 'Trust policy deleted. Tokens it already granted live out their lifetime.',
  },
};

export function noticeFromQuery(query: unknown): Notice | undefined {
  const done = (query as Record<string, unknown> | undefined)?.done;
  return typeof done === 'string' ? NOTICES[done] : undefined;
}

/** Only our own pages are valid places to come back to. */
export function safeBack(back: string | undefined, fallback: string): string {
  return back !== undefined && /^\/ui\/[A-Za-z0-9._~%/-]*$/.test(back) ? back : fallback;
}

export function withDone(path: string, done: string): string {
  return `${path}${path.includes('?') ? '&' : '?'}done=${done}`;
}
