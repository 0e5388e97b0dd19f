/** Token tables, the create form, and the page that shows a new token value exactly once. */
import type { TokenRecord, Workspace, WriteTier } from '../../metadata/records';
import { html, type SafeHtml } from '../html';
import { csrfField, formatTime, page, type Notice, type Viewer } from '../layout';
import { tierField } from './tier-field';
import { tierWithMeaning, type TierShown } from '../../../access-text';

export interface TokenRow {
  token: TokenRecord;
  workspace: Workspace | undefined;
  ownerName: string | null;
  /** The effective write tier (see effectiveTierOf); null for admin tokens. */
  tier: WriteTier | 'workspace policy' | null;
}

export interface TokenTableOptions {
  viewer: Viewer;
  nonce: string;
  /** Where rotate/revoke come back to. */
  back: string;
  caption: string;
  showOwner?: boolean;
  now: Date;
}

function tierCell(row: TokenRow): SafeHtml {
  if (row.tier === null) return html`<span class="hint">—</span>`;
  if (row.tier === 'workspace policy')
    return html`<span class="hint" title="Follows each workspace's policy for personal tokens">workspace policy</span>`;
  return html`<span class="badge${row.tier === 'trusted' ? ' rw' : ''}">${row.tier}</span>`;
}

/** Read-only <-> read-write; a minted token can only be lowered, an admin token has no level. */
function accessForm(token: TokenRecord, options: TokenTableOptions): SafeHtml {
  if (token.access === null || (token.scope !== null && token.access === 'read')) return html``;
  const other = token.access === 'read' ? 'read-write' : 'read';
  const label = token.name ?? token.id;
  return html`<form method="post" action="/ui/tokens/${token.id}/access" class="access-form" data-confirm="Change ${label} to ${other}? It applies to its next request.">${csrfField(options.viewer)}<input type="hidden" name="back" value="${options.back}"><input type="hidden" name="access" value="${other}"><button type="submit" class="small" aria-label="Make ${label} ${other}">Make ${other}</button></form>`;
}

function statusOf(token: TokenRecord, now: Date): SafeHtml {
  if (token.revokedAt !== null) return html`<span class="badge bad">revoked</span>`;
  if (token.expiresAt !== null && Date.parse(token.expiresAt) <= now.getTime())
    return html`<span class="badge bad">expired</span>`;
  return html`<span class="badge">active</span>`;
}

function isActive(token: TokenRecord, now: Date): boolean {
  return token.revokedAt === null && (token.expiresAt === null || Date.parse(token.expiresAt) > now.getTime());
}

function actions(token: TokenRecord, options: TokenTableOptions): SafeHtml {
  if (!isActive(token, options.now)) return html``;
  const label = token.name ?? token.id;
  return html`<div class="actions">
${accessForm(token, options)}
<form method="post" action="/ui/tokens/${token.id}/rotate" data-confirm="Rotate ${label}? The current value stops working at once.">${csrfField(options.viewer)}<input type="hidden" name="once" value="${options.nonce}"><input type="hidden" name="back" value="${options.back}"><button type="submit" class="small" aria-label="Rotate ${label}">Rotate</button></form>
<form method="post" action="/ui/tokens/${token.id}/revoke" data-confirm="Delete ${label}? It stops working at once.">${csrfField(options.viewer)}<input type="hidden" name="back" value="${options.back}"><button type="submit" class="small danger" aria-label="Delete ${label}">Delete</button></form>
</div>`;
}

export function tokenTable(rows: TokenRow[], options: TokenTableOptions): SafeHtml {
  if (rows.length === 0) return html`<p class="empty">No tokens yet.</p>`;
  return html`<table class="stack">
<caption>${options.caption}</caption>
<thead><tr><th scope="col">Name</th>${options.showOwner ? html`<th scope="col">Owner</th>` : ''}<th scope="col">Kind</th><th scope="col">Workspace</th><th scope="col">Access</th><th scope="col">Tier</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col">Expires</th><th scope="col">Status</th><th scope="col"><span class="hint">Actions</span></th></tr></thead>
<tbody>${rows.map((row) => {
    const { token, workspace, ownerName } = row;
    return html`<tr data-token-id="${token.id}">
<td data-label="Name">${token.name ?? html`<span class="hint">(unnamed)</span>`}<br><span class="hint mono">${token.id}</span></td>
${options.showOwner ? html`<td data-label="Owner">${ownerName ?? '—'}</td>` : ''}
<td data-label="Kind">${token.kind === 'personal' ? 'personal' : token.kind}</td>
<td data-label="Workspace">${workspace ? workspace.name : html`<span class="hint">any (by URL)</span>`}</td>
<td data-label="Access"><span class="badge${token.access === 'read-write' ? ' rw' : ''}">${token.access ?? '—'}</span></td>
<td data-label="Tier">${tierCell(row)}</td>
<td data-label="Created">${formatTime(token.createdAt)}</td>
<td data-label="Last used">${token.lastUsedAt === null ? html`<span class="hint">never</span>` : formatTime(token.lastUsedAt)}</td>
<td data-label="Expires">${token.expiresAt === null ? 'never' : formatTime(token.expiresAt)}</td>
<td data-label="Status">${statusOf(token, options.now)}</td>
<td>${actions(token, options)}</td>
</tr>`;
  })}</tbody></table>`;
}

