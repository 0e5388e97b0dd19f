/** Sign-in, invite acceptance and account (password) pages. */
import { html, type SafeHtml } from '../html';
import { csrfField, page, type Notice, type Viewer } from '../layout';

export interface SignInProvider {
  id: string;
  displayName: string;
}

function providerButtons(providers: readonly SignInProvider[], next: string): SafeHtml | string {
  if (providers.length === 0) return '';
  return html`<section class="card" aria-labelledby="sso">
<h2 id="sso">With your identity provider</h2>
${providers.map(
  (p) =>
    html`<p><a class="button primary" href="/ui/sign-in/sso/${p.id}?next=${encodeURIComponent(next)}">Sign in with ${p.displayName}</a></p>`,
)}
</section>
<h2>With a password</h2>
<p class="hint">For break-glass use: server administrators, and accounts not linked to a provider.</p>`;
}

export function signInPage(options: {
  csrf: string;
  next: string;
  name?: string;
  notice?: Notice;
  providers?: readonly SignInProvider[];
}): string {
  return page(
    { title: 'Sign in', narrow: true, notice: options.notice },
    html`<h1>Sign in</h1>
<p class="lead">Manage your cache tokens and approve CLI logins.</p>
${providerButtons(options.providers ?? [], options.next)}
<form method="post" action="/ui/sign-in" class="card">
  ${csrfField(options)}
  <input type="hidden" name="next" value="${options.next}">
  <label for="name">User name</label>
  <input type="text" id="name" name="name" autocomplete="username" required value="${options.name ?? ''}" autofocus>
  <label for="password">Password</label>
  <input type="password" id="password" name="password" autocomplete="current-password" required>
  <p><button type="submit" class="primary">Sign in</button></p>
</form>
<p class="hint">No password yet? Ask an administrator for an invite link, or to run <code>nx-sealed-cache user set-password &lt;you&gt;</code>.</p>`,
  );
}

export function invitePage(options: {
  csrf: string;
  code: string;
  orgName: string;
  role: string;
  name?: string;
  notice?: Notice;
}): string {
  return page(
    { title: 'Accept invite', narrow: true, notice: options.notice },
    html`<h1>Join ${options.orgName}</h1>
<p class="lead">You were invited as <strong>${options.role}</strong>. Pick a user name and a password to create your account.</p>
<form method="post" action="/ui/invite/${options.code}" class="card">
  ${csrfField(options)}
  <label for="name">User name <span class="hint">letters, digits, ".", "_" or "-"</span></label>
  <input type="text" id="name" name="name" autocomplete="username" required value="${options.name ?? ''}">
  <label for="password">Password <span class="hint">at least 12 characters</span></label>
  <input type="password" id="password" name="password" autocomplete="new-password" required minlength="12">
  <p><button type="submit" class="primary">Create account</button></p>
</form>`,
  );
}

export function firstSignInPage(options: { csrf: string; code: string; userName: string; notice?: Notice }): string {
  return page(
    { title: 'Set your password', narrow: true, notice: options.notice },
    html`<h1>Welcome, ${options.userName}</h1>
<p class="lead">This one-time link signs you in as the server's administrator. Choose a password for the admin page; the link stops working once it is set.</p>
<form method="post" action="/ui/first-sign-in/${options.code}" class="card">
  ${csrfField(options)}
  <input type="text" name="name" autocomplete="username" value="${options.userName}" hidden>
  <label for="password">Password <span class="hint">at least 12 characters</span></label>
  <input type="password" id="password" name="password" autocomplete="new-password" required minlength="12" autofocus>
  <p><button type="submit" class="primary">Set password and sign in</button></p>
</form>`,
  );
}

export function accountPage(viewer: Viewer, notice?: Notice): string {
  return page(
    { title: 'Account', viewer, active: 'account', notice },
    html`<h1>Account</h1>
<p class="lead">Signed in as <strong>${viewer.name}</strong>.</p>
<section class="card" aria-labelledby="pw">
<h2 id="pw">Change password</h2>
<p class="hint">Changing your password signs you out everywhere, this browser included.</p>
<form method="post" action="/ui/account/password">
  ${csrfField(viewer)}
  <label for="current">Current password</label>
  <input type="password" id="current" name="current" autocomplete="current-password" required>
  <label for="password">New password <span class="hint">at least 12 characters</span></label>
  <input type="password" id="password" name="password" autocomplete="new-password" required minlength="12">
  <p><button type="submit" class="primary">Change password</button></p>
</form>
</section>`,
  );
}

export function messagePage(
  frame: { title: string; viewer?: Viewer },
  heading: string,
  body: SafeHtml | string,
  notice?: Notice,
): string {
  return page(
    { ...frame, notice, narrow: frame.viewer === undefined },
    html`<h1>${heading}</h1><p>${body}</p><p><a href="/">Back to the start page</a></p>`,
  );
}

/** After a provider's callback: the browser continues from this same-site page, so the Strict session cookie goes along. */
export function continuePage(userName: string, providerName: string, next: string, joined: boolean): string {
  return page(
    { title: 'Signed in', narrow: true },
    html`<meta http-equiv="refresh" content="0;url=${next}">
<h1>Signed in</h1>
<p>Signed in as <strong>${userName}</strong> through ${providerName}.${joined ? " Your account was created by your organisation's email domain policy." : ''}</p>
<p><a class="button primary" href="${next}">Continue</a></p>`,
  );
}
