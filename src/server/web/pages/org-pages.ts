/** Organisation admin pages: the list, members (invite, remove, roles, bots), workspaces and the audit log. */
import type { AuditEvent, Membership, Organisation, User, Workspace } from '../../metadata/records';
import { html, type SafeHtml } from '../html';
import { TIER_MEANING } from '../../../access-text';
import { type AuditNames, auditActorId, auditDetailPairs } from '../../../audit-text';
import { csrfField, formatTime, orgTabs, page, type Notice, type Viewer } from '../layout';

/** An invitation to join, as the invited user sees it. */
export interface InvitationRow {
  id: string;
  orgName: string;
  role: string;
  expiresAt: string;
}

function invitationsSection(viewer: Viewer, invitations: InvitationRow[]): SafeHtml | string {
  if (invitations.length === 0) return '';
  return html`<section class="card" aria-labelledby="invitations"><h2 id="invitations">Invitations for you</h2>
<p class="hint">An organisation's administrator asked you to join. Nothing changes until you accept.</p>
<table><thead><tr><th scope="col">Organisation</th><th scope="col">Role</th><th scope="col">Expires</th><th scope="col"><span class="hint">Answer</span></th></tr></thead><tbody>${invitations.map(
    (i) =>
      html`<tr data-invitation="${i.orgName}"><td>${i.orgName}</td><td>${i.role}</td><td>${formatTime(i.expiresAt)}</td><td><form method="post" action="/ui/invitations/${i.id}/accept" class="inline-form">${csrfField(viewer)}<button type="submit" class="small primary">Accept</button></form><form method="post" action="/ui/invitations/${i.id}/decline" class="inline-form">${csrfField(viewer)}<button type="submit" class="small">Decline</button></form></td></tr>`,
  )}</tbody></table></section>`;
}

export function orgListPage(
  viewer: Viewer,
  orgs: { org: Organisation; role: string }[],
  invitations: InvitationRow[] = [],
  notice?: Notice,
): string {
  const body =
    orgs.length === 0
      ? html`<p class="empty">You are not a member of any organisation yet. An administrator can invite you.</p>`
      : html`<table><caption>Organisations you belong to</caption><thead><tr><th scope="col">Name</th><th scope="col">Your role</th><th scope="col">Public</th></tr></thead><tbody>${orgs.map(
          ({ org, role }) =>
            html`<tr><td><a href="/ui/orgs/${org.name}/${role === 'admin' ? 'members' : 'workspaces'}">${org.name}</a></td><td>${role}</td><td>${org.public ? 'yes' : 'no'}</td></tr>`,
        )}</tbody></table>`;
  return page(
    { title: 'Organisations', viewer, active: 'orgs', notice },
    html`<h1>Organisations</h1>${invitationsSection(viewer, invitations)}${body}`,
  );
}

function orgFrame(
  viewer: Viewer,
  org: Organisation,
  title: string,
  notice: Notice | undefined,
  tab: Parameters<typeof orgTabs>[1],
  body: SafeHtml,
): string {
  return page(
    { title: `${title} · ${org.name}`, viewer, active: 'orgs', notice },
    html`<h1>${org.name}: ${title}</h1>${orgTabs(org.name, tab)}${body}`,
  );
}

export interface MemberRow {
  membership: Membership;
  user: User | undefined;
}

