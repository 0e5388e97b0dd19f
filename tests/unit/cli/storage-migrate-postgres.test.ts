/**
 * `nx-sealed-cache storage migrate --blob-store s3://… --database-url postgres://…`: a stopped data dir (SQLite and
 * its blobs folder, with entries, tokens and audit) moved into PostgreSQL (PGlite, or the server
 * NX_SEALED_CACHE_TEST_DATABASE_URL names) and an S3 bucket (s3rver). Runs cut short in the blobs and in the
 * metadata are finished by the next; a server on the targets serves the same entries to the same tokens; a
 * changed blob and a database holding other rows are refused with their codes.
 */
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Database } from 'node-sqlite3-wasm';
import { Client } from 'pg';
import { request } from 'undici';
import { type CapturedRun, runCliCaptured } from './cli-captured';
import { buildServer } from '../../../src/server/app';
import { migrateStorage } from '../../../src/server/storage/storage-migrate';
import { type RunningS3, startS3 } from '../../e2e/harness/s3-store';
import { type TestPostgres, startTestPostgres } from '../../support/postgres';
import { type OpsServer, startOpsServer, workspaceWithTokens } from '../server/ops-test-kit';
import { api, http, makeTempDir } from '../server/test-server';

const PREFIX = 'moved';

async function cli(...argv: string[]): Promise<CapturedRun> {
  return runCliCaptured(argv);
}

class Interrupted extends Error {}

