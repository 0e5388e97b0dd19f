import { api, http, startTestServer, type TestServer } from './test-server';

describe('admin API authorisation, validation and the access endpoint', () => {
  let ts: TestServer;
  let wsId: string;
  let orgAdminToken: string;
  let memberToken: string;
  beforeAll(async () => {
    ts = await startTestServer();
    await api(ts, 'POST', '/orgs', { name: 'acme' });
    await api(ts, 'POST', '/orgs', { name: 'other' });
    wsId = (await api<{ id: string }>(ts, 'POST', '/workspaces', { org: 'acme', name: 'web' })).id;
    for (const [name, role] of [
      ['boss', 'admin'],
      ['dev', 'member'],
    ]) {
      await api(ts, 'POST', '/users', { name });
      await api(ts, 'POST', '/orgs/acme/members', { user: name, role });
    }
    orgAdminToken = (await api<{ token: string }>(ts, 'POST', '/tokens', { kind: 'personal', user: 'boss' })).token;
    memberToken = (await api<{ token: string }>(ts, 'POST', '/tokens', { kind: 'personal', user: 'dev' })).token;
  });
  afterAll(() => ts.stop());

  const call = (method: string, path: string, token: string | undefined, body?: unknown) =>
    http(`${ts.url}/api/v1${path}`, { method, token, body });

  it.each([
    [
      'org admin creates a workspace in their org',
      () => call('POST', '/workspaces', orgAdminToken, { org: 'acme', name: 'api' }),
      201,
    ],
    [
      'org admin cannot create in another org',
      () => call('POST', '/workspaces', orgAdminToken, { org: 'other', name: 'api' }),
      403,
    ],
    [
      'member cannot create workspaces',
      () => call('POST', '/workspaces', memberToken, { org: 'acme', name: 'x' }),
      403,
    ],
    [
      'org admin issues a CI token for their workspace',
      () => call('POST', '/tokens', orgAdminToken, { kind: 'ci', workspaceId: wsId }),
      201,
    ],
    [
      'member cannot issue CI tokens',
      () => call('POST', '/tokens', memberToken, { kind: 'ci', workspaceId: wsId }),
      403,
    ],
    [
      'member issues their own personal token',
      () => call('POST', '/tokens', memberToken, { kind: 'personal', expiresIn: '30d' }),
      201,
    ],
    [
      'member cannot issue a token for someone else',
      () => call('POST', '/tokens', memberToken, { kind: 'personal', user: 'boss' }),
      403,
    ],
    ['org admin cannot create admin tokens', () => call('POST', '/tokens', orgAdminToken, { kind: 'admin' }), 403],
    ['only server admins create orgs', () => call('POST', '/orgs', orgAdminToken, { name: 'mine' }), 403],
    ['org admin reads their org audit', () => call('GET', '/audit?org=acme', orgAdminToken), 200],
    ['member cannot read the audit log', () => call('GET', '/audit?org=acme', memberToken), 403],
    ['no token at all', () => call('GET', '/orgs', undefined), 401],
    ['unknown body field', () => call('POST', '/orgs', ts.adminToken, { name: 'z', colour: 'red' }), 400],
    ['bad workspace id', () => call('GET', '/workspaces/nope', ts.adminToken), 400],
    ['unknown route', () => call('GET', '/nothing', ts.adminToken), 404],
  ])('%s -> %i', async (_label, request, status) => {
    const res = await request();
    expect(res.status).toBe(status);
    if (status >= 400)
      expect(res.json()).toEqual({ error: { code: expect.stringMatching(/^ERR_/), message: expect.any(String) } });
  });

  it('refuses CI tokens on the admin API', async () => {
    const ci = await api<{ token: string }>(ts, 'POST', '/tokens', { kind: 'ci', workspaceId: wsId });
    const res = await call('GET', '/orgs', ci.token);
    expect(res.json()).toMatchObject({ error: { code: 'ERR_AUTH_TOKEN_KIND_REFUSED' } });
  });

  it('lists only the caller’s own tokens for a member, never values', async () => {
    const res = await call('GET', '/tokens', memberToken);
    const tokens = res.json<{ userId: string; token?: string }[]>();
    expect(tokens.length).toBeGreaterThan(0);
    expect(new Set(tokens.map((t) => t.userId)).size).toBe(1);
    expect(res.text).not.toContain('nxsc_');
  });

  it('describes the caller on /v1/access without any secret', async () => {
    const res = await http(`${ts.url}/w/${wsId}/v1/access`, { token: memberToken });
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({
      workspace: { id: wsId, name: 'web', organisation: { name: 'acme' } },
      principal: { kind: 'personal', user: { name: 'dev', bot: false } },
      access: { read: true, write: false },
      expiresAt: expect.any(String),
    });
    expect(res.text).not.toContain('nxsc_');
  });

  it("tells a caller who may not read no names on /v1/access, with the cache route's own code", async () => {
    const cacheAnswer = await http(`${ts.url}/w/${wsId}/v1/cache/somehash`);
    const anonymous = await http(`${ts.url}/w/${wsId}/v1/access`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.json()).toMatchObject({ error: { code: 'ERR_AUTH_ANONYMOUS_DENIED' } });
    expect(cacheAnswer.status).toBe(401);
    expect(cacheAnswer.text).toContain('ERR_AUTH_ANONYMOUS_DENIED');
    // The way out for each kind of client, since Nx, the plugin and the CLI all show this text.
    expect(anonymous.json()).toMatchObject({
      error: { message: expect.stringContaining('`nx-sealed-cache login` or NX_SEALED_CACHE_ACCESS_TOKEN') },
    });
    expect(cacheAnswer.text).toContain("NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN with Nx's own client");
    // A person of another organisation is refused alike: tenants do not learn each other's names.
    await api(ts, 'POST', '/users', { name: 'outsider' });
    await api(ts, 'POST', '/orgs/other/members', { user: 'outsider', role: 'member' });
    const outsider = (await api<{ token: string }>(ts, 'POST', '/tokens', { kind: 'personal', user: 'outsider' }))
      .token;
    const foreign = await http(`${ts.url}/w/${wsId}/v1/access`, { token: outsider });
    expect(foreign.status).toBe(401);
    expect(foreign.json()).toMatchObject({ error: { code: 'ERR_AUTH_NOT_MEMBER' } });
    for (const answer of [anonymous, foreign]) {
      expect(answer.text).not.toContain('acme');
      expect(answer.text).not.toContain('"web"');
    }
  });

  it('still describes the workspace to anonymous callers when anonymous reading is allowed', async () => {
    const open = (
      await api<{ id: string }>(ts, 'POST', '/workspaces', { org: 'acme', name: 'open', anonymousAccess: 'read' })
    ).id;
    const anonymous = await http(`${ts.url}/w/${open}/v1/access`);
    expect(anonymous.status).toBe(200);
    expect(anonymous.json()).toMatchObject({
      workspace: { name: 'open' },
      principal: { kind: 'anonymous', tokenId: null },
      access: { read: true, write: false },
    });
  });
});
