/**
 * Two servers sharing one PostgreSQL and one data dir, as replicas behind a load balancer do:
 * what one writes or revokes, the other sees on its next request.
 */
import { buildServer } from '../../../src/server/app';
import {
  LOGIN_STARTS_PER_WINDOW,
  LOGIN_START_WINDOW_MS,
} from '../../../src/server/routes/admin-api/login-request-routes';
import { type TestPostgres, startTestPostgres } from '../../support/postgres';
import { type TestServer, api, http, startTestServer } from './test-server';
import { RUN_REPORTS_PER_MINUTE } from '../../../src/server/routes/cache/runs';

describe('replicas sharing PostgreSQL', () => {
  let pg: TestPostgres;
  let one: TestServer;
  let two: TestServer;
  let wsId: string;
  let ciToken: string;

  // Starting PostgreSQL (PGlite compiles its WebAssembly build) and two servers is setup, not what is tested.
  beforeAll(async () => {
    pg = await startTestPostgres();
    one = await startTestServer({ config: { databaseUrl: pg.url } });
    // The second replica only starts: the administrator, like everything else, is in the shared database.
    const server = await buildServer({ dataDir: one.dataDir, databaseUrl: pg.url, port: 0, logLevel: false });
    two = { ...one, server, url: server.url as string, stop: () => server.close() };
    await api(one, 'POST', '/orgs', { name: 'acme' });
    wsId = (await api<{ id: string }>(one, 'POST', '/workspaces', { org: 'acme', name: 'web' })).id;
    ciToken = (
      await api<{ token: string }>(one, 'POST', '/tokens', { kind: 'ci', workspaceId: wsId, access: 'read-write' })
    ).token;
  }, 60_000);

  afterAll(async () => {
    await two?.stop();
    await one?.stop();
    await pg?.stop();
  });

  it('uses the PostgreSQL store, and the administrator made once works on both', async () => {
    expect([one.server.context.store.engine, two.server.context.store.engine]).toEqual(['postgres', 'postgres']);
    const orgs = await api<{ name: string }[]>(two, 'GET', '/orgs');
    expect(orgs.map((o) => o.name)).toEqual(['acme']);
  });

  it('serves through one server what was written through the other', async () => {
    const put = await http(`${one.url}/v1/cache/shared-1`, { method: 'PUT', token: ciToken, raw: 'bytes from one' });
    expect(put.status).toBe(200);
    const get = await http(`${two.url}/v1/cache/shared-1`, { token: ciToken });
    expect([get.status, get.text]).toEqual([200, 'bytes from one']);
  });

  it('lets exactly one of concurrent PUTs of one hash over both servers win; the rest get 409', async () => {
    const puts = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        http(`${(i % 2 === 0 ? one : two).url}/v1/cache/raced`, { method: 'PUT', token: ciToken, raw: `body ${i}` }),
      ),
    );
    const statuses = puts.map((p) => p.status).sort();
    expect(statuses).toEqual([200, 409, 409, 409, 409, 409]);
    const winner = puts.findIndex((p) => p.status === 200);
    expect((await http(`${two.url}/v1/cache/raced`, { token: ciToken })).text).toBe(`body ${winner}`);
    expect((await http(`${one.url}/v1/cache/raced`, { token: ciToken })).text).toBe(`body ${winner}`);
  });

  it('refuses on one server, at once, a token revoked through the other', async () => {
    const created = await api<{ id: string; token: string }>(one, 'POST', '/tokens', {
      kind: 'ci',
      workspaceId: wsId,
      access: 'read',
    });
    // Accepted (a miss in its own isolated namespace) before, refused after.
    expect((await http(`${one.url}/v1/cache/shared-1`, { token: created.token })).status).toBe(404);
    await api(two, 'POST', `/tokens/${created.id}/revoke`, {});
    const refused = await http(`${one.url}/v1/cache/shared-1`, { token: created.token });
    expect(refused.status).toBe(401);
  });

  it('answers a request read in the same batch as one naming a workspace PostgreSQL cannot hold', async () => {
    const put = await http(`${one.url}/v1/cache/batched-1`, { method: 'PUT', token: ciToken, raw: 'batched' });
    expect(put.status).toBe(200);
    // A NUL is no valid PostgreSQL text: were it sent, the whole batched statement would fail.
    const answers = await Promise.all([
      http(`${one.url}/w/ws_%00bad/v1/cache/batched-1`, { token: ciToken }),
      http(`${one.url}/v1/cache/batched-1`, { token: ciToken }),
      http(`${one.url}/w/${wsId}%00/v1/cache/batched-1`, { token: ciToken }),
    ]);
    expect(answers.map((a) => [a.status, a.text.split(':')[0]])).toEqual([
      [401, 'ERR_AUTH_WORKSPACE_REQUIRED'],
      [200, 'batched'],
      [401, 'ERR_AUTH_WORKSPACE_REQUIRED'],
    ]);
  });

  it('refuses a backup (the embedded store only) with its code, and audits none', async () => {
    const refused = await http(`${two.url}/api/v1/backup`, { method: 'POST', token: two.adminToken });
    expect([refused.status, refused.json<{ error: { code: string } }>().error.code]).toEqual([
      400,
      'ERR_INPUT_INVALID',
    ]);
    const audit = await api<{ action: string }[]>(one, 'GET', '/audit?limit=1000');
    expect(audit.map((e) => e.action)).not.toContain('backup.created');
  });

  it('refuses a database URL that is not postgres://, and never shows the password of one it cannot reach', async () => {
    await expect(
      buildServer({ dataDir: one.dataDir, databaseUrl: 'mysql://x@db/cache', listen: false }),
    ).rejects.toMatchObject({
      code: 'ERR_CONFIG_INVALID',
    });
    const failure = (await buildServer({
      dataDir: one.dataDir,
      databaseUrl: 'postgres://cache:hunter2-secret@127.0.0.1:1/cache',
      listen: false,
      logLevel: false,
    }).catch((err: unknown) => err)) as Error & { code?: string };
    expect(failure.code).toBe('ERR_DATABASE_FAILED');
    expect(failure.message).toContain('postgres://cache:[redacted]@127.0.0.1:1/cache');
    expect(failure.message).not.toContain('hunter2');
  });
});

