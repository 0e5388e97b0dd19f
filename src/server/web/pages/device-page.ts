/** Approving a CLI login: type the code from the terminal, check where the request came from, approve. */
import type { LoginRequestRecord } from '../web-auth-store';
import type { ApprovableRequest } from '../../services/login-request-service';
import { html } from '../html';
import { csrfField, formatTime, page, type Notice, type Viewer } from '../layout';

/** The entry form never comes filled in: a code in a link would let someone else's request be approved in one click. */
export function deviceEntryPage(viewer: Viewer, notice?: Notice): string {
  return page(
    { title: 'Approve CLI login', viewer, active: 'device', notice },
    html`<h1>Approve a CLI login</h1>
<p class="lead">Run <code>nx-sealed-cache login --url …</code> in your terminal, then type the code it shows. Never enter a code somebody else sent you.</p>
<form method="post" action="/ui/device" class="card inline-form">${csrfField(viewer)}
<div><label for="code">Code from your terminal</label><input type="text" id="code" name="code" value="" autocomplete="off" autocapitalize="characters" placeholder="ABCD-EFGH" required></div>
<div><button type="submit" class="primary">Continue</button></div></form>`,
  );
}

/** Said when a link carried a code: it is ignored, and the person is told why. */
export const CODE_IN_LINK_NOTICE: Notice = {
  kind: 'warn',
  text: 'Codes in links are not accepted. Type the code your own terminal shows; if somebody sent you this link, do not approve anything.',
};

export function deviceConfirmPage(viewer: Viewer, approvable: ApprovableRequest, tokenLifetime: string): string {
  const { record: request, workspace, orgName, access } = approvable;
  return page(
    { title: 'Approve CLI login', viewer, active: 'device' },
    html`<h1>Approve this CLI login?</h1>
<p class="lead">Approve only if you started this login yourself just now, and the address and program below are your own.</p>
<div class="card">
<p class="user-code" aria-label="Code ${request.userCode}">${request.userCode}</p>
<dl class="facts"><dt>Machine (as it names itself)</dt><dd class="mono">${request.hostname}</dd><dt>From address</dt><dd class="mono">${request.clientAddress ?? 'not recorded'}</dd><dt>Program</dt><dd class="mono">${request.userAgent ?? 'not recorded'}</dd><dt>Workspace</dt><dd>${workspace.name} in ${orgName} (<span class="mono">${workspace.id}</span>)</dd><dt>Requested</dt><dd>${formatTime(request.createdAt)}</dd><dt>Expires</dt><dd>${formatTime(request.expiresAt)}</dd></dl>
<p>The terminal receives a new personal access token for workspace <strong>${workspace.name}</strong> only (${access}${access === 'read-write' ? `, ${workspace.personalTokenTier} tier` : ''}, your own access there; valid ${tokenLifetime}) that acts as <strong>${viewer.name}</strong>.</p>
<form method="post" action="/ui/device/approve" class="actions">${csrfField(viewer)}<input type="hidden" name="code" value="${request.userCode}">
<button type="submit" class="primary">Approve</button> <a class="button" href="/ui/tokens">Cancel</a></form>
<form method="post" action="/ui/device/deny" class="actions">${csrfField(viewer)}<input type="hidden" name="code" value="${request.userCode}">
<button type="submit" class="danger">Deny</button> <span class="hint">Did not start this login? Deny it: the terminal is told at once and gets no token.</span></form>
</div>`,
  );
}

export function deviceApprovedPage(viewer: Viewer, request: LoginRequestRecord): string {
  return page(
    {
      title: 'CLI login approved',
      viewer,
      active: 'device',
      notice: { kind: 'ok', text: 'Approved. Return to your terminal.' },
    },
    html`<h1>CLI login approved</h1><p>The terminal on <strong>${request.hostname}</strong> receives its token on its next check, within a few seconds. The token then appears under <a href="/ui/tokens">My tokens</a>.</p>`,
  );
}

export function deviceDeniedPage(viewer: Viewer, request: LoginRequestRecord): string {
  return page(
    {
      title: 'CLI login denied',
      viewer,
      active: 'device',
      notice: { kind: 'ok', text: 'Denied. No token was issued.' },
    },
    html`<h1>CLI login denied</h1><p>The login request from <strong>${request.hostname}</strong> is refused: its terminal is told on its next check and receives no token. If you did not start it, someone knows your server's address and tried to get you to approve a login; consider telling your administrator.</p>`,
  );
}
