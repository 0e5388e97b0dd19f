/**
 * Admins changing access after the fact, over real HTTP: a token's access (API, CLI-facing PATCH and the
 * page), a member's per-workspace override on the workspace page, denying a CLI login request, and the
 * effective tier shown in token tables.
 */
import { api, http, startTestServer, type TestServer } from './test-server';
import { field, userWithPassword, WebClient } from './web-test-client';

let ts: TestServer;
let orgId: string;
let wsId: string;
let bobId: string;
let hashes = 0;

const put = (token: string) => http(`${ts.url}/v1/cache/h${++hashes}`, { method: 'PUT', token, raw: 'artifact' });
const adminClient = async (): Promise<WebClient> => {
  const client = new WebClient(ts.url);
  await client.signIn('ada');
  return client;
};
const bobToken = (name: string, access: 'read' | 'read-write' = 'read-write') =>
  api<{ id: string; token: string }>(ts, 'POST', '/tokens', {
    kind: 'personal',
    user: 'bob',
    workspaceId: wsId,
    name,
    access,
  });

beforeAll(async () => {
  ts = await startTestServer();
  orgId = (await api<{ id: string }>(ts, 'POST', '/orgs', { name: 'acme' })).id;
  wsId = (
    await api<{ id: string }>(ts, 'POST', '/workspaces', {
      org: 'acme',
      name: 'mono',
      memberDefaultAccess: 'read-write',
    })
  ).id;
  await userWithPassword(ts, 'ada');
  await userWithPassword(ts, 'bob');
  await api(ts, 'POST', `/orgs/${orgId}/members`, { user: 'ada', role: 'admin' });
  await api(ts, 'POST', `/orgs/${orgId}/members`, { user: 'bob', role: 'member' });
  bobId = (await api<{ id: string }>(ts, 'GET', '/users/bob')).id;
});
afterAll(async () => ts.stop());

