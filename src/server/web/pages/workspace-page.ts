/** A workspace's settings page for organisation admins: access levels, CI tokens, CI identity, tiers. */
import type { AccessLevel } from '../../../protocol';
import type { MemberRole, Organisation, Workspace } from '../../metadata/records';
import { html, type SafeHtml } from '../html';
import { csrfField, page, type Notice, type Viewer } from '../layout';
import { tierField } from './tier-field';

const LEVELS = ['none', 'read', 'read-write'] as const;

function select(id: string, name: string, values: readonly string[], current: string): SafeHtml {
  return html`<select id="${id}" name="${name}">${values.map((v) => html`<option value="${v}"${v === current ? html` selected` : ''}>${v}</option>`)}</select>`;
}

export interface WorkspaceMemberRow {
  userId: string;
  name: string;
  bot: boolean;
  role: MemberRole;
  /** This member's own level for this workspace; undefined means the workspace's members' default. */
  override: AccessLevel | undefined;
}

/** Each member's effective access (the most their personal tokens get here; a read token stays read) and a form to override it. */
function memberAccessSection(viewer: Viewer, ws: Workspace, members: WorkspaceMemberRow[]): SafeHtml {
  if (members.length === 0) return html`<p class="empty">The organisation has no members yet.</p>`;
  const rows = members.map((m) => {
    const effective = m.override ?? ws.memberDefaultAccess;
    const id = `member-access-${m.userId}`;
    const choices = ['default', 'read', 'read-write', 'none'] as const;
    const current = m.override ?? 'default';
    return html`<tr data-member-access="${m.name}"><td data-label="Member">${m.name}${m.bot ? html` <span class="hint">(bot)</span>` : ''}</td><td data-label="Role">${m.role}</td>
<td data-label="Effective access"><span class="badge${effective === 'read-write' ? ' rw' : effective === 'none' ? ' none' : ''}">${effective}</span> <span class="hint">${m.override === undefined ? 'members’ default' : 'set for this member'}</span></td>
<td><form method="post" action="/ui/workspaces/${ws.id}/members/${m.userId}/access" class="inline-form">${csrfField(viewer)}<label class="sr-only" for="${id}">Access for ${m.name}</label><select id="${id}" name="access">${choices.map(
      (c) =>
        html`<option value="${c}"${c === current ? html` selected` : ''}>${c === 'default' ? `default (${ws.memberDefaultAccess})` : c}</option>`,
    )}</select><button type="submit" class="small">Save</button></form></td></tr>`;
  });
  return html`<table class="stack"><caption>Members' access to this workspace</caption><thead><tr><th scope="col">Member</th><th scope="col">Role</th><th scope="col">Effective access</th><th scope="col">Change</th></tr></thead><tbody>${rows}</tbody></table>`;
}

export function workspacePage(
  viewer: Viewer,
  org: Organisation,
  ws: Workspace,
  ciTokens: SafeHtml,
  nonce: string,
  notice?: Notice,
  members: WorkspaceMemberRow[] = [],
  ciIdentity: SafeHtml = html``,
): string {
  const tier = (ws as { personalTokenTier?: string }).personalTokenTier;
  const tiers =
    tier === undefined
      ? html`<p class="empty">Write tiers and provenance appear here once the server has them.</p>`
      : html`<dl class="facts"><dt>Members' personal tokens write to</dt><dd><span class="badge">${tier}</span> tier</dd><dt>Isolated entries live for</dt><dd>${(ws as { isolatedRetention?: string }).isolatedRetention ?? '—'}</dd></dl>
<p class="hint">Trusted builds read and write only the trusted tier; untrusted writers land in a namespace of their own. Change tiers with <code>nx-sealed-cache workspace</code> and inspect or quarantine entries with <code>nx-sealed-cache entries</code>.</p>`;
  return page(
    { title: `Workspace ${ws.name}`, viewer, active: 'orgs', notice },
    html`<h1>Workspace ${ws.name}</h1>
<p class="lead">In <a href="/ui/orgs/${org.name}/workspaces">${org.name}</a> · id <code>${ws.id}</code> · <a href="/ui/workspaces/${ws.id}/runs">runs, hit rate and time saved</a></p>
<section class="card" aria-labelledby="access"><h2 id="access">Access</h2>
<form method="post" action="/ui/workspaces/${ws.id}/access" class="inline-form">${csrfField(viewer)}
<div><label for="anonymousAccess">Anonymous access <span class="hint">(workspace id only, no token)</span></label>${select('anonymousAccess', 'anonymousAccess', LEVELS, ws.anonymousAccess)}</div>
<div><label for="memberDefaultAccess">Members' default for personal tokens</label>${select('memberDefaultAccess', 'memberDefaultAccess', ['read', 'read-write'], ws.memberDefaultAccess)}</div>
<div><button type="submit" class="primary">Save access</button></div></form>
<p class="hint">Lowering anonymous access takes effect on the next request.</p></section>
<section class="card" aria-labelledby="members-access"><h2 id="members-access">Members</h2>
<p class="hint">A member's personal tokens get at most this level here (a read token stays read). <code>default</code> follows the members' default above; <code>none</code> shuts the member out of this workspace only. Changes apply to the next request.</p>
${memberAccessSection(viewer, ws, members)}</section>
<section class="card" aria-labelledby="ci"><h2 id="ci">CI access tokens</h2>
<form method="post" action="/ui/workspaces/${ws.id}/ci-tokens" class="inline-form">${csrfField(viewer)}<input type="hidden" name="once" value="${nonce}">
<div><label for="ci-name">Name</label><input type="text" id="ci-name" name="name" maxlength="100" required placeholder="main branch CI"></div>
<div><label for="ci-access">Access</label>${select('ci-access', 'access', ['read', 'read-write'], 'read')}</div>
${tierField('ci-tier', { policy: false })}
<div><button type="submit" class="primary">Create CI token</button></div></form>
${ciTokens}</section>
${ciIdentity}
<section class="card" aria-labelledby="tiers"><h2 id="tiers">Write tiers and provenance</h2>${tiers}</section>`,
  );
}