describe('storage migrate into PostgreSQL and an S3 bucket', () => {
  let pg: TestPostgres;
  let s3: RunningS3;
  let ts: OpsServer;
  let rw: string;
  let ro: string;
  let wsId: string;
  const bodies = new Map<string, Buffer>();
  const sourceCounts = new Map<string, number>();
  const savedEnv = { ...process.env };

  const pgCount = async (table: string): Promise<number> => {
    const client = new Client({ connectionString: pg.url });
    await client.connect();
    try {
      const exists = await client.query(`SELECT 1 FROM information_schema.tables WHERE table_name = $1`, [table]);
      if (exists.rowCount === 0) return 0;
      return Number((await client.query<{ n: string }>(`SELECT COUNT(*) AS n FROM "${table}"`)).rows[0]?.n);
    } finally {
      await client.end();
    }
  };
  const migrateArgs = (prefix = PREFIX): string[] => [
    'storage',
    'migrate',
    '--data-dir',
    ts.dataDir,
    '--blob-store',
    `s3://${s3.bucket}/${prefix}`,
    '--s3-endpoint',
    s3.endpoint,
    '--s3-force-path-style',
    '--database-url',
    withPassword(),
  ];
  const target = (prefix = PREFIX) => ({
    blobStore: `s3://${s3.bucket}/${prefix}`,
    s3Endpoint: s3.endpoint,
    s3ForcePathStyle: true,
    maxConnections: 0,
  });
  /** A run cut short by the first progress line of `part` past half way (the lines come at each tenth). */
  const interruptedAt = (part: string) => (line: string) => {
    const done = new RegExp(`^${part}: (\\d+) of (\\d+) `).exec(line);
    if (done && Number(done[1]) >= Number(done[2]) / 2) throw new Interrupted(line);
  };
  /** The database's URL with a password in it (the engines here trust loopback), which must never be printed. */
  const withPassword = (): string => {
    const url = new URL(pg.url);
    url.password = 'hunter2-secret';
    return url.toString();
  };

  // Starting PostgreSQL (PGlite compiles its WebAssembly build), s3rver and a server is setup, not what is tested.
  beforeAll(async () => {
    pg = await startTestPostgres();
    s3 = await startS3('nxsc-migrate-pg');
    Object.assign(process.env, s3.env);
    ts = await startOpsServer({ retentionInterval: 0 });
    ({ rw, ro, wsId } = await workspaceWithTokens(ts));
    await api(ts, 'POST', '/workspaces', { org: 'acme', name: 'docs' });
    for (let i = 0; i < 24; i++) {
      const body = randomBytes(i === 0 ? 0 : 1000 + i);
      bodies.set(`hash${i}`, body);
      expect((await http(`${ts.url}/v1/cache/hash${i}`, { method: 'PUT', token: rw, raw: body })).status).toBe(200);
    }
    await ts.server.close();
    const db = new Database(join(ts.dataDir, 'metadata.sqlite'), { fileMustExist: true });
    try {
      for (const table of ['entries', 'tokens', 'audit', 'workspaces', 'organisations'])
        sourceCounts.set(table, Number((db.get(`SELECT COUNT(*) AS n FROM ${table}`) as { n: number }).n));
    } finally {
      db.close();
    }
    expect(sourceCounts.get('entries')).toBe(24);
    expect(sourceCounts.get('audit')).toBeGreaterThan(3);
  }, 60_000);
  afterAll(async () => {
    rmSync(ts.dataDir, { recursive: true, force: true });
    process.env = savedEnv;
    await s3.stop();
    await pg.stop();
  });

  it('finishes what runs cut short in the blobs and in the metadata left, prints progress and verifies', async () => {
    await expect(
      migrateStorage({
        dataDir: ts.dataDir,
        target: target(),
        databaseUrl: pg.url,
        progress: interruptedAt('migrate blobs'),
      }),
    ).rejects.toBeInstanceOf(Interrupted);
    const copiedBeforeCut = (await s3.objectKeys(`${PREFIX}/ws_`)).length;
    expect(copiedBeforeCut).toBeGreaterThanOrEqual(12);
    expect(copiedBeforeCut).toBeLessThan(24);
    expect(await pgCount('entries')).toBe(0);

    await expect(
      migrateStorage({
        dataDir: ts.dataDir,
        target: target(),
        databaseUrl: pg.url,
        progress: interruptedAt('migrate metadata'),
      }),
    ).rejects.toBeInstanceOf(Interrupted);
    // Each table is one transaction: whole or empty, never half.
    for (const [table, count] of sourceCounts) expect([0, count]).toContain(await pgCount(table));

    const run = await cli(...migrateArgs(), '--json');
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout) as {
      blobs: { copied: number; alreadyThere: number; verified: number; failed: string[] };
      metadata: { rows: number; copied: number; alreadyThere: number; verified: number; failed: string[] };
    };
    expect(result.blobs.alreadyThere).toBe(24);
    expect(result.blobs).toMatchObject({ copied: 0, verified: 24, failed: [] });
    expect(result.metadata.copied).toBeGreaterThan(0);
    expect(result.metadata.alreadyThere).toBeGreaterThan(0);
    expect(result.metadata.copied + result.metadata.alreadyThere).toBe(result.metadata.rows);
    expect(result.metadata).toMatchObject({ verified: result.metadata.rows, failed: [] });
    expect(run.stderr).toMatch(/^migrate blobs: 24 of 24 entries/m);
    expect(run.stderr).toMatch(
      new RegExp(`^migrate metadata: ${result.metadata.rows} of ${result.metadata.rows} rows$`, 'm'),
    );
    expect(run.stderr).toMatch(/^verify metadata: (\d+) of \1 tables$/m);
    for (const [table, count] of sourceCounts) expect(await pgCount(table)).toBe(count);
    expect(run.stdout + run.stderr).not.toContain('hunter2-secret');
  });

  it('gives a server on the database and the bucket the same entries, tokens and audit, and new rows after them', async () => {
    const server = await buildServer({
      dataDir: makeTempDir('nxsc-migrated-'),
      databaseUrl: pg.url,
      blobStore: `s3://${s3.bucket}/${PREFIX}`,
      s3Endpoint: s3.endpoint,
      s3ForcePathStyle: true,
      retentionInterval: 0,
      port: 0,
      logLevel: false,
    });
    try {
      const url = server.url as string;
      for (const [hash, body] of bodies) {
        const res = await request(`${url}/v1/cache/${hash}`, { headers: { authorization: `Bearer ${ro}` } });
        expect(res.statusCode).toBe(200);
        expect(Buffer.from(await res.body.arrayBuffer()).equals(body)).toBe(true);
      }
      const audit = await http(`${url}/api/v1/audit?limit=1000`, { token: ts.adminToken });
      expect(audit.status).toBe(200);
      expect(audit.json<unknown[]>()).toHaveLength(sourceCounts.get('audit') ?? -1);
      // New rows get ids past the copied ones (the identity sequences moved): an entry, a token, audit.
      expect(
        (await http(`${url}/v1/cache/after-move`, { method: 'PUT', token: rw, raw: randomBytes(10) })).status,
      ).toBe(200);
      const minted = await http(`${url}/api/v1/tokens`, {
        method: 'POST',
        token: ts.adminToken,
        body: { kind: 'ci', workspaceId: wsId, access: 'read' },
      });
      expect(minted.status).toBe(201);
      expect(await pgCount('entries')).toBe(25);
      expect(await pgCount('tokens')).toBe((sourceCounts.get('tokens') ?? 0) + 1);
      expect(await pgCount('audit')).toBeGreaterThan(sourceCounts.get('audit') ?? Infinity);
    } finally {
      await server.close();
    }
  });

  it('refuses a database that holds rows the data directory does not have', async () => {
    const run = await cli(...migrateArgs());
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('ERR_MIGRATE_TARGET_NOT_EMPTY');
    expect(await pgCount('entries')).toBe(25);
  });

  it('copies no metadata when a blob changed in the data directory, names it and exits 1', async () => {
    await pg.reset();
    const db = new Database(join(ts.dataDir, 'metadata.sqlite'), { fileMustExist: true });
    const { blob_key: blobKey, size } = db.get(`SELECT blob_key, size FROM entries WHERE hash = 'hash5'`) as {
      blob_key: string;
      size: number;
    };
    db.close();
    writeFileSync(join(ts.dataDir, 'blobs', ...blobKey.split('/')), randomBytes(Number(size)));
    const run = await cli(...migrateArgs('changed'));
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('ERR_MIGRATE_VERIFY_FAILED');
    expect(run.stderr).toContain(blobKey);
    expect(run.stderr).toContain('no metadata was copied');
    expect(await pgCount('entries')).toBe(0);
    expect(await s3.objectKeys('changed/ws_')).toHaveLength(23);
  });
});
