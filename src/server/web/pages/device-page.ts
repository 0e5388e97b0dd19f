/** Approving a CLI login request: enter the code, check the machine and workspace, approve. */
import type { Workspace } from '../../metadata/records';
import type { LoginRequestRecord } from '../web-auth-store';
import { html } from '../html';
import { csrfField, formatTime, page, type Notice, type Viewer } from '../layout';

export function deviceEntryPage(viewer: Viewer, code: string, notice?: Notice): string {
  return page(
    { title: 'Approve CLI login', viewer, active: 'device', notice },
    html`<h1>Approve a CLI login</h1>
<p class="lead">Run <code>nx-sealed-cache login --url …</code> in your terminal, then enter the code it shows.</p>
<form method="get" action="/ui/device" class="card inline-form">
<div><label for="code">Code from your terminal</label><input type="text" id="code" name="code" value="${code}" autocomplete="off" autocapitalize="characters" placeholder="ABCD-EFGH" required></div>
<div><button type="submit" class="primary">Continue</button></div></form>`,
  );
}

export function deviceConfirmPage(viewer: Viewer, request: LoginRequestRecord, workspace: Workspace | undefined): string {
  return page(
    { title: 'Approve CLI login', viewer, active: 'device' },
    html`<h1>Approve this CLI login?</h1>
<p class="lead">Approve only if you started this login yourself and the code matches your terminal.</p>
<div class="card">
<p class="user-code" aria-label="Code ${request.userCode}">${request.userCode}</p>
<dl class="facts"><dt>Machine</dt><dd class="mono">${request.hostname}</dd><dt>Workspace</dt><dd>${workspace ? `${workspace.name} (${workspace.id})` : 'any, named by the URL'}</dd><dt>Requested</dt><dd>${formatTime(request.createdAt)}</dd><dt>Expires</dt><dd>${formatTime(request.expiresAt)}</dd></dl>
<p>The terminal receives a new personal access token (read-write, 1 year) that acts as <strong>${viewer.name}</strong>.</p>
<form method="post" action="/ui/device/approve" class="actions">${csrfField(viewer)}<input type="hidden" name="code" value="${request.userCode}">
<button type="submit" class="primary">Approve</button> <a class="button" href="/ui/tokens">Cancel</a></form>
<form method="post" action="/ui/device/deny" class="actions">${csrfField(viewer)}<input type="hidden" name="code" value="${request.userCode}">
<button type="submit" class="danger">Deny</button> <span class="hint">Did not start this login? Deny it: the terminal is told at once and gets no token.</span></form>
</div>`,
  );
}

export function deviceApprovedPage(viewer: Viewer, request: LoginRequestRecord): string {
  return page(
    { title: 'CLI login approved', viewer, active: 'device', notice: { kind: 'ok', text: 'Approved. Return to your terminal.' } },
    html`<h1>CLI login approved</h1><p>The terminal on <strong>${request.hostname}</strong> receives its token on its next check, within a few seconds. The token then appears under <a href="/ui/tokens">My tokens</a>.</p>`,
  );
}

export function deviceDeniedPage(viewer: Viewer, request: LoginRequestRecord): string {
  return page(
    { title: 'CLI login denied', viewer, active: 'device', notice: { kind: 'ok', text: 'Denied. No token was issued.' } },
    html`<h1>CLI login denied</h1><p>The login request from <strong>${request.hostname}</strong> is refused: its terminal is told on its next check and receives no token. If you did not start it, someone knows your server's address and tried to get you to approve a login; consider telling your administrator.</p>`,
  );
}
