/**
 * The two ways an organisation's admin used to become somebody else, end to end over HTTP (admin API
 * and web page): a personal token minted for another org's user (up to the server admin), and a bot
 * pulled into one's own org to rotate its other-org machine token.
 */
import { setPasswordInStore } from '../../../src/server/offline-password';
import { api, http, startTestServer, type TestServer } from './test-server';
import { field, PASSWORD, userWithPassword, WebClient } from './web-test-client';

let ts: TestServer;
let wsA: string;
let wsB: string;
let mallory: string;
let alicePat: string;
let aliceUnbound: { id: string };
let botToken: { id: string; token: string };

const codeOf = (text: string): string | undefined => (JSON.parse(text) as { error?: { code: string } }).error?.code;
const asMallory = (method: string, path: string, body?: unknown) =>
  http(`${ts.url}/api/v1${path}`, { method, token: mallory, body });

beforeAll(async () => {
  ts = await startTestServer();
  for (const org of ['org-a', 'org-b']) await api(ts, 'POST', '/orgs', { name: org });
  wsA = (
    await api<{ id: string }>(ts, 'POST', '/workspaces', {
      org: 'org-a',
      name: 'mono',
      memberDefaultAccess: 'read-write',
    })
  ).id;
  wsB = (await api<{ id: string }>(ts, 'POST', '/workspaces', { org: 'org-b', name: 'mono' })).id;
  await userWithPassword(ts, 'alice');
  await userWithPassword(ts, 'mallory');
  await api(ts, 'POST', '/orgs/org-a/members', { user: 'alice', role: 'admin' });
  await api(ts, 'POST', '/orgs/org-b/members', { user: 'mallory', role: 'admin' });
  mallory = (
    await api<{ token: string }>(ts, 'POST', '/tokens', { kind: 'personal', user: 'mallory', name: 'mallory' })
  ).token;
  alicePat = (await api<{ token: string }>(ts, 'POST', '/tokens', { kind: 'personal', user: 'alice', name: 'alice' }))
    .token;
  aliceUnbound = await api<{ id: string }>(ts, 'GET', '/tokens?user=alice').then(
    (list) => (list as unknown as { id: string }[])[0],
  );
  // org-a's bot with a trusted machine token for org-a's shared tier.
  await api(ts, 'POST', '/users', { name: 'a-bot', bot: true, org: 'org-a' });
  botToken = await api<{ id: string; token: string }>(
    ts,
    'POST',
    '/tokens',
    { kind: 'personal', user: 'a-bot', workspaceId: wsA, tier: 'trusted', access: 'read-write' },
    alicePat,
  );
});
afterAll(async () => ts.stop());

