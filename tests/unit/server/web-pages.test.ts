/** The web page over real HTTP: sign-in, sessions, CSRF, CSP, tokens shown once, admin actions. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONTENT_SECURITY_POLICY } from '../../../src/server/routes/web/web-routes';
import { api, http, startTestServer, type TestServer } from './test-server';
import { setPasswordInStore } from '../../../src/server/offline-password';
import { field, PASSWORD, userWithPassword, WebClient } from './web-test-client';

let ts: TestServer;
let orgId: string;
let wsId: string;

beforeAll(async () => {
  ts = await startTestServer();
  orgId = (await api<{ id: string }>(ts, 'POST', '/orgs', { name: 'acme' })).id;
  wsId = (await api<{ id: string }>(ts, 'POST', '/workspaces', { org: 'acme', name: 'mono', anonymousAccess: 'read' }))
    .id;
  await userWithPassword(ts, 'ada');
  await userWithPassword(ts, 'bob');
  await api(ts, 'POST', `/orgs/${orgId}/members`, { user: 'ada', role: 'admin' });
  await api(ts, 'POST', `/orgs/${orgId}/members`, { user: 'bob', role: 'member' });
});
afterAll(async () => ts.stop());

describe('signing in', () => {
  it('redirects signed-out visitors to the sign-in page, keeping where they were going', async () => {
    const client = new WebClient(ts.url);
    const page = await client.get('/ui/tokens');
    expect(page.status).toBe(303);
    expect(page.location).toBe('/ui/sign-in?next=%2Fui%2Ftokens');
    expect((await client.get('/')).location).toBe('/ui/sign-in');
  });

  it('sets an HttpOnly, SameSite=Strict session cookie (not Secure on plain http) and shows the tokens page', async () => {
    const client = new WebClient(ts.url);
    const result = await client.signIn('ada');
    expect(result.status).toBe(303);
    const cookie = ([] as string[])
      .concat(result.headers['set-cookie'] ?? [])
      .find((c) => c.startsWith('nxsc_session='));
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    expect(cookie).not.toMatch(/Secure/);
    const page = await client.get('/ui/tokens');
    expect(page.status).toBe(200);
    expect(page.text).toContain('Signed in as <strong>ada</strong>');
  });

  it('marks the cookie Secure behind a TLS proxy', async () => {
    const client = new WebClient(ts.url);
    const form = await client.get('/ui/sign-in');
    const result = await client.post(
      '/ui/sign-in',
      { csrf: field(form.text, 'csrf'), name: 'ada', password: PASSWORD, next: '/ui/tokens' },
      { 'x-forwarded-proto': 'https' },
    );
    expect(String(result.headers['set-cookie'])).toMatch(/nxsc_session=[^;]+;.*Secure/);
  });

  it('answers a wrong password and an unknown user alike, then locks out with a retry-later message', async () => {
    const client = new WebClient(ts.url);
    const wrong = await client.signIn('bob', 'not the password at all');
    const unknown = await client.signIn('nobody-here', 'not the password at all');
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.text).toContain('The user name or password is wrong.');
    expect(unknown.text).toContain('The user name or password is wrong.');
    for (let i = 0; i < 4; i++) await client.signIn('bob', 'still not the password');
    const locked = await client.signIn('bob');
    expect(locked.status).toBe(429);
    expect(locked.text).toMatch(/too many failed sign-ins; try again in \d+ minute/i);
    ts.clock.advance(61 * 60_000);
    expect((await client.signIn('bob')).status).toBe(303);
  });

  it('never stores a password or session id in clear', async () => {
    const client = new WebClient(ts.url);
    await client.signIn('ada');
    const db = readFileSync(join(ts.dataDir, 'metadata.sqlite'));
    expect(db.includes(Buffer.from(PASSWORD))).toBe(false);
    expect(db.includes(Buffer.from(client.cookies.get('nxsc_session') as string))).toBe(false);
  });
});

describe('headers on every page', () => {
  it.each([
    '/ui/sign-in',
    '/ui/tokens',
    '/ui/orgs',
    '/ui/orgs/acme/members',
    `/ui/workspaces/WS`,
    '/ui/orgs/acme/audit',
    '/ui/stats',
    '/ui/account',
    '/ui/device',
    '/ui/no-such-page',
  ])('%s has the strict CSP and no-store', async (path) => {
    const client = new WebClient(ts.url);
    await client.signIn('ada');
    const page = await client.get(path.replace('WS', wsId));
    expect(page.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
    expect(page.headers['cache-control']).toBe('no-store');
    expect(page.headers['x-frame-options']).toBe('DENY');
    expect(page.text).not.toMatch(/<script>|<style|style="| on[a-z]+="/);
  });
});

describe('CSRF and sessions', () => {
  it('refuses a POST without a CSRF token, with a wrong one, or from another origin', async () => {
    const client = new WebClient(ts.url);
    await client.signIn('ada');
    const page = await client.get('/ui/tokens');
    const csrf = field(page.text, 'csrf');
    const once = field(page.text, 'once');
    expect((await client.post('/ui/tokens', { name: 'x', once })).status).toBe(403);
    expect((await client.post('/ui/tokens', { name: 'x', once, csrf: `${csrf.slice(0, -2)}AA` })).status).toBe(403);
    expect((await client.post('/ui/tokens', { name: 'x', once, csrf }, { origin: 'http://evil.example' })).status).toBe(
      403,
    );
    expect(
      (await client.post('/ui/tokens', { name: 'x', once, csrf }, { 'sec-fetch-site': 'cross-site' })).status,
    ).toBe(403);
    const tokens = await api<unknown[]>(ts, 'GET', '/tokens?user=ada');
    expect(tokens).toHaveLength(0);
  });

  it('ends a session after two idle hours and after twelve hours in all', async () => {
    const client = new WebClient(ts.url);
    await client.signIn('ada');
    ts.clock.advance(2 * 3_600_000);
    expect((await client.get('/ui/tokens')).status).toBe(303);
    await client.signIn('ada');
    for (let i = 0; i < 12; i++) {
      ts.clock.advance(3_600_000 - 1);
      expect((await client.get('/ui/account')).status).toBe(200);
    }
    ts.clock.advance(60_000);
    expect((await client.get('/ui/tokens')).status).toBe(303);
  });

  it('signs the user out everywhere when the password changes', async () => {
    const first = new WebClient(ts.url);
    const second = new WebClient(ts.url);
    await first.signIn('bob');
    await second.signIn('bob');
    const account = await first.get('/ui/account');
    const changed = await first.post('/ui/account/password', {
      csrf: field(account.text, 'csrf'),
      current: PASSWORD,
      password: `${PASSWORD}!`,
    });
    expect(changed.location).toBe('/ui/sign-in?signedOut=password');
    expect((await second.get('/ui/tokens')).status).toBe(303);
    expect((await first.get('/ui/tokens')).status).toBe(303);
    // An admin token alone cannot set a password (it once could, which let tokens become their users); the server's own CLI can.
    const refused = await http(`${ts.url}/api/v1/users/bob/password`, {
      method: 'POST',
      token: ts.adminToken,
      body: { currentPassword: 'unknown to the admin', password: PASSWORD },
    });
    expect(refused.json()).toMatchObject({ error: { code: 'ERR_AUTH_FORBIDDEN' } });
    await setPasswordInStore(ts.server.context.store, 'bob', PASSWORD, () => ts.clock.now);
  });

  it('signs out', async () => {
    const client = new WebClient(ts.url);
    await client.signIn('ada');
    const page = await client.get('/ui/tokens');
    expect((await client.post('/ui/sign-out', { csrf: field(page.text, 'csrf') })).location).toBe('/ui/sign-in');
    expect((await client.get('/ui/tokens')).status).toBe(303);
  });
});

describe('tokens', () => {
  it('shows a new token once; re-posting the form neither shows it nor creates another', async () => {
    const client = new WebClient(ts.url);
    await client.signIn('bob');
    const page = await client.get('/ui/tokens');
    const fields = {
      csrf: field(page.text, 'csrf'),
      once: field(page.text, 'once'),
      name: 'laptop',
      workspaceId: wsId,
      access: 'read-write',
      expiresIn: '30d',
    };
    const created = await client.post('/ui/tokens', fields);
    expect(created.status).toBe(200);
    const secret = /id="token-value"[^>]*>(nxsc_pat_[A-Za-z0-9]+)</.exec(created.text)?.[1] as string;
    expect(secret).toBeDefined();
    expect(created.text).toContain(`export NX_SEALED_CACHE_ACCESS_TOKEN=${secret}`);
    const access = await http(`${ts.url}/v1/access`, { token: secret });
    expect(access.json<{ principal: { user: { name: string } } }>().principal.user.name).toBe('bob');
    const again = await client.post('/ui/tokens', fields);
    expect(again.status).toBe(403);
    expect(again.text).not.toContain(secret);
    expect((await client.get('/ui/tokens')).text).not.toContain(secret);
    expect(await api<unknown[]>(ts, 'GET', '/tokens?user=bob')).toHaveLength(1);
  });

  it('escapes a hostile token name everywhere it is shown', async () => {
    const client = new WebClient(ts.url);
    await client.signIn('bob');
    const page = await client.get('/ui/tokens');
    const created = await client.post('/ui/tokens', {
      csrf: field(page.text, 'csrf'),
      once: field(page.text, 'once'),
      name: '<img src=x onerror=alert(1)>',
    });
    expect(created.text).not.toContain('<img src=x');
    expect(created.text).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect((await client.get('/ui/tokens')).text).not.toContain('<img src=x');
  });

  it("refuses rotating or deleting somebody else's token", async () => {
    const adaToken = await api<{ id: string }>(ts, 'POST', '/tokens', {
      kind: 'personal',
      user: 'ada',
      name: 'ada-only',
    });
    const client = new WebClient(ts.url);
    await client.signIn('bob');
    const page = await client.get('/ui/tokens');
    const result = await client.post(`/ui/tokens/${adaToken.id}/revoke`, { csrf: field(page.text, 'csrf') });
    expect(result.status).toBe(403);
  });
});

describe('organisation admins', () => {
  it('lower anonymous access, and anonymous reads stop at once', async () => {
    expect((await http(`${ts.url}/w/${wsId}/v1/cache/abc`)).status).toBe(404);
    const client = new WebClient(ts.url);
    await client.signIn('ada');
    const page = await client.get(`/ui/workspaces/${wsId}`);
    const saved = await client.post(`/ui/workspaces/${wsId}/access`, {
      csrf: field(page.text, 'csrf'),
      anonymousAccess: 'none',
      memberDefaultAccess: 'read-write',
    });
    expect(saved.status).toBe(303);
    expect((await http(`${ts.url}/w/${wsId}/v1/cache/abc`)).status).toBe(401);
    const audit = await client.get('/ui/orgs/acme/audit');
    expect(audit.text).toContain('workspace.access-changed');
  });

  it('are the only ones who see the members page', async () => {
    const client = new WebClient(ts.url);
    await client.signIn('bob');
    expect((await client.get('/ui/orgs/acme/members')).status).toBe(403);
  });

  it('invite with a one-time link that creates a signed-in member', async () => {
    const admin = new WebClient(ts.url);
    await admin.signIn('ada');
    const members = await admin.get('/ui/orgs/acme/members');
    const invite = await admin.post('/ui/orgs/acme/invites', {
      csrf: field(members.text, 'csrf'),
      once: field(members.text, 'once'),
      role: 'member',
    });
    const link = /id="invite-link">([^<]+)</.exec(invite.text)?.[1] as string;
    const path = new URL(link).pathname;
    const newcomer = new WebClient(ts.url);
    const form = await newcomer.get(path);
    expect(form.text).toContain('Join acme');
    const joined = await newcomer.post(path, { csrf: field(form.text, 'csrf'), name: 'cy', password: PASSWORD });
    expect(joined.location).toBe('/ui/tokens');
    expect((await newcomer.get('/ui/tokens')).text).toContain('Signed in as <strong>cy</strong>');
    expect((await new WebClient(ts.url).get(path)).status).toBe(404);
  });

  it("remove a member, and that member's token stops working", async () => {
    await userWithPassword(ts, 'dee');
    await api(ts, 'POST', `/orgs/${orgId}/members`, { user: 'dee' });
    const token = await api<{ token: string }>(ts, 'POST', '/tokens', {
      kind: 'personal',
      user: 'dee',
      workspaceId: wsId,
    });
    expect((await http(`${ts.url}/v1/cache/abc`, { token: token.token })).status).toBe(404);
    const admin = new WebClient(ts.url);
    await admin.signIn('ada');
    const members = await admin.get('/ui/orgs/acme/members');
    const deeId = (await api<{ id: string }>(ts, 'GET', '/users/dee')).id;
    const removed = await admin.post(`/ui/orgs/acme/members/${deeId}/remove`, { csrf: field(members.text, 'csrf') });
    expect(removed.location).toBe('/ui/orgs/acme/members?done=member-removed');
    const refused = await http(`${ts.url}/v1/cache/abc`, { token: token.token });
    expect(refused.status).toBe(401);
    expect(refused.text).toMatch(/^ERR_AUTH_NOT_MEMBER/);
  });
});