describe('replicas sharing PostgreSQL count rate limits and byte quotas together', () => {
  let pg: TestPostgres;
  let one: TestServer;
  let two: TestServer;
  let wsId: string;
  const limits = { rateLimit: 12, rateWindow: 60_000, byteQuota: 1_000, byteQuotaWindow: 3_600_000 };
  // Trusted, so what the writer stores is in the shared namespace every reader sees.
  const tokenFor = async (access: 'read' | 'read-write'): Promise<string> =>
    (await api<{ token: string }>(one, 'POST', '/tokens', { kind: 'ci', workspaceId: wsId, access, tier: 'trusted' }))
      .token;
  // What each replica counted goes to the database about once a second; here at once, to test the sum.
  const flush = (server: TestServer) => server.server.context.ops.limits.flush();
  const statuses = async (server: TestServer, token: string, count: number): Promise<number[]> => {
    const answers: number[] = [];
    for (let i = 0; i < count; i++) answers.push((await http(`${server.url}/v1/cache/hot`, { token })).status);
    return answers;
  };

  beforeAll(async () => {
    pg = await startTestPostgres();
    one = await startTestServer({ config: { databaseUrl: pg.url, ...limits } });
    // The same clock for both, as replicas share the wall clock: the windows are aligned to it.
    const server = await buildServer({
      dataDir: one.dataDir,
      databaseUrl: pg.url,
      port: 0,
      logLevel: false,
      clock: () => one.clock.now,
      ...limits,
    });
    two = { ...one, server, url: server.url as string, stop: () => server.close() };
    await api(one, 'POST', '/orgs', { name: 'acme' });
    wsId = (await api<{ id: string }>(one, 'POST', '/workspaces', { org: 'acme', name: 'web' })).id;
    const writer = await tokenFor('read-write');
    expect((await http(`${one.url}/v1/cache/hot`, { method: 'PUT', token: writer, raw: 'hot' })).status).toBe(200);
  }, 60_000);

  afterAll(async () => {
    await two?.stop();
    await one?.stop();
    await pg?.stop();
  });

  it('refuses a token on either replica once the requests through both reach the rate limit', async () => {
    const reader = await tokenFor('read');
    // A refused cache GET is answered as a miss (404), so Nx goes on; the entry exists, so 200 means admitted.
    expect(await statuses(one, reader, 7)).toEqual(Array(7).fill(200));
    await flush(one);
    // Replica 2 reads the shared count on the token's first request in the window: 7 of 12 are used.
    expect(await statuses(two, reader, 6)).toEqual([200, 200, 200, 200, 200, 404]);
    await flush(two);
    await flush(one);
    // Replica 1 counted only 7 itself, and refuses because of replica 2's 5.
    expect(await statuses(one, reader, 1)).toEqual([404]);
    // The next window starts over, on both.
    one.clock.advance(limits.rateWindow);
    expect([...(await statuses(one, reader, 1)), ...(await statuses(two, reader, 1))]).toEqual([200, 200]);
  });

  it('refuses an upload on one replica that would pass the byte quota with what the other took', async () => {
    const writer = await tokenFor('read-write');
    const put = async (server: TestServer, hash: string, bytes: number) => {
      const answer = await http(`${server.url}/v1/cache/${hash}`, {
        method: 'PUT',
        token: writer,
        raw: 'x'.repeat(bytes),
      });
      return answer.status === 200 ? 200 : `${answer.status} ${answer.text.split(':')[0]}`;
    };
    expect(await put(one, 'q1', 600)).toBe(200);
    await flush(one);
    expect(await put(two, 'q2', 600)).toBe('403 ERR_CACHE_WRITE_LIMITED');
    expect(await put(two, 'q3', 400)).toBe(200);
    await flush(two);
    await flush(one);
    expect(await put(one, 'q4', 1)).toBe('403 ERR_CACHE_WRITE_LIMITED');
  });
});