describe("path 1: a personal token for another organisation's user", () => {
  it.each(['alice', 'admin'])(
    'an org admin cannot create a personal token for %s, even bound to his own workspace',
    async (victim) => {
      const result = await asMallory('POST', '/tokens', { kind: 'personal', user: victim, workspaceId: wsB });
      expect([result.status, codeOf(result.text)]).toEqual([403, 'ERR_AUTH_FORBIDDEN']);
      expect(await api<unknown[]>(ts, 'GET', `/tokens?user=${victim}`)).not.toContainEqual(
        expect.objectContaining({ workspaceId: wsB }),
      );
    },
  );

  it('such a token, had it been made before, acts only inside the workspace it is bound to', async () => {
    // Issued the way the old server let org-b's admin do it.
    const issued = await ts.server.context.tokens.issue(
      {
        kind: 'personal',
        name: 'planted',
        workspaceId: wsB,
        userId: (await api<{ id: string }>(ts, 'GET', '/users/alice')).id,
        access: 'read-write',
        expiresIn: '1y',
      },
      { tokenId: null, userId: null },
      null,
    );
    const planted = issued.secret;
    const call = (method: string, path: string, body?: unknown) =>
      http(`${ts.url}/api/v1${path}`, { method, token: planted, body });
    for (const [method, path, body] of [
      ['GET', '/orgs/org-a/members', undefined],
      ['POST', '/orgs/org-a/members', { user: 'mallory', role: 'admin' }],
      ['POST', '/tokens', { kind: 'ci', workspaceId: wsA, access: 'read-write', tier: 'trusted' }],
      ['POST', '/users/alice/password', { currentPassword: 'guess', password: 'a brand new password!' }],
      ['GET', `/tokens/${aliceUnbound.id}`, undefined],
      ['PATCH', `/workspaces/${wsA}`, { anonymousAccess: 'read-write' }],
    ] as const) {
      const result = await call(method, path, body);
      expect({ path, status: result.status, code: codeOf(result.text) }).toEqual({
        path,
        status: 403,
        code: 'ERR_AUTH_FORBIDDEN',
      });
    }
    expect((await http(`${ts.url}/w/${wsA}/v1/cache/abc`, { token: planted })).status).toBe(401);
  });

  it("a personal token alone never sets a password, not even its own user's", async () => {
    const own = await http(`${ts.url}/api/v1/users/alice/password`, {
      method: 'POST',
      token: alicePat,
      body: { password: 'a brand new password!' },
    });
    expect(codeOf(own.text)).toBe('ERR_INPUT_INVALID');
    const wrong = await http(`${ts.url}/api/v1/users/alice/password`, {
      method: 'POST',
      token: alicePat,
      body: { currentPassword: 'not it', password: 'a brand new password!' },
    });
    expect([wrong.status, codeOf(wrong.text)]).toEqual([401, 'ERR_WEB_SIGNIN_FAILED']);
    const other = await asMallory('POST', '/users/admin/password', {
      currentPassword: 'x',
      password: 'a brand new password!',
    });
    expect([other.status, codeOf(other.text)]).toEqual([403, 'ERR_AUTH_FORBIDDEN']);
    const byAdminToken = await http(`${ts.url}/api/v1/users/alice/password`, {
      method: 'POST',
      token: ts.adminToken,
      body: { currentPassword: 'x', password: 'a brand new password!' },
    });
    expect(codeOf(byAdminToken.text)).toBe('ERR_AUTH_FORBIDDEN');
    const right = await http(`${ts.url}/api/v1/users/alice/password`, {
      method: 'POST',
      token: alicePat,
      body: { currentPassword: PASSWORD, password: `${PASSWORD} 2` },
    });
    expect(right.status).toBe(200);
    await setPasswordInStore(ts.server.context.store, 'alice', PASSWORD, () => ts.clock.now);
  });

  it('guessing the current password with a stolen token meets the sign-in throttle', async () => {
    const guesses = [];
    for (let i = 0; i < 7; i++)
      guesses.push(
        await http(`${ts.url}/api/v1/users/mallory/password`, {
          method: 'POST',
          token: mallory,
          body: { currentPassword: `guess ${i}`, password: 'a brand new password!' },
        }),
      );
    expect(guesses.slice(0, 5).map((g) => codeOf(g.text))).toEqual(Array(5).fill('ERR_WEB_SIGNIN_FAILED'));
    expect([guesses[6].status, codeOf(guesses[6].text)]).toEqual([429, 'ERR_AUTH_RATE_LIMITED']);
    ts.clock.advance(3_600_000);
  });

  it('guessing the current password on the account page meets the same throttle', async () => {
    const web = new WebClient(ts.url);
    expect((await web.signIn('mallory')).status).toBe(303);
    const csrf = field((await web.get('/ui/account')).text, 'csrf');
    const statuses = [];
    for (let i = 0; i < 7; i++)
      statuses.push(
        (await web.post('/ui/account/password', { csrf, current: `guess ${i}`, password: 'a brand new password!' }))
          .status,
      );
    expect(statuses.slice(0, 5)).toEqual(Array(5).fill(401));
    expect(statuses[6]).toBe(429);
    // The right password is refused too while the lock lasts, and nothing was changed.
    expect(
      (await web.post('/ui/account/password', { csrf, current: PASSWORD, password: 'a brand new password!' })).status,
    ).toBe(429);
    ts.clock.advance(3_600_000);
    expect((await new WebClient(ts.url).signIn('mallory')).status).toBe(303);
  });

  it('so no web session with server-admin rights comes of it', async () => {
    const web = new WebClient(ts.url);
    expect((await web.signIn('admin', 'a brand new password!')).status).toBe(401);
    expect((await web.get('/ui/stats')).status).toBe(303);
  });

  it('records the refusals in the audit log', async () => {
    const events = await api<{ action: string; details: { action?: string } }[]>(ts, 'GET', '/audit?limit=1000');
    expect(events).toContainEqual(
      expect.objectContaining({
        action: 'access.denied',
        details: expect.objectContaining({ action: 'token.create', code: 'ERR_AUTH_FORBIDDEN' }),
      }),
    );
  });
});

