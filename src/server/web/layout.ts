/** The frame of every page: landmarks, a skip link, the nav, notices, and no inline script or style. */
import { html, type HtmlValue, type SafeHtml } from './html';

export type NavKey = 'tokens' | 'device' | 'orgs' | 'stats' | 'account';
export type OrgTab = 'members' | 'workspaces' | 'tokens' | 'audit';

export interface Viewer {
  name: string;
  serverAdmin: boolean;
  /** The session's CSRF token, put into every form. */
  csrf: string;
}

export interface Notice {
  kind: 'ok' | 'error' | 'warn' | 'info';
  text: string;
}

export interface PageFrame {
  title: string;
  viewer?: Viewer;
  active?: NavKey;
  notice?: Notice;
  /** Narrow centred layout (sign-in, invite). */
  narrow?: boolean;
}

const NAV: { key: NavKey; href: string; label: string }[] = [
  { key: 'tokens', href: '/ui/tokens', label: 'My tokens' },
  { key: 'device', href: '/ui/device', label: 'Approve CLI login' },
  { key: 'orgs', href: '/ui/orgs', label: 'Organisations' },
  { key: 'stats', href: '/ui/stats', label: 'Cache statistics' },
  { key: 'account', href: '/ui/account', label: 'Account' },
];

/** The hidden field every state-changing form carries. */
export const csrfField = (viewer: Pick<Viewer, 'csrf'>): SafeHtml =>
  html`<input type="hidden" name="csrf" value="${viewer.csrf}">`;

export function noticeBlock(notice: Notice | undefined): SafeHtml {
  if (notice === undefined) return html``;
  const role = notice.kind === 'error' ? 'alert' : 'status';
  return html`<div class="notice ${notice.kind}" role="${role}">${notice.text}</div>`;
}

function header(frame: PageFrame): SafeHtml {
  const viewer = frame.viewer;
  if (viewer === undefined) return html`<header class="top"><a class="brand" href="/">nx-sealed-cache</a></header>`;
  const items = NAV.map(
    (n) => html`<li><a href="${n.href}"${n.key === frame.active ? html` aria-current="page"` : ''}>${n.label}</a></li>`,
  );
  return html`<header class="top">
  <a class="brand" href="/">nx-sealed-cache</a>
  <nav aria-label="Main"><ul>${items}</ul></nav>
  <div class="who"><span>Signed in as <strong>${viewer.name}</strong>${viewer.serverAdmin ? ' (server admin)' : ''}</span>
    <form method="post" action="/ui/sign-out">${csrfField(viewer)}<button type="submit" class="small">Sign out</button></form></div>
</header>`;
}

export function page(frame: PageFrame, body: HtmlValue): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${frame.title} · nx-sealed-cache</title>
<link rel="stylesheet" href="/ui/assets/app.css">
<script src="/ui/assets/app.js" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
${header(frame)}
<main id="main"${frame.narrow ? html` class="narrow"` : ''}>
${noticeBlock(frame.notice)}
${body}
</main>
<footer>nx-sealed-cache · a self-hosted remote cache for Nx</footer>
</body>
</html>`.value;
}

/** A sub-navigation for an organisation's admin pages. */
export function orgTabs(orgName: string, active: OrgTab): SafeHtml {
  const tabs: { key: OrgTab; label: string }[] = [
    { key: 'members', label: 'Members' },
    { key: 'workspaces', label: 'Workspaces' },
    { key: 'tokens', label: 'Tokens' },
    { key: 'audit', label: 'Audit log' },
  ];
  const base = `/ui/orgs/${encodeURIComponent(orgName)}`;
  return html`<nav aria-label="Organisation" class="actions">${tabs.map(
    (t) =>
      html`<a class="button${t.key === active ? ' primary' : ''}" href="${base}/${t.key}"${t.key === active ? html` aria-current="page"` : ''}>${t.label}</a>`,
  )}</nav>`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `2 Dec 2026, 13:40 UTC` in a <time> that breaks only between date and hour; the exact instant stays in `datetime`. */
export function formatTime(iso: string | null): SafeHtml | string {
  if (iso === null) return '—';
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return iso;
  const hm = `${String(at.getUTCHours()).padStart(2, '0')}:${String(at.getUTCMinutes()).padStart(2, '0')}`;
  // Date and hour each stay whole; in a crowded table the hour may go under the date.
  return html`<time datetime="${iso}"><span>${at.getUTCDate()} ${MONTHS[at.getUTCMonth()]} ${at.getUTCFullYear()},</span> <span>${hm} UTC</span></time>`;
}