describe("changing a token's access", () => {
  it('PATCH /tokens/:id lowers and raises access; the cache routes follow on the next request; audited', async () => {
    const token = await bobToken('laptop');
    expect((await put(token.token)).status).toBe(200);
    const ada = await api<{ token: string }>(ts, 'POST', '/tokens', {
      kind: 'personal',
      user: 'ada',
      name: 'ada-admin',
    });
    const lowered = await http(`${ts.url}/api/v1/tokens/${token.id}`, {
      method: 'PATCH',
      token: ada.token,
      body: { access: 'read' },
    });
    expect(lowered.status).toBe(200);
    expect(lowered.json()).toMatchObject({ id: token.id, access: 'read' });
    expect(lowered.text).not.toContain(token.token);
    const refused = await put(token.token);
    expect(refused.status).toBe(403);
    // Still reads: a read-only token sees the trusted tier, where its earlier (isolated) write is not: a miss, not a 401.
    expect((await http(`${ts.url}/v1/cache/h1`, { token: token.token })).status).toBe(404);
    await api(ts, 'PATCH', `/tokens/${token.id}`, { access: 'read-write' }, ada.token);
    expect((await put(token.token)).status).toBe(200);
    const audit = await api<{ action: string; targetId: string; details: Record<string, unknown> }[]>(
      ts,
      'GET',
      `/audit?org=${orgId}`,
    );
    expect(
      audit.filter((e) => e.action === 'token.access-changed' && e.targetId === token.id).map((e) => e.details),
    ).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ before: 'read-write', after: 'read' }),
        expect.objectContaining({ before: 'read', after: 'read-write' }),
      ]),
    );
  });

  it("follows the policy's token.manage rule: a member may not change somebody else's token; admin tokens and bad values are refused", async () => {
    const adaOwn = await api<{ id: string }>(ts, 'POST', '/tokens', {
      kind: 'personal',
      user: 'ada',
      workspaceId: wsId,
      name: 'ada-laptop',
    });
    const bob = await bobToken('bob-cli');
    const forbidden = await http(`${ts.url}/api/v1/tokens/${adaOwn.id}`, {
      method: 'PATCH',
      token: bob.token,
      body: { access: 'read' },
    });
    expect(forbidden.status).toBe(403);
    expect((await api<{ access: string }>(ts, 'GET', `/tokens/${adaOwn.id}`)).access).toBe('read-write');
    const invalid = await http(`${ts.url}/api/v1/tokens/${bob.id}`, {
      method: 'PATCH',
      token: ts.adminToken,
      body: { access: 'none' },
    });
    expect(invalid.status).toBe(400);
    const extra = await http(`${ts.url}/api/v1/tokens/${bob.id}`, {
      method: 'PATCH',
      token: ts.adminToken,
      body: { access: 'read', tier: 'trusted' },
    });
    expect(extra.status).toBe(400);
    const adminToken = await api<{ id: string }>(ts, 'POST', '/tokens', { kind: 'admin', name: 'ops' });
    const noLevel = await http(`${ts.url}/api/v1/tokens/${adminToken.id}`, {
      method: 'PATCH',
      token: ts.adminToken,
      body: { access: 'read' },
    });
    expect(noLevel.status).toBe(400);
    await api(ts, 'POST', `/tokens/${bob.id}/revoke`);
    const revoked = await http(`${ts.url}/api/v1/tokens/${bob.id}`, {
      method: 'PATCH',
      token: ts.adminToken,
      body: { access: 'read' },
    });
    expect(revoked.status).toBe(409);
  });

  it('never raises a minted token above what it was minted with', async () => {
    const ci = await api<{ token: string }>(ts, 'POST', '/tokens', {
      kind: 'ci',
      workspaceId: wsId,
      access: 'read-write',
      tier: 'trusted',
    });
    const minted = await http(`${ts.url}/api/v1/tokens/mint`, {
      method: 'POST',
      token: ci.token,
      body: { scope: 'pr-1', access: 'read' },
    });
    expect(minted.status).toBe(201);
    const id = minted.json<{ id: string }>().id;
    const raised = await http(`${ts.url}/api/v1/tokens/${id}`, {
      method: 'PATCH',
      token: ts.adminToken,
      body: { access: 'read-write' },
    });
    expect(raised.status).toBe(400);
    expect(raised.text).toContain('minted');
  });

  it("an org admin changes a member's token on the org tokens page (CSRF required), effective at once", async () => {
    const token = await bobToken('desktop');
    expect((await put(token.token)).status).toBe(200);
    const admin = await adminClient();
    const page = await admin.get('/ui/orgs/acme/tokens');
    expect(page.text).toContain(`action="/ui/tokens/${token.id}/access"`);
    const back = '/ui/orgs/acme/tokens';
    expect((await admin.post(`/ui/tokens/${token.id}/access`, { access: 'read', back })).status).toBe(403);
    expect(
      (
        await admin.post(
          `/ui/tokens/${token.id}/access`,
          { access: 'read', back, csrf: field(page.text, 'csrf') },
          { origin: 'http://evil.example' },
        )
      ).status,
    ).toBe(403);
    expect((await put(token.token)).status).toBe(200);
    const changed = await admin.post(`/ui/tokens/${token.id}/access`, {
      access: 'read',
      back,
      csrf: field(page.text, 'csrf'),
    });
    expect(changed.status).toBe(303);
    expect(changed.location).toBe('/ui/orgs/acme/tokens?done=token-access-changed');
    expect((await put(token.token)).status).toBe(403);
    const after = await admin.get(changed.location as string);
    expect(after.text).toContain('Token access changed');
    expect(after.text).toContain(`aria-label="Make desktop read-write"`);
  });

  it("a plain member cannot change an admin's token from the page", async () => {
    const adaOwn = await api<{ id: string }>(ts, 'POST', '/tokens', {
      kind: 'personal',
      user: 'ada',
      workspaceId: wsId,
      name: 'ada-desk',
    });
    const bob = new WebClient(ts.url);
    await bob.signIn('bob');
    const page = await bob.get('/ui/tokens');
    expect(
      (await bob.post(`/ui/tokens/${adaOwn.id}/access`, { access: 'read', csrf: field(page.text, 'csrf') })).status,
    ).toBe(403);
    expect((await api<{ access: string }>(ts, 'GET', `/tokens/${adaOwn.id}`)).access).toBe('read-write');
  });
});