describe('replicas sharing PostgreSQL share the CLI-login start limit and the audit of refusals', () => {
  let pg: TestPostgres;
  let one: TestServer;
  let two: TestServer;
  let wsId: string;
  const flush = (server: TestServer) => server.server.context.ops.limits.flush();
  const startLogin = async (server: TestServer): Promise<string> => {
    const answer = await http(`${server.url}/api/v1/login/requests`, {
      method: 'POST',
      body: { hostname: 'build-box', workspaceId: wsId },
    });
    return answer.status === 201 ? '201' : `${answer.status} ${answer.json<{ error: { code: string } }>().error.code}`;
  };
  const startLogins = async (server: TestServer, count: number): Promise<string[]> => {
    const answers: string[] = [];
    for (let i = 0; i < count; i++) answers.push(await startLogin(server));
    return answers;
  };

  beforeAll(async () => {
    pg = await startTestPostgres();
    one = await startTestServer({ config: { databaseUrl: pg.url } });
    // The same clock for both, as replicas share the wall clock: the windows are aligned to it.
    const server = await buildServer({
      dataDir: one.dataDir,
      databaseUrl: pg.url,
      port: 0,
      logLevel: false,
      clock: () => one.clock.now,
    });
    two = { ...one, server, url: server.url as string, stop: () => server.close() };
    await api(one, 'POST', '/orgs', { name: 'acme' });
    wsId = (await api<{ id: string }>(one, 'POST', '/workspaces', { org: 'acme', name: 'web' })).id;
  }, 60_000);

  afterAll(async () => {
    await two?.stop();
    await one?.stop();
    await pg?.stop();
  });

  it('refuses starting a login on either replica once the starts from one address through both reach the limit', async () => {
    const first = LOGIN_STARTS_PER_WINDOW - 10;
    expect(await startLogins(one, first)).toEqual(Array(first).fill('201'));
    await flush(one);
    // Replica 2 reads the shared count on the address's first start in the window: 10 are left.
    expect(await startLogins(two, 11)).toEqual([...Array(10).fill('201'), '429 ERR_AUTH_RATE_LIMITED']);
    await flush(two);
    await flush(one);
    expect(await startLogin(one)).toBe('429 ERR_AUTH_RATE_LIMITED');
    // The next window starts over, on both.
    one.clock.advance(LOGIN_START_WINDOW_MS);
    expect([await startLogin(one), await startLogin(two)]).toEqual(['201', '201']);
  });

  it('refuses run reports of one credential on either replica once the reports through both reach the limit', async () => {
    const { token } = await api<{ token: string }>(one, 'POST', '/tokens', {
      kind: 'ci',
      workspaceId: wsId,
      access: 'read-write',
      tier: 'trusted',
    });
    const body = {
      client: 'plugin',
      nxVersion: '24.0.6',
      startedAt: '2030-01-01T00:00:00.000Z',
      endedAt: '2030-01-01T00:00:05.000Z',
      tasks: [{ id: 'web:build', project: 'web', target: 'build', hash: '123', status: 'miss', durationMs: 100 }],
    };
    const reportThrough = async (server: TestServer, count: number): Promise<string[]> => {
      const answers: string[] = [];
      for (let i = 0; i < count; i++) {
        const answer = await http(`${server.url}/w/${wsId}/v1/runs`, { method: 'POST', token, body });
        answers.push(
          answer.status === 201 ? '201' : `${answer.status} ${answer.json<{ error: { code: string } }>().error.code}`,
        );
      }
      return answers;
    };
    const first = RUN_REPORTS_PER_MINUTE - 5;
    expect(await reportThrough(one, first)).toEqual(Array(first).fill('201'));
    await flush(one);
    expect(await reportThrough(two, 6)).toEqual([...Array(5).fill('201'), '429 ERR_RUN_REPORT_RATE_LIMITED']);
    await flush(two);
    await flush(one);
    expect(await reportThrough(one, 1)).toEqual(['429 ERR_RUN_REPORT_RATE_LIMITED']);
    one.clock.advance(60_000);
    expect([...(await reportThrough(one, 1)), ...(await reportThrough(two, 1))]).toEqual(['201', '201']);
  });

  it('records one denied write and one refused admin action per credential a minute, over both replicas', async () => {
    const reader = await api<{ id: string; token: string }>(one, 'POST', '/tokens', {
      kind: 'ci',
      workspaceId: wsId,
      access: 'read',
    });
    const refusals = async () => {
      for (const server of [one, two, one, two]) {
        const put = await http(`${server.url}/v1/cache/denied-1`, { method: 'PUT', token: reader.token, raw: 'x' });
        expect([put.status, put.text.split(':')[0]]).toEqual([403, 'ERR_CACHE_WRITE_DENIED']);
        const mint = await http(`${server.url}/api/v1/tokens`, {
          method: 'POST',
          token: reader.token,
          body: { kind: 'ci', workspaceId: wsId, access: 'read-write' },
        });
        expect([mint.status, mint.json<{ error: { code: string } }>().error.code]).toEqual([
          401,
          'ERR_AUTH_TOKEN_KIND_REFUSED',
        ]);
      }
    };
    const recorded = async () =>
      (await api<{ action: string; actorTokenId: string | null }[]>(one, 'GET', '/audit?limit=1000'))
        .filter((e) => e.actorTokenId === reader.id)
        .map((e) => e.action)
        .sort();
    await refusals();
    expect(await recorded()).toEqual(['access.denied', 'cache.write-denied']);
    // A minute later, once more: one of each again, whichever replica is asked first.
    one.clock.advance(60_000);
    await refusals();
    expect(await recorded()).toEqual(['access.denied', 'access.denied', 'cache.write-denied', 'cache.write-denied']);
  });
});