export function membersPage(
  viewer: Viewer,
  org: Organisation,
  rows: MemberRow[],
  nonce: string,
  notice?: Notice,
  workspaces: Workspace[] = [],
): string {
  const base = `/ui/orgs/${org.name}`;
  const people = rows.filter((r) => !r.user?.bot);
  const bots = rows.filter((r) => r.user?.bot);
  const roleForm = (
    row: MemberRow,
  ) => html`<form method="post" action="${base}/members/${row.membership.userId}/role" class="inline-form">${csrfField(viewer)}
<label class="hint" for="role-${row.membership.userId}">Role</label><select id="role-${row.membership.userId}" name="role"><option value="member"${row.membership.role === 'member' ? html` selected` : ''}>member</option><option value="admin"${row.membership.role === 'admin' ? html` selected` : ''}>admin</option></select>
<button type="submit" class="small">Save</button></form>`;
  const removeForm = (row: MemberRow) =>
    html`<form method="post" action="${base}/members/${row.membership.userId}/remove" data-confirm="Remove ${row.user?.name ?? row.membership.userId}? Their tokens stop working for this organisation at once.">${csrfField(viewer)}<button type="submit" class="small danger" aria-label="Remove ${row.user?.name ?? row.membership.userId}">Remove</button></form>`;
  const memberTable =
    people.length === 0
      ? html`<p class="empty">No members yet. Invite someone below.</p>`
      : html`<table class="stack"><caption>People</caption><thead><tr><th scope="col">User</th><th scope="col">Role</th><th scope="col">Member since</th><th scope="col"><span class="hint">Actions</span></th></tr></thead><tbody>${people.map(
          (row) =>
            html`<tr data-member="${row.user?.name ?? row.membership.userId}"><td data-label="User">${row.user?.name ?? row.membership.userId}</td><td data-label="Role">${roleForm(row)}</td><td data-label="Member since">${formatTime(row.membership.createdAt)}</td><td>${removeForm(row)}</td></tr>`,
        )}</tbody></table>`;
  const botTable =
    bots.length === 0
      ? html`<p class="empty">No bot users. Bots hold machine tokens that prime the cache.</p>`
      : html`<table class="stack"><caption>Bot users</caption><thead><tr><th scope="col">Bot</th><th scope="col">Machine token</th><th scope="col"><span class="hint">Actions</span></th></tr></thead><tbody>${bots.map(
          (
            row,
          ) => html`<tr><td data-label="Bot">${row.user?.name}</td><td data-label="Machine token"><form method="post" action="${base}/bots/${row.membership.userId}/tokens" class="inline-form">${csrfField(viewer)}<input type="hidden" name="once" value="${nonce}"><label class="hint" for="bot-wsid-${row.membership.userId}">Workspace</label><select id="bot-wsid-${row.membership.userId}" name="workspaceId" required>${workspaces.map((ws) => html`<option value="${ws.id}">${ws.name}</option>`)}</select>
<label class="hint" for="bot-ws-${row.membership.userId}">Access</label><select id="bot-ws-${row.membership.userId}" name="access"><option value="read-write">read-write</option><option value="read">read</option></select>
<label class="hint" for="bot-tier-${row.membership.userId}">Tier</label><select id="bot-tier-${row.membership.userId}" name="tier"><option value="">workspace policy</option><option value="trusted">trusted</option><option value="isolated">isolated</option></select><button type="submit" class="small">New machine token</button></form></td><td>${removeForm(row)}</td></tr>`,
        )}</tbody></table>
<p class="hint" data-tier-meanings>Tier: <strong>trusted</strong> ${TIER_MEANING.trusted}; <strong>isolated</strong> ${TIER_MEANING.isolated}; <strong>workspace policy</strong> ${TIER_MEANING['workspace policy']}.</p>`;
  return orgFrame(
    viewer,
    org,
    'Members',
    notice,
    'members',
    html`${memberTable}
<section class="card" aria-labelledby="invite"><h2 id="invite">Invite someone</h2>
<p class="hint">Creates a one-time link, valid for 7 days. Send it privately; whoever opens it first joins.</p>
<form method="post" action="${base}/invites" class="inline-form">${csrfField(viewer)}<input type="hidden" name="once" value="${nonce}">
<div><label for="invite-role">Role</label><select id="invite-role" name="role"><option value="member">member</option><option value="admin">admin</option></select></div>
<div><button type="submit" class="primary">Create invite link</button></div></form></section>
<section class="card" aria-labelledby="add-existing"><h2 id="add-existing">Add an existing user</h2>
<p class="hint">They get an invitation on their Organisations page and join when they accept.</p>
<form method="post" action="${base}/members/add" class="inline-form">${csrfField(viewer)}
<div><label for="existing-name">User name</label><input type="text" id="existing-name" name="user" required maxlength="100"></div>
<div><label for="existing-role">Role</label><select id="existing-role" name="role"><option value="member">member</option><option value="admin">admin</option></select></div>
<div><button type="submit">Invite user</button></div></form></section>
<h2>Bots</h2>
${botTable}
<section class="card" aria-labelledby="new-bot"><h2 id="new-bot">Add a bot user</h2>
<form method="post" action="${base}/bots" class="inline-form">${csrfField(viewer)}
<div><label for="bot-name">Bot name</label><input type="text" id="bot-name" name="name" required maxlength="100" placeholder="cache-primer"></div>
<div><button type="submit">Add bot</button></div></form></section>`,
  );
}

