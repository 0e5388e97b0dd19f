import { api, http, startTestServer, type TestServer } from './test-server';

describe('token lifecycle on the cache routes', () => {
  let ts: TestServer;
  let orgId: string;
  let wsId: string;
  beforeAll(async () => {
    ts = await startTestServer();
    orgId = (await api<{ id: string }>(ts, 'POST', '/orgs', { name: 'acme' })).id;
    wsId = (
      await api<{ id: string }>(ts, 'POST', '/workspaces', {
        org: orgId,
        name: 'web',
        memberDefaultAccess: 'read-write',
      })
    ).id;
  });
  afterAll(() => ts.stop());

  const get = (token: string) => http(`${ts.url}/w/${wsId}/v1/cache/42`, { token });

  it('a token stops working once its expiry passes (clock injected, no sleeping)', async () => {
    const created = await api<{ token: string; expiresAt: string }>(ts, 'POST', '/tokens', {
      kind: 'ci',
      workspaceId: wsId,
      expiresIn: '2h',
    });
    expect(Date.parse(created.expiresAt) - ts.clock.now.getTime()).toBe(2 * 3600_000);
    expect((await get(created.token)).status).toBe(404);
    ts.clock.advance(2 * 3600_000 - 1);
    expect((await get(created.token)).status).toBe(404);
    ts.clock.advance(1);
    const expired = await get(created.token);
    expect(expired.status).toBe(401);
    expect(expired.text).toContain('ERR_AUTH_TOKEN_EXPIRED');
  });

  it('personal tokens expire after one year by default', async () => {
    await api(ts, 'POST', '/users', { name: 'yearly' });
    const created = await api<{ expiresAt: string }>(ts, 'POST', '/tokens', { kind: 'personal', user: 'yearly' });
    expect(Date.parse(created.expiresAt) - ts.clock.now.getTime()).toBe(365 * 86_400_000);
  });

  it('rotation gives a new value for the same id; the old value stops at once', async () => {
    const created = await api<{ id: string; token: string }>(ts, 'POST', '/tokens', {
      kind: 'ci',
      workspaceId: wsId,
      access: 'read-write',
      name: 'ci-main',
    });
    const rotated = await api<{ id: string; token: string; access: string; name: string }>(
      ts,
      'POST',
      `/tokens/${created.id}/rotate`,
    );
    expect(rotated).toMatchObject({ id: created.id, access: 'read-write', name: 'ci-main' });
    expect(rotated.token).not.toBe(created.token);
    expect((await get(created.token)).status).toBe(401);
    expect((await get(rotated.token)).status).toBe(404);
  });

  it('revocation is immediate and recorded in the audit log', async () => {
    const created = await api<{ id: string; token: string }>(ts, 'POST', '/tokens', { kind: 'ci', workspaceId: wsId });
    expect((await get(created.token)).status).toBe(404);
    await api(ts, 'POST', `/tokens/${created.id}/revoke`);
    const revoked = await get(created.token);
    expect(revoked.status).toBe(401);
    expect(revoked.text).toContain('ERR_AUTH_TOKEN_REVOKED');
    const audit = await api<{ action: string; targetId: string }[]>(ts, 'GET', `/audit?org=${orgId}`);
    expect(
      audit
        .filter((e) => e.targetId === created.id)
        .map((e) => e.action)
        .sort(),
    ).toEqual(['token.created', 'token.revoked']);
    const again = await http(`${ts.url}/api/v1/tokens/${created.id}/revoke`, { method: 'POST', token: ts.adminToken });
    expect(again.json()).toMatchObject({ error: { code: 'ERR_TOKEN_INACTIVE' } });
  });

  it('removing a member cuts their personal token at once', async () => {
    await api(ts, 'POST', '/users', { name: 'leaver' });
    await api(ts, 'POST', `/orgs/${orgId}/members`, { user: 'leaver' });
    const { token } = await api<{ token: string }>(ts, 'POST', '/tokens', { kind: 'personal', user: 'leaver' });
    expect((await get(token)).status).toBe(404);
    await api(ts, 'DELETE', `/orgs/${orgId}/members/leaver`);
    const cut = await get(token);
    expect(cut.status).toBe(401);
    expect(cut.text).toContain('ERR_AUTH_NOT_MEMBER');
  });

  it('records last use, at most once a minute', async () => {
    const created = await api<{ id: string; token: string }>(ts, 'POST', '/tokens', { kind: 'ci', workspaceId: wsId });
    await get(created.token);
    const first = (await api<{ lastUsedAt: string }>(ts, 'GET', `/tokens/${created.id}`)).lastUsedAt;
    expect(first).toBe(ts.clock.now.toISOString());
    ts.clock.advance(30_000);
    await get(created.token);
    expect((await api<{ lastUsedAt: string }>(ts, 'GET', `/tokens/${created.id}`)).lastUsedAt).toBe(first);
    ts.clock.advance(31_000);
    await get(created.token);
    expect((await api<{ lastUsedAt: string }>(ts, 'GET', `/tokens/${created.id}`)).lastUsedAt).toBe(
      ts.clock.now.toISOString(),
    );
  });

  it('a malformed or unknown token is 401 text/plain without echoing the token', async () => {
    const malformed = await http(`${ts.url}/w/${wsId}/v1/cache/42`, { token: 'nxsc_ci_notreallyatoken' });
    expect(malformed.status).toBe(401);
    expect(malformed.headers['content-type']).toBe('text/plain');
    expect(malformed.text).toMatch(/^ERR_AUTH_TOKEN_MALFORMED: /);
    expect(malformed.text).not.toContain('notreallyatoken');
  });
});