export function myTokensPage(
  viewer: Viewer,
  rows: TokenRow[],
  workspaces: { workspace: Workspace; orgName: string }[],
  nonce: string,
  now: Date,
  notice?: Notice,
): string {
  const options = workspaces.map(
    ({ workspace, orgName }) => html`<option value="${workspace.id}">${orgName} / ${workspace.name}</option>`,
  );
  return page(
    { title: 'My tokens', viewer, active: 'tokens', notice },
    html`<h1>My tokens</h1>
<p class="lead">Personal access tokens act as you. They work only while you are a member of the workspace's organisation.</p>
<section class="card" aria-labelledby="new-token">
<h2 id="new-token">Create a token</h2>
<form method="post" action="/ui/tokens" class="inline-form">
  ${csrfField(viewer)}<input type="hidden" name="once" value="${nonce}">
  <div><label for="token-name">Name</label><input type="text" id="token-name" name="name" maxlength="100" placeholder="laptop" required></div>
  <div><label for="token-workspace">Workspace</label><select id="token-workspace" name="workspaceId"><option value="">Any (named by the URL)</option>${options}</select></div>
  <div><label for="token-access">Access</label><select id="token-access" name="access"><option value="read-write">read-write</option><option value="read">read</option></select></div>
  ${tierField('token-tier', { policy: true })}
  <div><label for="token-expiry">Expires</label><select id="token-expiry" name="expiresIn"><option value="30d">in 30 days</option><option value="90d">in 90 days</option><option value="1y" selected>in 1 year</option></select></div>
  <div><button type="submit" class="primary">Create token</button></div>
</form>
</section>
<h2>Your tokens</h2>
${tokenTable(rows, { viewer, nonce, back: '/ui/tokens', caption: 'Your personal access tokens', now })}`,
  );
}

export interface CreatedToken {
  record: TokenRecord;
  secret: string;
  serverUrl: string;
  workspace: Workspace | undefined;
  /** Where its writes land (effectiveTierOf); null for admin tokens. */
  tier: TierShown | null;
  rotated: boolean;
  back: string;
}

export function tokenCreatedPage(viewer: Viewer, created: CreatedToken): string {
  const { record, secret, serverUrl, workspace } = created;
  const cacheUrl = workspace ? `${serverUrl}/w/${workspace.id}` : serverUrl;
  const shell = `export NX_SEALED_CACHE_URL=${serverUrl}\nexport NX_SEALED_CACHE_ACCESS_TOKEN=${secret}`;
  const plainNx = `export NX_SELF_HOSTED_REMOTE_CACHE_SERVER=${cacheUrl}\nexport NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN=${secret}`;
  const ci = `# Store the value as a CI secret named NX_SEALED_CACHE_ACCESS_TOKEN, then:\nenv:\n  NX_SEALED_CACHE_URL: ${serverUrl}\n  NX_SEALED_CACHE_ACCESS_TOKEN: \${{ secrets.NX_SEALED_CACHE_ACCESS_TOKEN }}`;
  const copyBlock = (id: string, label: string, text: string) => html`<h2 id="${id}-label">${label}</h2>
<pre class="secret" id="${id}" aria-labelledby="${id}-label">${text}</pre>
<p class="actions"><button type="button" data-copy="${id}">Copy</button> <span id="${id}-status" role="status" class="hint"></span></p>`;
  return page(
    {
      title: created.rotated ? 'Token rotated' : 'Token created',
      viewer,
      active: 'tokens',
      notice: { kind: 'warn', text: 'Copy this token now. It is shown only this once and cannot be retrieved again.' },
    },
    html`<h1>${created.rotated ? 'Token rotated' : 'Token created'}: ${record.name ?? record.id}</h1>
<dl class="facts"><dt>Id</dt><dd class="mono">${record.id}</dd><dt>Kind</dt><dd>${record.kind}</dd><dt>Workspace</dt><dd>${workspace ? `${workspace.name} (${workspace.id})` : 'any, named by the URL'}</dd><dt>Access</dt><dd>${record.access ?? '—'}</dd><dt>Write tier</dt><dd>${created.tier === null ? '—' : tierWithMeaning(created.tier)}</dd><dt>Expires</dt><dd>${record.expiresAt === null ? 'never' : formatTime(record.expiresAt)}</dd></dl>
${created.rotated ? html`<p class="notice">The previous value of this token no longer works.</p>` : ''}
${copyBlock('token-value', 'Token', secret)}
${copyBlock('shell-lines', 'Shell (with the nx-sealed-cache plugin or runner)', shell)}
${copyBlock('plain-nx-lines', 'Shell (plain Nx 20.8+, no plugin)', plainNx)}
${record.kind === 'ci' ? copyBlock('ci-lines', 'CI (GitHub Actions style)', ci) : html`<p class="hint">A personal token acts as you: keep it on your own machine (or run <code>nx-sealed-cache login</code>, which stores one for you). CI uses a CI token from the workspace page.</p>`}
<p><a class="button primary" href="${created.back}">Done, I have copied it</a></p>`,
  );
}