export function inviteCreatedPage(
  viewer: Viewer,
  org: Organisation,
  link: string,
  role: string,
  expiresAt: string,
): string {
  return page(
    {
      title: 'Invite link',
      viewer,
      active: 'orgs',
      notice: { kind: 'warn', text: 'Copy this link now. It is shown only once and works once.' },
    },
    html`<h1>Invite to ${org.name} as ${role}</h1>
<pre class="secret" id="invite-link">${link}</pre>
<p class="actions"><button type="button" data-copy="invite-link">Copy</button> <span id="invite-link-status" role="status" class="hint"></span></p>
<p class="hint">Expires ${formatTime(expiresAt)}.</p>
<p><a class="button primary" href="/ui/orgs/${org.name}/members">Back to members</a></p>`,
  );
}

export function orgWorkspacesPage(
  viewer: Viewer,
  org: Organisation,
  workspaces: Workspace[],
  isAdmin: boolean,
): string {
  const body =
    workspaces.length === 0
      ? html`<p class="empty">No workspaces yet. Create one with <code>nx-sealed-cache workspace create</code>.</p>`
      : html`<table><caption>Workspaces</caption><thead><tr><th scope="col">Name</th><th scope="col">Id</th><th scope="col">Anonymous access</th><th scope="col">Members' default</th></tr></thead><tbody>${workspaces.map(
          (ws) =>
            html`<tr><td>${isAdmin ? html`<a href="/ui/workspaces/${ws.id}">${ws.name}</a>` : ws.name}</td><td class="mono">${ws.id}</td><td><span class="badge${ws.anonymousAccess === 'none' ? ' none' : ''}">${ws.anonymousAccess}</span></td><td>${ws.memberDefaultAccess}</td></tr>`,
        )}</tbody></table>`;
  return orgFrame(viewer, org, 'Workspaces', undefined, 'workspaces', body);
}

/** A name with its id as a tooltip (and in `data-id`), or the bare id, muted, when the server knows no name. */
function named(id: string | null, names: AuditNames, none = '—'): SafeHtml | string {
  if (id === null) return none;
  const name = names[id];
  return name === undefined
    ? html`<span class="mono hint">${id}</span>`
    : html`<span title="${id}" data-id="${id}">${name}</span>`;
}

/** An event's details as `key: value` pairs, ids replaced by names, never a JSON blob. */
function detailsList(details: AuditEvent['details'], names: AuditNames): SafeHtml {
  const pairs = auditDetailPairs(details, names);
  if (pairs.length === 0) return html``;
  return html`<ul class="details">${pairs.map(([key, value]) => html`<li><span class="hint">${key}:</span> ${value}</li>`)}</ul>`;
}

export function auditPage(viewer: Viewer, org: Organisation, events: AuditEvent[], names: AuditNames): string {
  const body =
    events.length === 0
      ? html`<p class="empty">Nothing recorded yet.</p>`
      : html`<table class="stack"><caption>Latest ${events.length} events, newest first</caption><thead><tr><th scope="col">When</th><th scope="col">Action</th><th scope="col">By</th><th scope="col">Target</th><th scope="col">Workspace</th><th scope="col">Details</th></tr></thead><tbody>${events.map(
          (e) =>
            html`<tr><td data-label="When">${formatTime(e.at)}</td><td data-label="Action"><code>${e.action}</code></td><td data-label="By">${named(auditActorId(e), names, 'anonymous')}</td><td data-label="Target">${named(e.targetId, names)}</td><td data-label="Workspace">${named(e.workspaceId, names)}</td><td data-label="Details">${detailsList(e.details, names)}</td></tr>`,
        )}</tbody></table>`;
  return orgFrame(viewer, org, 'Audit log', undefined, 'audit', body);
}
