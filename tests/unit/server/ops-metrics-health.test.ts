import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyRequest } from 'fastify';
import { metricsGuard } from '../../../src/server/routes/ops/metrics';
import { type OpsServer, parseExposition, startOpsServer, workspaceWithTokens } from './ops-test-kit';
import { http } from './test-server';

describe('metrics', () => {
  let ts: OpsServer;
  afterEach(() => ts.stop());

  it('counts a scripted sequence of cache requests', async () => {
    ts = await startOpsServer({ retentionInterval: 0 });
    const { rw, ro } = await workspaceWithTokens(ts);
    const body = Buffer.from('0123456789');
    expect((await http(`${ts.url}/v1/cache/h1`, { method: 'PUT', token: rw, raw: body })).status).toBe(200);
    expect((await http(`${ts.url}/v1/cache/h1`, { method: 'PUT', token: rw, raw: body })).status).toBe(409);
    expect((await http(`${ts.url}/v1/cache/h2`, { method: 'PUT', token: ro, raw: body })).status).toBe(403);
    expect((await http(`${ts.url}/v1/cache/h1`, { token: rw })).status).toBe(200);
    expect((await http(`${ts.url}/v1/cache/h1`, { token: ro })).status).toBe(200);
    expect((await http(`${ts.url}/v1/cache/nope`, { token: rw })).status).toBe(404);

    const response = await http(`${ts.url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const m = parseExposition(response.text);
    expect(m.get('nxsc_cache_hits_total')).toBe(2);
    expect(m.get('nxsc_cache_misses_total{reason="absent"}')).toBe(1);
    expect(m.get('nxsc_cache_bytes_in_total')).toBe(10);
    expect(m.get('nxsc_cache_bytes_out_total')).toBe(20);
    expect(m.get('nxsc_cache_denied_writes_total{reason="ERR_CACHE_ENTRY_EXISTS"}')).toBe(1);
    expect(m.get('nxsc_cache_denied_writes_total{reason="ERR_CACHE_WRITE_DENIED"}')).toBe(1);
    expect(m.get('nxsc_http_requests_total{route="/v1/cache/:hash",method="GET",status="200"}')).toBe(2);
    expect(m.get('nxsc_http_requests_total{route="/v1/cache/:hash",method="PUT",status="409"}')).toBe(1);
    expect(m.get('nxsc_http_request_duration_seconds_count{route="/v1/cache/:hash",method="GET"}')).toBe(3);
    expect(m.get('nxsc_storage_entries')).toBe(1);
    expect(m.get('nxsc_storage_bytes')).toBe(10);
    expect(m.has('nxsc_process_cpu_user_seconds_total')).toBe(true);

    const stats = (await http(`${ts.url}/api/v1/stats`, { token: ts.adminToken })).json<Record<string, unknown>>();
    expect(stats.cache).toEqual({ hits: 2, misses: 1 });
    expect(stats.storage).toEqual({ entries: 1, bytes: 10 });
    expect(stats.workspaces).toEqual([expect.objectContaining({ entries: 1, bytes: 10 })]);
    expect((await http(`${ts.url}/api/v1/stats`, { token: rw })).status).toBe(401);
  });

  it('needs the metrics token when one is configured, compared without leaking it', async () => {
    ts = await startOpsServer({ metricsToken: 'scrape-secret-0123456789', retentionInterval: 0 });
    expect((await http(`${ts.url}/metrics`)).status).toBe(401);
    expect((await http(`${ts.url}/metrics`, { token: 'wrong-secret-0123456789' })).status).toBe(401);
    expect((await http(`${ts.url}/metrics`, { token: 'scrape-secret-0123456789' })).status).toBe(200);
  });

  it('answers loopback callers only when no metrics token is configured', () => {
    const guard = metricsGuard(undefined);
    const from = (address: string) =>
      ({ socket: { remoteAddress: address }, headers: {} }) as unknown as FastifyRequest;
    expect(() => guard(from('127.0.0.1'))).not.toThrow();
    expect(() => guard(from('::1'))).not.toThrow();
    expect(() => guard(from('10.0.0.5'))).toThrow(/loopback/);
  });
});

describe('health', () => {
  let ts: OpsServer;
  afterEach(() => ts.stop());

  it('is live and ready, and says why when the blob folder cannot be written', async () => {
    ts = await startOpsServer({ retentionInterval: 0 });
    expect((await http(`${ts.url}/healthz`)).json()).toEqual({ status: 'ok', version: expect.any(String) });
    expect((await http(`${ts.url}/readyz`)).json()).toEqual({
      status: 'ready',
      checks: { database: { ok: true }, storage: { ok: true } },
    });
    const blobs = join(ts.dataDir, 'blobs');
    renameSync(blobs, `${blobs}.away`);
    writeFileSync(blobs, 'not a folder');
    const notReady = await http(`${ts.url}/readyz`);
    expect(notReady.status).toBe(503);
    const body = notReady.json<{
      status: string;
      checks: { database: { ok: boolean }; storage: { ok: boolean; error: string } };
    }>();
    expect(body.status).toBe('not-ready');
    expect(body.checks.database.ok).toBe(true);
    // The errno code only: the data dir's path is not for anonymous callers.
    expect(body.checks.storage).toEqual({ ok: false, error: 'ENOTDIR' });
    expect(notReady.text).not.toContain(ts.dataDir);
    expect((await http(`${ts.url}/healthz`)).status).toBe(200);
    rmSync(blobs);
    renameSync(`${blobs}.away`, blobs);
    mkdirSync(blobs, { recursive: true });
    expect((await http(`${ts.url}/readyz`)).status).toBe(200);
  });

  it('is not ready when the database does not answer', async () => {
    ts = await startOpsServer({ retentionInterval: 0 });
    await ts.server.context.store.close();
    const notReady = await http(`${ts.url}/readyz`);
    expect(notReady.status).toBe(503);
    const body = notReady.json<{ checks: { database: { ok: boolean; error: string }; storage: { ok: boolean } } }>();
    expect(body.checks.database.ok).toBe(false);
    expect(body.checks.database.error).toMatch(/^[A-Z][A-Z0-9_]+$|^failed$/);
    expect(notReady.text).not.toContain(ts.dataDir);
    expect(body.checks.storage.ok).toBe(true);
  });
});