describe("members' access to one workspace", () => {
  it("shows each member's effective access and lets an admin set read, none and default (CSRF required)", async () => {
    const token = await bobToken('per-workspace');
    const admin = await adminClient();
    const page = await admin.get(`/ui/workspaces/${wsId}`);
    expect(page.status).toBe(200);
    const bobRow = () => /<tr data-member-access="bob">[\s\S]*?<\/tr>/;
    expect(bobRow().exec(page.text)?.[0]).toMatch(/read-write<\/span> <span class="hint">members’ default/);
    const url = `/ui/workspaces/${wsId}/members/${bobId}/access`;
    expect((await admin.post(url, { access: 'read' })).status).toBe(403);
    expect((await put(token.token)).status).toBe(200);

    const saved = await admin.post(url, { access: 'read', csrf: field(page.text, 'csrf') });
    expect(saved.location).toBe(`/ui/workspaces/${wsId}?done=member-access-saved`);
    expect((await put(token.token)).status).toBe(403);
    expect(bobRow().exec((await admin.get(`/ui/workspaces/${wsId}`)).text)?.[0]).toMatch(
      /read<\/span> <span class="hint">set for this member/,
    );
    expect(
      (await api<{ workspaceAccess: Record<string, string> }[]>(ts, 'GET', `/orgs/${orgId}/members`)).find(
        (m) => m.workspaceAccess[wsId] !== undefined,
      ),
    ).toMatchObject({ userName: 'bob', workspaceAccess: { [wsId]: 'read' } });

    await admin.post(url, { access: 'none', csrf: field(page.text, 'csrf') });
    const none = await http(`${ts.url}/v1/cache/h1`, { token: token.token });
    expect(none.status).toBe(401);
    expect(none.text).toMatch(/^ERR_AUTH_READ_DENIED/);

    await admin.post(url, { access: 'default', csrf: field(page.text, 'csrf') });
    expect((await put(token.token)).status).toBe(200);
    expect(
      (await api<{ workspaceAccess: Record<string, string> }[]>(ts, 'GET', `/orgs/${orgId}/members`)).every(
        (m) => m.workspaceAccess[wsId] === undefined,
      ),
    ).toBe(true);

    const audit = await admin.get('/ui/orgs/acme/audit');
    expect(audit.text).toContain('<li><span class="hint">access:</span> none</li>');
    expect((await admin.post(url, { access: 'admin', csrf: field(page.text, 'csrf') })).status).toBe(400);
  });

  it("is for the organisation's admins only", async () => {
    const bob = new WebClient(ts.url);
    await bob.signIn('bob');
    const page = await bob.get('/ui/tokens');
    expect(
      (
        await bob.post(`/ui/workspaces/${wsId}/members/${bobId}/access`, {
          access: 'read-write',
          csrf: field(page.text, 'csrf'),
        })
      ).status,
    ).toBe(403);
  });

  it('refuses a user who is not a member of the organisation', async () => {
    await userWithPassword(ts, 'eve');
    const eveId = (await api<{ id: string }>(ts, 'GET', '/users/eve')).id;
    const admin = await adminClient();
    const page = await admin.get(`/ui/workspaces/${wsId}`);
    expect(
      (
        await admin.post(`/ui/workspaces/${wsId}/members/${eveId}/access`, {
          access: 'read',
          csrf: field(page.text, 'csrf'),
        })
      ).status,
    ).toBe(404);
  });
});

