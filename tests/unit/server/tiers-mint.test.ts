/** Minted tokens: one isolated namespace per scope, short-lived, never wider than the minter, never minting themselves. */
import { api, http, startTestServer, type TestServer } from './test-server';
import { type IssuedToken, type TierWorkspace, createMember, createTierWorkspace, put, read } from './tiers-setup';

const HOUR = 3_600_000;

describe('write tiers: minted tokens', () => {
  let ts: TestServer;
  let w: TierWorkspace;
  beforeAll(async () => {
    ts = await startTestServer();
  });
  beforeEach(async () => {
    w = await createTierWorkspace(ts);
  });
  afterAll(() => ts.stop());

  const mint = (token: string | undefined, body: Record<string, unknown>) =>
    http(`${ts.url}/api/v1/tokens/mint`, { method: 'POST', token, body });
  const errorCode = (res: { json<T>(): T }) => res.json<{ error: { code: string } }>().error.code;

  it('mints an isolated CI token for one scope, valid 2h by default, shared by every mint of that scope', async () => {
    const first = await mint(w.trusted, { scope: 'pr-123' });
    expect(first.status).toBe(201);
    const minted = first.json<IssuedToken & { namespace: string; workspaceId: string; kind: string }>();
    expect(minted).toMatchObject({
      kind: 'ci',
      workspaceId: w.wsId,
      access: 'read-write',
      tier: 'isolated',
      scope: 'pr-123',
      namespace: 'scope pr-123',
    });
    expect(Date.parse(minted.expiresAt as string) - ts.clock.now.getTime()).toBe(2 * HOUR);

    const second = (await mint(w.trusted, { scope: 'pr-123' })).json<IssuedToken>();
    const otherPr = (await mint(w.trusted, { scope: 'pr-124' })).json<IssuedToken>();
    expect((await put(w, '11', 'pr-123 build', minted.token)).status).toBe(200);
    expect(await read(w, '11', second.token)).toBe('200 pr-123 build');
    expect(await read(w, '11', otherPr.token)).toBe('404');
    expect(await read(w, '11', w.trusted)).toBe('404');
    const access = (await http(`${ts.url}/v1/access`, { token: minted.token })).json<{
      tier: string;
      namespace: string;
    }>();
    expect(access).toMatchObject({ tier: 'isolated', namespace: 'scope pr-123' });
  });

  it('expires minted tokens (injected clock) and caps their lifetime at 7 days', async () => {
    const minted = (await mint(w.trusted, { scope: 'run-1', expiresIn: '30m' })).json<IssuedToken>();
    expect(await read(w, '1', minted.token)).toBe('404');
    ts.clock.advance(30 * 60_000);
    const expired = await http(`${w.base}/1`, { token: minted.token });
    expect(expired.status).toBe(401);
    expect(expired.text).toContain('ERR_AUTH_TOKEN_EXPIRED');
    const tooLong = await mint(w.trusted, { scope: 'run-1', expiresIn: '8d' });
    expect([tooLong.status, errorCode(tooLong)]).toEqual([400, 'ERR_INPUT_INVALID']);
    expect((await mint(w.trusted, { scope: 'run-1', expiresIn: '7d' })).status).toBe(201);
  });

  it('refuses to let a minted, isolated or read-only token mint', async () => {
    const minted = (await mint(w.trusted, { scope: 'pr-9' })).json<IssuedToken>();
    const trustedReadOnly = await api<IssuedToken>(ts, 'POST', '/tokens', {
      kind: 'ci',
      workspaceId: w.wsId,
      access: 'read',
      tier: 'trusted',
    });
    for (const token of [minted.token, w.isolated, w.readOnly, trustedReadOnly.token]) {
      const res = await mint(token, { scope: 'pr-9-wider' });
      expect([res.status, errorCode(res)]).toEqual([403, 'ERR_AUTH_FORBIDDEN']);
    }
    const anonymous = await mint(undefined, { scope: 'pr-9' });
    expect([anonymous.status, errorCode(anonymous)]).toEqual([401, 'ERR_AUTH_TOKEN_MISSING']);
  });

  it("never gives a minted token more access than the minter's", async () => {
    const readOnly = (await mint(w.trusted, { scope: 'pr-5', access: 'read' })).json<IssuedToken>();
    expect(readOnly.access).toBe('read');
    expect((await put(w, '5', 'x', readOnly.token)).status).toBe(403);

    const admin = await createMember(ts, w, { role: 'admin' });
    await api(ts, 'PATCH', `/orgs/${w.orgId}/members/${admin.userId}`, { workspace: w.wsId, access: 'read' });
    const wider = await mint(admin.token, { scope: 'pr-6', access: 'read-write' });
    expect([wider.status, errorCode(wider)]).toEqual([403, 'ERR_AUTH_FORBIDDEN']);
    const capped = (await mint(admin.token, { scope: 'pr-6' })).json<IssuedToken>();
    expect(capped.access).toBe('read');

    const member = await createMember(ts, w);
    const notAdmin = await mint(member.token, { scope: 'pr-7' });
    expect([notAdmin.status, errorCode(notAdmin)]).toEqual([403, 'ERR_AUTH_FORBIDDEN']);
  });

  it('lets a server admin mint for a named workspace and keeps CI tokens to their own workspace', async () => {
    const unnamed = await mint(ts.adminToken, { scope: 'pr-1' });
    expect([unnamed.status, errorCode(unnamed)]).toEqual([400, 'ERR_INPUT_INVALID']);
    expect((await mint(ts.adminToken, { scope: 'pr-1', workspaceId: w.wsId })).status).toBe(201);
    const other = await createTierWorkspace(ts);
    const mismatch = await mint(w.trusted, { scope: 'pr-1', workspaceId: other.wsId });
    expect([mismatch.status, errorCode(mismatch)]).toEqual([401, 'ERR_AUTH_WORKSPACE_MISMATCH']);
  });

  it('validates the scope and records the mint in the audit log', async () => {
    for (const scope of ['', 'a b', 'x'.repeat(101), 'pr;rm']) {
      expect((await mint(w.trusted, { scope })).status).toBe(400);
    }
    const minted = (await mint(w.trusted, { scope: 'feature/../login' })).json<IssuedToken>();
    expect((await put(w, '3', 'odd scope', minted.token)).status).toBe(200);
    expect(await read(w, '3', minted.token)).toBe('200 odd scope');
    const audit = await api<{ action: string; targetId: string; actorTokenId: string; details: { scope: string } }[]>(
      ts,
      'GET',
      `/audit?org=${w.orgId}`,
    );
    expect(audit.find((e) => e.targetId === minted.id)).toMatchObject({
      action: 'token.created',
      actorTokenId: w.trustedId,
      details: { scope: 'feature/../login' },
    });
  });
});