describe('path 2: a bot pulled into another organisation', () => {
  it("an org admin cannot add another organisation's bot to his own", async () => {
    const result = await asMallory('POST', '/orgs/org-b/members', { user: 'a-bot' });
    expect([result.status, codeOf(result.text)]).toEqual([403, 'ERR_AUTH_FORBIDDEN']);
  });

  it("nor list, rotate or revoke that bot's machine token", async () => {
    expect((await asMallory('GET', '/tokens?user=a-bot')).json()).toEqual([]);
    for (const path of [`/tokens/${botToken.id}/rotate`, `/tokens/${botToken.id}/revoke`]) {
      const result = await asMallory('POST', path);
      expect([result.status, codeOf(result.text)]).toEqual([403, 'ERR_AUTH_FORBIDDEN']);
    }
    expect((await http(`${ts.url}/v1/access`, { token: botToken.token })).json()).toMatchObject({
      access: { write: true },
      tier: 'trusted',
    });
  });

  it('adding an existing person is an invitation: nothing changes until they accept', async () => {
    const invited = await asMallory('POST', '/orgs/org-b/members', { user: 'alice', role: 'member' });
    expect(invited.status).toBe(202);
    const invitation = invited.json<{ invitation: { id: string } }>().invitation;
    expect(await api<{ userName: string }[]>(ts, 'GET', '/orgs/org-b/members')).not.toContainEqual(
      expect.objectContaining({ userName: 'alice' }),
    );
    const stolen = await asMallory('POST', `/invitations/${invitation.id}/accept`);
    expect([stolen.status, codeOf(stolen.text)]).toEqual([403, 'ERR_AUTH_FORBIDDEN']);
    expect(await api<{ id: string }[]>(ts, 'GET', '/invitations', undefined, alicePat)).toEqual([
      expect.objectContaining({ id: invitation.id, orgName: 'org-b' }),
    ]);
    expect(
      (await http(`${ts.url}/api/v1/invitations/${invitation.id}/accept`, { method: 'POST', token: alicePat })).json(),
    ).toMatchObject({ accepted: true, role: 'member' });
    expect(await api<{ userName: string }[]>(ts, 'GET', '/orgs/org-b/members')).toContainEqual(
      expect.objectContaining({ userName: 'alice' }),
    );
    // A member now, yet her unbound token reaches org-a too, so org-b's admin still cannot rotate it.
    expect((await asMallory('POST', `/tokens/${aliceUnbound.id}/rotate`)).status).toBe(403);
  });

  it('the web page holds the same walls', async () => {
    const web = new WebClient(ts.url);
    await web.signIn('mallory');
    const members = await web.get('/ui/orgs/org-b/members');
    const csrf = field(members.text, 'csrf');
    const add = await web.post('/ui/orgs/org-b/members/add', { csrf, user: 'a-bot', role: 'member' });
    expect(add.status).toBe(403);
    expect(add.text).toContain('ERR_AUTH_FORBIDDEN');
    const rotate = await web.post(`/ui/tokens/${botToken.id}/rotate`, { csrf, once: field(members.text, 'once') });
    expect(rotate.status).toBe(403);
    const forged = await web.post('/ui/orgs/org-b/bots/a-bot/tokens', {
      csrf,
      once: field(members.text, 'once'),
      workspaceId: wsB,
      access: 'read-write',
    });
    expect(forged.status).toBe(403);
    const tokens = await web.get('/ui/orgs/org-b/tokens');
    expect(tokens.status).toBe(200);
    expect(tokens.text).not.toContain(botToken.id);
    expect(tokens.text).not.toContain(aliceUnbound.id);
    expect((await web.get('/ui/orgs/org-a/members')).status).toBe(403);
  });

  it('a person accepts an invitation on the web page', async () => {
    const invited = await api<{ invitation: { id: string } }>(
      ts,
      'POST',
      '/orgs/org-a/members',
      { user: 'mallory' },
      alicePat,
    );
    const web = new WebClient(ts.url);
    await web.signIn('mallory');
    const orgs = await web.get('/ui/orgs');
    expect(orgs.text).toContain('Invitations for you');
    const accepted = await web.post(`/ui/invitations/${invited.invitation.id}/accept`, {
      csrf: field(orgs.text, 'csrf'),
    });
    expect(accepted.location).toBe('/ui/orgs?done=invitation-accepted');
    expect(await api<{ userName: string; role: string }[]>(ts, 'GET', '/orgs/org-a/members')).toContainEqual(
      expect.objectContaining({ userName: 'mallory', role: 'member' }),
    );
    // A member of org-a, but not its admin: still no reach over org-a's bot.
    expect((await asMallory('POST', `/tokens/${botToken.id}/rotate`)).status).toBe(403);
  });
});
