import { existsSync, mkdirSync, truncateSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { ReadTrackingBlobStore } from '../../../src/server/retention/read-tracker';
import { FsBlobStore } from '../../../src/server/storage/fs-blob-store';
import { type OpsServer, startOpsServer, workspaceWithTokens } from './ops-test-kit';
import { http, makeTempDir } from './test-server';

const MiB = 1024 ** 2;
const artifact = (seed: number, size: number): Buffer => Buffer.alloc(size, seed);

function blobFiles(dataDir: string): string[] {
  return (readdirSync(join(dataDir, 'blobs'), { recursive: true, withFileTypes: true }) as import('node:fs').Dirent[])
    .filter((e) => e.isFile())
    .map((e) => e.name);
}

describe('retention', () => {
  let ts: OpsServer;
  let rw: string;
  afterEach(() => ts.stop());

  async function put(hash: string, body: Buffer): Promise<void> {
    expect((await http(`${ts.url}/v1/cache/${hash}`, { method: 'PUT', token: rw, raw: body })).status).toBe(200);
  }

  it('evicts least recently used entries down to the cap, never one being read, while other reads go on', async () => {
    ts = await startOpsServer({ retentionMaxBytes: 20 * MiB, retentionInterval: 0 });
    ({ rw } = await workspaceWithTokens(ts));
    for (const [i, hash] of ['e1', 'e2', 'e3', 'e4'].entries()) {
      await put(hash, artifact(i + 1, 8 * MiB));
      ts.clock.advance(5 * 60_000);
    }
    // e1 is the least recently used, and a slow reader holds it open.
    const slow = await request(`${ts.url}/v1/cache/e1`, { headers: { authorization: `Bearer ${rw}` } });
    expect(slow.statusCode).toBe(200);
    const chunks: Buffer[] = [];
    const iterator = slow.body[Symbol.asyncIterator]();
    chunks.push((await iterator.next()).value as Buffer);
    const e1Key = readdirSync(join(ts.dataDir, 'blobs'), { recursive: true })
      .map(String)
      .find((p) => p.includes('e1.'));
    expect(e1Key).toBeDefined();
    expect(ts.server.context.ops.blobs.isReading(String(e1Key).split('\\').join('/'))).toBe(true);

    const concurrent = Promise.all([1, 2, 3].map(() => http(`${ts.url}/v1/cache/e4`, { token: rw })));
    const removed = await ts.server.context.ops.retention.run();
    for (const result of await concurrent) expect(result.text.length).toBe(8 * MiB);

    for (let next = await iterator.next(); !next.done; next = await iterator.next()) chunks.push(next.value as Buffer);
    expect(Buffer.concat(chunks).equals(artifact(1, 8 * MiB))).toBe(true);

    expect(removed.size.count).toBe(2);
    expect((await http(`${ts.url}/v1/cache/e2`, { token: rw })).status).toBe(404);
    expect((await http(`${ts.url}/v1/cache/e3`, { token: rw })).status).toBe(404);
    expect((await http(`${ts.url}/v1/cache/e1`, { token: rw })).status).toBe(200);
    const stats = (await http(`${ts.url}/api/v1/stats`, { token: ts.adminToken })).json<{
      storage: { bytes: number; entries: number };
      retention: { removedSinceStart: { size: { count: number } } };
    }>();
    expect(stats.storage).toEqual({ entries: 2, bytes: 16 * MiB });
    expect(stats.retention.removedSinceStart.size.count).toBe(2);
    expect(blobFiles(ts.dataDir)).toHaveLength(2);
  });

  it('removes entries unread for longer than the age limit; a read keeps an entry alive', async () => {
    ts = await startOpsServer({ retentionMaxAge: 7 * 86_400_000, retentionInterval: 0 });
    ({ rw } = await workspaceWithTokens(ts));
    await put('old', Buffer.from('old bytes'));
    await put('used', Buffer.from('used bytes'));
    ts.clock.advance(6 * 86_400_000);
    expect((await http(`${ts.url}/v1/cache/used`, { token: rw })).status).toBe(200);
    ts.clock.advance(2 * 86_400_000);
    const removed = await ts.server.context.ops.retention.run();
    expect(removed.age.count).toBe(1);
    expect((await http(`${ts.url}/v1/cache/old`, { token: rw })).status).toBe(404);
    expect((await http(`${ts.url}/v1/cache/used`, { token: rw })).text).toBe('used bytes');
    // Evicted, so the hash may be written again; the live entry stays write-once.
    await put('old', Buffer.from('new bytes'));
    expect((await http(`${ts.url}/v1/cache/used`, { method: 'PUT', token: rw, raw: 'other' })).status).toBe(409);
  });

  it('sweeps orphan blobs and stale upload files, and keeps blobs that have a row', async () => {
    ts = await startOpsServer({ retentionInterval: 0 });
    ({ rw } = await workspaceWithTokens(ts));
    await put('kept', Buffer.from('kept bytes'));
    mkdirSync(join(ts.dataDir, 'blobs', 'ws_orphan', 'shared'), { recursive: true });
    writeFileSync(join(ts.dataDir, 'blobs', 'ws_orphan', 'shared', 'abc.upload1'), 'orphan');
    writeFileSync(join(ts.dataDir, 'tmp', 'stale.upload'), 'half');
    // The server clock is in 2030, so files written now are hours old to it.
    const removed = await ts.server.context.ops.retention.run();
    expect(removed.orphan.count).toBe(1);
    expect(removed.tmp.count).toBe(1);
    expect(existsSync(join(ts.dataDir, 'blobs', 'ws_orphan', 'shared', 'abc.upload1'))).toBe(false);
    expect(existsSync(join(ts.dataDir, 'tmp', 'stale.upload'))).toBe(false);
    expect((await http(`${ts.url}/v1/cache/kept`, { token: rw })).text).toBe('kept bytes');
  });

  it('counts evictions in the metrics', async () => {
    ts = await startOpsServer({ retentionMaxAge: 86_400_000, retentionInterval: 0 });
    ({ rw } = await workspaceWithTokens(ts));
    await put('gone', Buffer.from('x'));
    ts.clock.advance(2 * 86_400_000);
    await ts.server.context.ops.retention.run();
    const text = (await http(`${ts.url}/metrics`)).text;
    expect(text).toMatch(/^nxsc_retention_evictions_total\{reason="age"\} 1$/m);
  });
});

describe('read tracking', () => {
  it('defers deleting a blob being read until its reader is done', async () => {
    const dir = makeTempDir('nxsc-ops-');
    mkdirSync(join(dir, 'blobs'));
    mkdirSync(join(dir, 'tmp'));
    const blobs = new ReadTrackingBlobStore(new FsBlobStore(join(dir, 'blobs'), join(dir, 'tmp')));
    await blobs.put('ws/shared/h.1', Readable.from([Buffer.from('payload')]), 7);
    const opened = await blobs.open('ws/shared/h.1');
    if (!opened.found) throw new Error('expected the blob');
    expect(await blobs.deleteWhenIdle('ws/shared/h.1')).toBe('deferred');
    expect(existsSync(join(dir, 'blobs', 'ws', 'shared', 'h.1'))).toBe(true);
    const chunks: Buffer[] = [];
    for await (const chunk of opened.stream()) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('payload');
    await new Promise((resolve) => setImmediate(resolve));
    for (let i = 0; i < 50 && existsSync(join(dir, 'blobs', 'ws', 'shared', 'h.1')); i++)
      await new Promise((r) => setTimeout(r, 10));
    expect(existsSync(join(dir, 'blobs', 'ws', 'shared', 'h.1'))).toBe(false);
    expect(blobs.isReading('ws/shared/h.1')).toBe(false);
  });

  it('reads a small blob whole, and deletes it once that read is done', async () => {
    const dir = makeTempDir('nxsc-ops-');
    mkdirSync(join(dir, 'blobs'));
    mkdirSync(join(dir, 'tmp'));
    const blobs = new ReadTrackingBlobStore(new FsBlobStore(join(dir, 'blobs'), join(dir, 'tmp')));
    await blobs.put('ws/shared/h.2', Readable.from([Buffer.from('payload')]), 7);
    const opened = await blobs.open('ws/shared/h.2');
    if (!opened.found || opened.read === undefined) throw new Error('expected a blob that can be read whole');
    expect(await blobs.deleteWhenIdle('ws/shared/h.2')).toBe('deferred');
    expect((await opened.read()).toString()).toBe('payload');
    expect(blobs.isReading('ws/shared/h.2')).toBe(false);
    for (let i = 0; i < 50 && existsSync(join(dir, 'blobs', 'ws', 'shared', 'h.2')); i++)
      await new Promise((r) => setTimeout(r, 10));
    expect(existsSync(join(dir, 'blobs', 'ws', 'shared', 'h.2'))).toBe(false);
  });

  it('refuses a whole read of a blob cut short after it was opened', async () => {
    const dir = makeTempDir('nxsc-ops-');
    mkdirSync(join(dir, 'blobs'));
    mkdirSync(join(dir, 'tmp'));
    const blobs = new FsBlobStore(join(dir, 'blobs'), join(dir, 'tmp'));
    await blobs.put('ws/shared/h.3', Readable.from([Buffer.from('payload')]), 7);
    const opened = await blobs.open('ws/shared/h.3');
    if (!opened.found || opened.read === undefined) throw new Error('expected a blob that can be read whole');
    truncateSync(join(dir, 'blobs', 'ws', 'shared', 'h.3'), 3);
    await expect(opened.read()).rejects.toThrow('the blob ended after 3 of 7 bytes');
  });
});
