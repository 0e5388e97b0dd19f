/**
 * Two server processes on different ports sharing one PostgreSQL (PGlite behind pglite-socket, or
 * the server NX_SEALED_CACHE_TEST_DATABASE_URL names) and one data dir for blobs, as replicas behind
 * a load balancer: Nx 24 writes through one and restores through the other.
 */
import { request } from 'undici';
import { type TestPostgres, startTestPostgres } from '../support/postgres';
import {
  type RunningServer,
  type TestBed,
  assertSucceeded,
  cacheEntryStatuses,
  createToken,
  revokeToken,
  selfHostedCacheEnv,
  startServer,
  startTestBed,
} from './harness';

describe('two servers sharing one PostgreSQL and one data dir', () => {
  let pg: TestPostgres | undefined;
  let bed: TestBed | undefined;
  let second: RunningServer | undefined;

  const first = (): TestBed => bed as TestBed;
  const other = (): RunningServer => second as RunningServer;

  beforeAll(async () => {
    pg = await startTestPostgres();
    const env = { NX_SEALED_CACHE_SERVER_DATABASE_URL: pg.url };
    bed = await startTestBed('nx24', { server: { env }, workspace: () => ({ linkPackage: false }) });
    // The administrator, the org and the tokens are in the shared database already.
    second = await startServer({ dataDir: bed.server.dataDir, initAdmin: false, env });
  });

  afterAll(async () => {
    await second?.dispose();
    await bed?.dispose();
    await pg?.stop();
  });

  it('restores through server 2 every task Nx 24 stored through server 1, byte for byte', async () => {
    const { ws, writeToken, readToken, server } = first();
    const primed = assertSucceeded(await ws.build(selfHostedCacheEnv(server.url, writeToken.token)));
    expect(Object.values(primed.outcomes)).toEqual(ws.projects.map(() => 'miss'));
    const outputs = ws.readOutputs();
    const hashes = ws.localCacheHashes();
    expect(hashes).toHaveLength(ws.projects.length);
    expect(Object.values(await cacheEntryStatuses(other().url, hashes, readToken.token))).toEqual(
      hashes.map(() => 200),
    );

    await ws.reset();
    const restored = assertSucceeded(await ws.build(selfHostedCacheEnv(other().url, readToken.token)));
    expect(Object.values(restored.outcomes)).toEqual(ws.projects.map(() => 'remote'));
    expect(ws.readOutputs()).toEqual(outputs);
  });

  it('refuses through server 1, on the next request, a token revoked through server 2', async () => {
    const { boot, server } = first();
    const token = await createToken(boot.target, { kind: 'ci', workspace: boot.workspace.id, access: 'read' });
    expect(await cacheEntryStatuses(server.url, ['0123abcd'], token.token)).toEqual({ '0123abcd': 404 });
    await revokeToken({ url: other().url, token: boot.target.token }, token.id);
    expect(await cacheEntryStatuses(server.url, ['0123abcd'], token.token)).toEqual({ '0123abcd': 401 });
  });

  it('lets exactly one of concurrent PUTs of one hash over both servers store it; the others get 409', async () => {
    const { writeToken, server } = first();
    const puts = await Promise.all(
      Array.from({ length: 8 }, async (_, i) => {
        const response = await request(`${i % 2 === 0 ? server.url : other().url}/v1/cache/feedbeef${'0'.repeat(8)}`, {
          method: 'PUT',
          headers: { authorization: `Bearer ${writeToken.token}`, 'content-type': 'application/octet-stream' },
          body: Buffer.alloc(64 * 1024, i),
        });
        await response.body.dump();
        return response.statusCode;
      }),
    );
    expect([...puts].sort()).toEqual([200, 409, 409, 409, 409, 409, 409, 409]);
  });
});
