/**
 * `nx-sealed-cache backup` against a serving server: a verified folder that a new server starts on with
 * the same entries and tokens, consistent while uploads go on, rows without blobs left out, refusals.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { type OpsServer, startOpsServer, workspaceWithTokens } from '../server/ops-test-kit';
import { http, makeTempDir } from '../server/test-server';
import { runCliCaptured } from './cli-captured';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(env: Record<string, string>, ...argv: string[]): Promise<Run> {
  return runCliCaptured(argv, env);
}

async function getBytes(url: string, token: string): Promise<{ status: number; body: Buffer }> {
  const res = await request(url, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.statusCode, body: Buffer.from(await res.body.arrayBuffer()) };
}

describe('backup of a serving server', () => {
  let ts: OpsServer;
  let restored: OpsServer | undefined;
  let env: Record<string, string>;
  let rw: string;
  let wsId: string;
  const bodies = new Map<string, Buffer>();
  const out = makeTempDir('nxsc-backup-');

  beforeAll(async () => {
    ts = await startOpsServer({ retentionInterval: 0 });
    ({ rw, wsId } = await workspaceWithTokens(ts));
    env = { NX_SEALED_CACHE_URL: ts.url, NX_SEALED_CACHE_ACCESS_TOKEN: ts.adminToken };
    for (const [i, size] of [10, 300_000, 2_500_000, 0].entries()) {
      const body = randomBytes(size);
      bodies.set(`h${i}`, body);
      expect((await http(`${ts.url}/v1/cache/h${i}`, { method: 'PUT', token: rw, raw: body })).status).toBe(200);
    }
  });
  afterEach(async () => {
    await restored?.stop();
    restored = undefined;
  });
  afterAll(async () => {
    await ts.stop();
    rmSync(out, { recursive: true, force: true });
  });

  it('writes a verified folder, with a progress line, that a new server serves the same entries and tokens from', async () => {
    const to = join(out, 'first');
    // Uploads go on while the backup runs: the copy is one moment of the database with every blob it names.
    const during = Promise.all(
      [1, 2, 3].map((i) =>
        http(`${ts.url}/v1/cache/during${i}`, { method: 'PUT', token: rw, raw: randomBytes(50_000) }),
      ),
    );
    const run = await cli(env, 'backup', '--to', to, '--json');
    for (const res of await during) expect(res.status).toBe(200);
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout) as {
      entries: number;
      bytes: number;
      blobs: boolean;
      droppedWithoutBlob: number;
    };
    expect(result.blobs).toBe(true);
    expect(result.droppedWithoutBlob).toBe(0);
    expect(result.entries).toBeGreaterThanOrEqual(4);
    expect(run.stderr).toMatch(/^backup: \d+ of \d+ entries, .+ of .+$/m);
    expect(readdirSync(to).sort()).toEqual(['backup.json', 'blobs', 'metadata.sqlite']);
    expect(readdirSync(out).filter((name) => name.includes('.partial-'))).toEqual([]);

    await ts.server.close();
    try {
      restored = await startOpsServer({ dataDir: to, adminToken: ts.adminToken, retentionInterval: 0 });
      for (const [hash, body] of bodies) {
        const got = await getBytes(`${restored.url}/v1/cache/${hash}`, rw);
        expect(got.status).toBe(200);
        expect(got.body.equals(body)).toBe(true);
      }
      const stats = (await http(`${restored.url}/api/v1/stats`, { token: ts.adminToken })).json<{
        storage: { entries: number };
      }>();
      expect(stats.storage.entries).toBe(result.entries);
      const audit = (await http(`${restored.url}/api/v1/audit?limit=5`, { token: ts.adminToken })).json<
        Array<{ action: string }>
      >();
      expect(audit.map((e) => e.action)).toContain('backup.created');
    } finally {
      await restored?.stop();
      restored = undefined;
      ts = await startOpsServer({ dataDir: ts.dataDir, adminToken: ts.adminToken, retentionInterval: 0 });
      env.NX_SEALED_CACHE_URL = ts.url;
    }
  });

  it('leaves out an entry whose blob is gone, so the backup has no row without its blob', async () => {
    const entry = await ts.server.context.store.findEntry(wsId, 'shared', 'h1');
    if (entry === undefined) throw new Error('expected h1');
    rmSync(join(ts.dataDir, 'blobs', ...entry.blobKey.split('/')));
    const to = join(out, 'second');
    const run = await cli(env, 'backup', '--to', to, '--json');
    expect(run.code).toBe(0);
    expect((JSON.parse(run.stdout) as { droppedWithoutBlob: number }).droppedWithoutBlob).toBe(1);
    expect(existsSync(join(to, 'blobs', ...entry.blobKey.split('/')))).toBe(false);
  });

  it('keeps nothing when a blob no longer matches its entry (bit rot on the server)', async () => {
    const entry = await ts.server.context.store.findEntry(wsId, 'shared', 'h2');
    if (entry === undefined) throw new Error('expected h2');
    writeFileSync(join(ts.dataDir, 'blobs', ...entry.blobKey.split('/')), randomBytes(entry.size));
    const run = await cli(env, 'backup', '--to', join(out, 'rotten'));
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('ERR_BACKUP_VERIFY_FAILED');
    expect(existsSync(join(out, 'rotten'))).toBe(false);
    expect(readdirSync(out).filter((name) => name.includes('.partial-'))).toEqual([]);
    writeFileSync(join(ts.dataDir, 'blobs', ...entry.blobKey.split('/')), bodies.get('h2') ?? Buffer.alloc(0));
  });

  it('copies only the database with --metadata-only', async () => {
    const to = join(out, 'third');
    const run = await cli(env, 'backup', '--to', to, '--metadata-only', '--json');
    expect(run.code).toBe(0);
    expect((JSON.parse(run.stdout) as { blobs: boolean }).blobs).toBe(false);
    expect(readdirSync(to).sort()).toEqual(['backup.json', 'metadata.sqlite']);
  });

  it('refuses a token that is not a server admin, and a folder that exists, keeping nothing', async () => {
    const denied = await cli({ ...env, NX_SEALED_CACHE_ACCESS_TOKEN: rw }, 'backup', '--to', join(out, 'denied'));
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/ERR_AUTH_/);
    expect(existsSync(join(out, 'denied'))).toBe(false);
    expect(readdirSync(out).filter((name) => name.includes('.partial-'))).toEqual([]);
    const exists = await cli(env, 'backup', '--to', join(out, 'third'));
    expect(exists.code).toBe(1);
    expect(exists.stderr).toContain('ERR_INPUT_INVALID');
  });
});
