/**
 * Two server processes on different ports sharing one PostgreSQL (PGlite behind pglite-socket, or
 * the server NX_SEALED_CACHE_TEST_DATABASE_URL names) and one data dir for blobs, as replicas behind
 * a load balancer: Nx 24 writes through one and restores through the other.
 */
import { createHash } from 'node:crypto';
import { Client } from 'pg';
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

  it('refuses a token on both servers together once its requests through both reach the rate limit', async () => {
    const { boot, writeToken, server } = first();
    // Two more servers with a low limit; a window of a year, aligned to the clock, so the test never spans two.
    const env = {
      NX_SEALED_CACHE_SERVER_DATABASE_URL: (pg as TestPostgres).url,
      NX_SEALED_CACHE_SERVER_RATE_LIMIT: '10',
      NX_SEALED_CACHE_SERVER_RATE_WINDOW: '365d',
    };
    const limited = [
      await startServer({ dataDir: server.dataDir, initAdmin: false, env }),
      await startServer({ dataDir: server.dataDir, initAdmin: false, env }),
    ];
    try {
      const hash = 'limit0123456789';
      const put = await request(`${server.url}/v1/cache/${hash}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${writeToken.token}`, 'content-type': 'application/octet-stream' },
        body: Buffer.from('limited'),
      });
      await put.body.dump();
      expect(put.statusCode).toBe(200);
      const token = await createToken(boot.target, { kind: 'ci', workspace: boot.workspace.id, access: 'read' });
      const gets = async (url: string, count: number): Promise<number[]> => {
        const answers: number[] = [];
        for (let i = 0; i < count; i++) answers.push((await cacheEntryStatuses(url, [hash], token.token))[hash] ?? 0);
        return answers;
      };
      // A refused cache GET is a miss (404) so Nx goes on; the entry exists, so 200 means the request was admitted.
      expect(await gets(limited[0]!.url, 6)).toEqual(Array(6).fill(200));
      // Wait for what server A writes: its count of the token's requests in the shared table (about once a second).
      const key = `t:${createHash('sha256').update(`Bearer ${token.token}`).digest('hex').slice(0, 32)}`;
      const client = new Client({ connectionString: (pg as TestPostgres).url });
      await client.connect();
      try {
        const counted = async (): Promise<number> => {
          const { rows } = await client.query<{ used: string }>(
            "select used from limit_windows where counter = 'requests' and key = $1",
            [key],
          );
          return Number(rows[0]?.used ?? 0);
        };
        for (let i = 0; i < 200 && (await counted()) < 6; i++) await new Promise((r) => setTimeout(r, 50));
        expect(await counted()).toBe(6);
      } finally {
        await client.end();
      }
      // Server B starts from A's 6: four more are admitted, the fifth is refused.
      expect(await gets(limited[1]!.url, 5)).toEqual([200, 200, 200, 200, 404]);
    } finally {
      for (const replica of limited) await replica.dispose();
    }
  });
});