describe('denying a CLI login request', () => {
  const start = async () =>
    (
      await http(`${ts.url}/api/v1/login/requests`, {
        method: 'POST',
        body: { hostname: 'stranger-box', workspaceId: wsId },
      })
    ).json<{ requestId: string; userCode: string; deviceCode: string }>();
  /** The confirmation page, reached by typing the code into the entry form. */
  const confirmPage = async (client: WebClient, code: string) =>
    client.post('/ui/device', { csrf: field((await client.get('/ui/device')).text, 'csrf'), code });
  const poll = (s: { requestId: string; deviceCode: string }) =>
    http(`${ts.url}/api/v1/login/requests/${s.requestId}/poll`, { method: 'POST', body: { deviceCode: s.deviceCode } });

  it('fails the polling CLI at once with a clear message, issues no token, and cannot be approved afterwards', async () => {
    const started = await start();
    const client = await adminClient();
    const page = await confirmPage(client, started.userCode);
    expect(page.text).toContain('action="/ui/device/deny"');
    expect((await client.post('/ui/device/deny', { code: started.userCode })).status).toBe(403);
    expect((await poll(started)).json()).toMatchObject({ status: 'pending' });
    const denied = await client.post('/ui/device/deny', { csrf: field(page.text, 'csrf'), code: started.userCode });
    expect(denied.status).toBe(200);
    expect(denied.text).toContain('CLI login denied');
    const answer = await poll(started);
    expect(answer.status).toBe(403);
    expect(answer.json()).toMatchObject({ error: { code: 'ERR_LOGIN_REQUEST_DENIED' } });
    expect(answer.text).toContain('denied in the browser');
    const approve = await client.post('/ui/device/approve', { csrf: field(page.text, 'csrf'), code: started.userCode });
    expect(approve.status).toBe(403);
    expect((await poll(started)).status).toBe(403);
    expect((await confirmPage(client, started.userCode)).text).toContain('was denied');
    const tokens = await api<{ name: string | null }[]>(ts, 'GET', '/tokens?user=ada');
    expect(tokens.some((t) => t.name === 'login from stranger-box')).toBe(false);
    const audit = await api<{ action: string; targetId: string }[]>(ts, 'GET', '/audit');
    expect(audit.some((e) => e.action === 'login.denied' && e.targetId === started.requestId)).toBe(true);
  });

  it('cannot deny a request that was already approved', async () => {
    const started = await start();
    const client = await adminClient();
    const page = await confirmPage(client, started.userCode);
    await client.post('/ui/device/approve', { csrf: field(page.text, 'csrf'), code: started.userCode });
    expect(
      (await client.post('/ui/device/deny', { csrf: field(page.text, 'csrf'), code: started.userCode })).status,
    ).toBe(410);
    expect((await poll(started)).json()).toMatchObject({ status: 'approved' });
  });
});

describe('the tier column', () => {
  it("shows the effective tier: the token's own, else the workspace policy, else the kind's default", async () => {
    await api(ts, 'POST', '/tokens', { kind: 'personal', user: 'bob', workspaceId: wsId, name: 'tier-bound' });
    await api(ts, 'POST', '/tokens', { kind: 'personal', user: 'bob', name: 'tier-unbound' });
    await api(ts, 'POST', '/tokens', { kind: 'ci', workspaceId: wsId, name: 'tier-ci-trusted', tier: 'trusted' });
    await api(ts, 'POST', '/tokens', { kind: 'ci', workspaceId: wsId, name: 'tier-ci-default' });
    const admin = await adminClient();
    const rowOf = (text: string, name: string) =>
      new RegExp(`<tr data-token-id="tok_[A-Za-z0-9]+">\\s*<td data-label="Name">${name}<br>[\\s\\S]*?</tr>`).exec(
        text,
      )?.[0] ?? '';
    const tierOf = (row: string) =>
      /<td data-label="Tier"><span class="(?:badge|hint)[^"]*"[^>]*>([^<]+)<\/span><\/td>/.exec(row)?.[1];
    let text = (await admin.get('/ui/orgs/acme/tokens')).text;
    expect(text).not.toContain('<span class="hint">default</span>');
    expect(tierOf(rowOf(text, 'tier-bound'))).toBe('isolated');
    const bob = new WebClient(ts.url);
    await bob.signIn('bob');
    expect(tierOf(rowOf((await bob.get('/ui/tokens')).text, 'tier-unbound'))).toBe('workspace policy');
    expect(tierOf(rowOf(text, 'tier-ci-trusted'))).toBe('trusted');
    expect(tierOf(rowOf(text, 'tier-ci-default'))).toBe('isolated');
    await api(ts, 'PATCH', `/workspaces/${wsId}`, { personalTokenTier: 'trusted' });
    text = (await admin.get('/ui/orgs/acme/tokens')).text;
    expect(tierOf(rowOf(text, 'tier-bound'))).toBe('trusted');
    await api(ts, 'PATCH', `/workspaces/${wsId}`, { personalTokenTier: 'isolated' });
  });
});
