/** CVE-2025-36852 ("CREEP"): an untrusted writer that stores a hash first cannot poison trusted readers. */
import { api, http, startTestServer, type TestServer } from './test-server';
import { type IssuedToken, type TierWorkspace, createMember, createTierWorkspace, put, read } from './tiers-setup';

describe('write tiers: the poisoning race', () => {
  let ts: TestServer;
  let w: TierWorkspace;
  beforeAll(async () => {
    ts = await startTestServer();
  });
  beforeEach(async () => {
    w = await createTierWorkspace(ts, { anonymous: 'read' });
  });
  afterAll(() => ts.stop());

  it('an isolated writer that stores H first never decides what trusted, read-only or anonymous readers get', async () => {
    expect((await put(w, '4242', 'poisoned', w.isolated)).status).toBe(200);
    expect(await read(w, '4242', w.isolated)).toBe('200 poisoned');

    expect(await read(w, '4242', w.trusted)).toBe('404');
    expect(await read(w, '4242', w.readOnly)).toBe('404');
    expect(await read(w, '4242')).toBe('404');

    expect((await put(w, '4242', 'trusted bytes', w.trusted)).status).toBe(200);
    expect(await read(w, '4242', w.trusted)).toBe('200 trusted bytes');
    expect(await read(w, '4242', w.readOnly)).toBe('200 trusted bytes');
    expect(await read(w, '4242')).toBe('200 trusted bytes');
    // The isolated writer looks in its own namespace first: it keeps what it built.
    expect(await read(w, '4242', w.isolated)).toBe('200 poisoned');
  });

  it('keeps write-once per namespace, and refuses an isolated write of a hash the shared tier already has', async () => {
    expect((await put(w, '1', 'a', w.isolated)).status).toBe(200);
    expect((await put(w, '1', 'b', w.isolated)).status).toBe(409);
    expect((await put(w, '2', 'shared', w.trusted)).status).toBe(200);
    expect((await put(w, '2', 'mine', w.isolated)).status).toBe(409);
    expect((await put(w, '2', 'again', w.trusted)).status).toBe(409);
    expect(await read(w, '2', w.isolated)).toBe('200 shared');
  });

  it('never serves one isolated token what another isolated token stored', async () => {
    const other = await api<IssuedToken>(ts, 'POST', '/tokens', {
      kind: 'ci',
      workspaceId: w.wsId,
      access: 'read-write',
    });
    expect(other.tier).toBe('isolated');
    expect((await put(w, '77', 'from one pr', w.isolated)).status).toBe(200);
    expect(await read(w, '77', other.token)).toBe('404');
    expect((await put(w, '77', 'from another pr', other.token)).status).toBe(200);
    expect(await read(w, '77', w.isolated)).toBe('200 from one pr');
    expect(await read(w, '77', other.token)).toBe('200 from another pr');
  });

  it('isolates personal tokens per user by default, and follows the workspace policy when it says trusted', async () => {
    const alice = await createMember(ts, w);
    const bob = await createMember(ts, w);
    expect((await put(w, '5', 'alice', alice.token)).status).toBe(200);
    expect(await read(w, '5', bob.token)).toBe('404');
    expect(await read(w, '5', w.trusted)).toBe('404');

    const patched = await api<{ personalTokenTier: string }>(ts, 'PATCH', `/workspaces/${w.wsId}`, {
      personalTokenTier: 'trusted',
    });
    expect(patched.personalTokenTier).toBe('trusted');
    expect((await put(w, '6', 'bob', bob.token)).status).toBe(200);
    expect(await read(w, '6', w.readOnly)).toBe('200 bob');
  });

  it('lets only admins give a personal token the trusted tier', async () => {
    const member = await createMember(ts, w);
    const asMember = await http(`${ts.url}/api/v1/tokens`, {
      method: 'POST',
      token: member.token,
      body: { kind: 'personal', workspaceId: w.wsId, tier: 'trusted' },
    });
    expect(asMember.status).toBe(403);
    expect(asMember.json<{ error: { code: string } }>().error.code).toBe('ERR_AUTH_FORBIDDEN');
    const isolatedOwn = await http(`${ts.url}/api/v1/tokens`, {
      method: 'POST',
      token: member.token,
      body: { kind: 'personal', workspaceId: w.wsId, tier: 'isolated' },
    });
    expect(isolatedOwn.status).toBe(201);

    const admin = await createMember(ts, w, { role: 'admin' });
    const trustedByAdmin = await http(`${ts.url}/api/v1/tokens`, {
      method: 'POST',
      token: admin.token,
      body: { kind: 'personal', workspaceId: w.wsId, tier: 'trusted' },
    });
    expect(trustedByAdmin.status).toBe(201);
    const token = trustedByAdmin.json<IssuedToken>().token;
    expect((await put(w, '8', 'admin build', token)).status).toBe(200);
    expect(await read(w, '8')).toBe('200 admin build');
  });

  it('reports the tier and namespace on the access endpoint', async () => {
    const access = async (token?: string) =>
      (await http(`${ts.url}/w/${w.wsId}/v1/access`, { token })).json<{
        tier: string | null;
        namespace: string | null;
      }>();
    expect(await access(w.trusted)).toMatchObject({ tier: 'trusted', namespace: 'shared' });
    expect(await access(w.isolated)).toMatchObject({ tier: 'isolated', namespace: `token ${w.isolatedId}` });
    expect(await access(w.readOnly)).toMatchObject({ tier: null, namespace: null });
    expect(await access()).toMatchObject({ tier: null, namespace: null });
    const member = await createMember(ts, w);
    expect(await access(member.token)).toMatchObject({ tier: 'isolated', namespace: `user ${member.userId}` });
  });

  it('gives new CI tokens and workspaces the isolated tier unless told otherwise', async () => {
    const token = await api<IssuedToken>(ts, 'POST', '/tokens', {
      kind: 'ci',
      workspaceId: w.wsId,
      access: 'read-write',
    });
    const ws = await api<{ personalTokenTier: string; isolatedRetention: string }>(ts, 'GET', `/workspaces/${w.wsId}`);
    expect([token.tier, ws.personalTokenTier, ws.isolatedRetention]).toEqual(['isolated', 'isolated', '7d']);
  });

  it('lets anonymous read-write callers write only to an anonymous namespace that token holders never read', async () => {
    const open = await createTierWorkspace(ts, { anonymous: 'read-write' });
    expect((await put(open, '9', 'anon')).status).toBe(200);
    expect(await read(open, '9')).toBe('200 anon');
    expect(await read(open, '9', open.trusted)).toBe('404');
    expect(await read(open, '9', open.readOnly)).toBe('404');
  });
});
