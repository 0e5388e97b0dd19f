/**
 * `nx-sealed-cache storage migrate` over the real S3 protocol (s3rver): a stopped data dir's blobs copied
 * into a bucket and verified, a second run copies nothing, a server on the bucket serves the same entries;
 * a running server's data dir and a changed blob are refused.
 */
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { type CapturedRun, runCliCaptured } from './cli-captured';
import { type RunningS3, startS3 } from '../../e2e/harness/s3-store';
import { type OpsServer, startOpsServer, workspaceWithTokens } from '../server/ops-test-kit';
import { http } from '../server/test-server';

const MiB = 1024 ** 2;

async function cli(...argv: string[]): Promise<CapturedRun> {
  return runCliCaptured(argv);
}

describe('storage migrate into an S3 bucket', () => {
  let s3: RunningS3;
  let ts: OpsServer;
  let rw: string;
  let wsId: string;
  const bodies = new Map<string, Buffer>();
  const entries = new Map<string, { blobKey: string; size: number }>();
  const savedEnv = { ...process.env };
  let serverClosed = false;

  beforeAll(async () => {
    s3 = await startS3('nxsc-migrate');
    Object.assign(process.env, s3.env);
    ts = await startOpsServer({ retentionInterval: 0 });
    ({ rw, wsId } = await workspaceWithTokens(ts));
    for (const [hash, size] of [
      ['small', 100],
      ['big', 9 * MiB],
      ['empty', 0],
    ] as const) {
      const body = randomBytes(size);
      bodies.set(hash, body);
      expect((await http(`${ts.url}/v1/cache/${hash}`, { method: 'PUT', token: rw, raw: body })).status).toBe(200);
      const entry = await ts.server.context.store.findEntry(wsId, 'shared', hash);
      if (entry !== undefined) entries.set(hash, entry);
    }
  });
  afterAll(async () => {
    if (!serverClosed) await ts.server.close();
    rmSync(ts.dataDir, { recursive: true, force: true });
    process.env = savedEnv;
    await s3.stop();
  });

  const migrate = (prefix: string, ...more: string[]) =>
    cli(
      'storage',
      'migrate',
      '--data-dir',
      ts.dataDir,
      '--blob-store',
      `s3://${s3.bucket}/${prefix}`,
      '--s3-endpoint',
      s3.endpoint,
      '--s3-force-path-style',
      ...more,
    );
  const objects = (prefix: string): Promise<string[]> => s3.objectKeys(prefix);

  it('refuses while the server runs on the data directory', async () => {
    const run = await migrate('live');
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('ERR_DATA_DIR_LOCKED');
    expect(await objects('live/')).toEqual([]);
  });

  it('copies and verifies every blob, copies nothing the second time, and a server on the bucket serves them', async () => {
    await ts.server.close();
    serverClosed = true;
    const first = await migrate('team', '--json');
    expect(first.code).toBe(0);
    const result = JSON.parse(first.stdout) as { blobs: Record<string, unknown> };
    expect(result.blobs).toMatchObject({ entries: 3, copied: 3, alreadyThere: 0, verified: 3, failed: [] });
    expect(first.stderr).toMatch(/^migrate blobs: 3 of 3 entries, 9\.0 MiB of 9\.0 MiB$/m);
    expect(first.stderr).toMatch(/^verify blobs: 3 of 3 entries/m);
    expect(await objects('team/')).toHaveLength(3);

    const second = await migrate('team', '--json');
    expect(second.code).toBe(0);
    expect((JSON.parse(second.stdout) as { blobs: Record<string, unknown> }).blobs).toMatchObject({
      copied: 0,
      alreadyThere: 3,
      verified: 3,
    });

    const onBucket = await startOpsServer({
      dataDir: ts.dataDir,
      adminToken: ts.adminToken,
      retentionInterval: 0,
      blobStore: `s3://${s3.bucket}/team`,
      s3Endpoint: s3.endpoint,
      s3ForcePathStyle: true,
    });
    try {
      for (const [hash, body] of bodies) {
        const res = await request(`${onBucket.url}/v1/cache/${hash}`, { headers: { authorization: `Bearer ${rw}` } });
        expect(res.statusCode).toBe(200);
        expect(Buffer.from(await res.body.arrayBuffer()).equals(body)).toBe(true);
      }
    } finally {
      await onBucket.server.close();
    }
  });

  it('leaves out and names a blob that no longer matches its entry, and exits 1', async () => {
    const entry = entries.get('small');
    if (entry === undefined) throw new Error('expected the entry of small');
    writeFileSync(join(ts.dataDir, 'blobs', ...entry.blobKey.split('/')), randomBytes(entry.size));
    const run = await migrate('other');
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('ERR_MIGRATE_VERIFY_FAILED');
    expect(run.stderr).toContain(entry.blobKey);
    expect(await objects('other/')).toHaveLength(2);
  });
});
