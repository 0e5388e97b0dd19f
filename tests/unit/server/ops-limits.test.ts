import { readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { request } from 'undici';
import { type OpsServer, parseExposition, startOpsServer, workspaceWithTokens } from './ops-test-kit';
import { http } from './test-server';

/** A PUT with a body, answered only if the server drains (or reads) all of it. */
async function putBody(url: string, token: string, size: number): Promise<{ status: number; text: string }> {
  const result = await http(url, { method: 'PUT', token, raw: Buffer.alloc(size, 7) });
  return { status: result.status, text: result.text };
}

describe('rate limits and quotas', () => {
  let ts: OpsServer;
  afterEach(() => ts.stop());

  it('answers a cache GET over the rate limit with a miss, a PUT with 403 after draining, an admin call with 429', async () => {
    ts = await startOpsServer({ rateLimit: 4, rateWindow: 60_000, retentionInterval: 0 });
    const { rw } = await workspaceWithTokens(ts);
    ts.clock.advance(60_000); // the set-up's admin calls used a window of their own
    expect((await putBody(`${ts.url}/v1/cache/h1`, rw, 100)).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await http(`${ts.url}/v1/cache/h1`, { token: rw })).status).toBe(200);
    expect((await http(`${ts.url}/v1/cache/h1`, { token: rw })).status).toBe(404);
    const put = await putBody(`${ts.url}/v1/cache/h2`, rw, 256 * 1024);
    expect(put).toEqual({ status: 403, text: expect.stringMatching(/^ERR_CACHE_WRITE_LIMITED: /) });
    // The admin token has its own budget: four calls, then 429.
    for (let i = 0; i < 4; i++)
      expect((await http(`${ts.url}/api/v1/orgs`, { token: ts.adminToken })).status).toBe(200);
    const limited = await http(`${ts.url}/api/v1/orgs`, { token: ts.adminToken });
    expect(limited.status).toBe(429);
    expect(limited.json()).toEqual({ error: { code: 'ERR_AUTH_RATE_LIMITED', message: expect.any(String) } });
    // Health and metrics are never limited.
    expect((await http(`${ts.url}/healthz`)).status).toBe(200);
    const m = parseExposition((await http(`${ts.url}/metrics`)).text);
    expect(m.get('nxsc_cache_misses_total{reason="limited"}')).toBe(1);
    expect(m.get('nxsc_cache_denied_writes_total{reason="ERR_CACHE_WRITE_LIMITED"}')).toBe(1);
    // A new window lets the token in again.
    ts.clock.advance(60_000);
    expect((await http(`${ts.url}/v1/cache/h1`, { token: rw })).status).toBe(200);
    expect((await http(`${ts.url}/v1/cache/h2`, { token: rw })).status).toBe(404);
  });

  it('counts bytes up and down against the byte quota', async () => {
    ts = await startOpsServer({ byteQuota: 1000, byteQuotaWindow: 3_600_000, retentionInterval: 0 });
    const { rw } = await workspaceWithTokens(ts);
    expect((await putBody(`${ts.url}/v1/cache/a`, rw, 600)).status).toBe(200);
    expect((await putBody(`${ts.url}/v1/cache/b`, rw, 600)).status).toBe(403);
    expect((await http(`${ts.url}/v1/cache/a`, { token: rw })).status).toBe(200);
    expect((await http(`${ts.url}/v1/cache/a`, { token: rw })).status).toBe(404);
    ts.clock.advance(3_600_000);
    expect((await http(`${ts.url}/v1/cache/a`, { token: rw })).status).toBe(200);
  });

  it('refuses an address that sent too many invalid tokens, with the same per-route answers', async () => {
    ts = await startOpsServer({ authFailureLimit: 3, retentionInterval: 0 });
    const { rw } = await workspaceWithTokens(ts);
    const unknown = rw.slice(0, 12) + 'x'.repeat(rw.length - 12);
    for (let i = 0; i < 3; i++) expect((await http(`${ts.url}/v1/cache/h`, { token: unknown })).status).toBe(401);
    expect((await http(`${ts.url}/api/v1/orgs`, { token: ts.adminToken })).status).toBe(429);
    expect((await http(`${ts.url}/v1/cache/h`, { token: rw })).status).toBe(404);
    ts.clock.advance(15 * 60_000);
    expect((await http(`${ts.url}/api/v1/orgs`, { token: ts.adminToken })).status).toBe(200);
  });

  it('keys anonymous callers by address, and takes it from X-Forwarded-For only with trustProxy', async () => {
    for (const trustProxy of [false, true]) {
      ts = await startOpsServer({ rateLimit: 1, trustProxy, retentionInterval: 0 });
      const from = async (address: string): Promise<number> => {
        const response = await request(`${ts.url}/api/v1/orgs`, { headers: { 'x-forwarded-for': address } });
        await response.body.text();
        return response.statusCode;
      };
      expect(await from('203.0.113.1')).toBe(401);
      expect(await from('203.0.113.2')).toBe(trustProxy ? 401 : 429);
      await ts.stop();
    }
  });
});

describe('slow clients', () => {
  let ts: OpsServer;
  afterEach(() => ts.stop());

  it('closes a connection whose upload stalls, and stores nothing', async () => {
    ts = await startOpsServer({ idleTimeout: 300, retentionInterval: 0 });
    const { rw } = await workspaceWithTokens(ts);
    const { port } = new URL(ts.url);
    const socket = connect(Number(port), '127.0.0.1');
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.on('error', () => undefined);
    socket.write(
      `PUT /v1/cache/stalled HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${rw}\r\nContent-Type: application/octet-stream\r\nContent-Length: 1000\r\n\r\n`,
    );
    socket.write(Buffer.alloc(10, 1));
    await closed;
    expect((await http(`${ts.url}/v1/cache/stalled`, { token: rw })).status).toBe(404);
    expect(
      readdirSync(join(ts.dataDir, 'blobs'), { recursive: true })
        .map(String)
        .filter((p) => p.includes('stalled')),
    ).toEqual([]);
  });
});
