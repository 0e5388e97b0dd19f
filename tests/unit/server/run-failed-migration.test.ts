/** Migration 016 on a data dir from before it: a stored run's failed tasks move out of its misses. */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Kysely, Migrator, sql } from 'kysely';
import { Database as WasmDatabase } from 'node-sqlite3-wasm';
import { migrationProvider } from '../../../src/server/metadata/migrations';
import { openSqliteMetadataStore } from '../../../src/server/metadata/sqlite-metadata-store';
import { WasmSqliteDialect } from '../../../src/server/metadata/sqlite-wasm-dialect';
import { makeTempDir } from './test-server';

it('recounts the misses and failures of runs stored before, from their own task rows', async () => {
  const dataDir = makeTempDir('nxsc-run-failed-');
  const file = join(dataDir, 'metadata.sqlite');
  try {
    const db = new Kysely<any>({ dialect: new WasmSqliteDialect(new WasmDatabase(file)) }); // eslint-disable-line @typescript-eslint/no-explicit-any
    const { error } = await new Migrator({ db, provider: migrationProvider }).migrateTo('015-shared-limits');
    if (error !== undefined) throw error;
    const at = '2030-01-01T00:00:00.000Z';
    // The run's workspace does not matter here.
    await sql`PRAGMA foreign_keys = OFF`.execute(db);
    // Before 016, `misses` counted every task that was no hit: here one miss and two failures.
    await db
      .insertInto('runs')
      .values({
        id: 'run_old',
        workspace_id: 'ws_1',
        reported_at: at,
        started_at: null,
        ended_at: null,
        client: 'plugin',
        nx_version: '24.0.6',
        principal_kind: 'ci',
        token_id: 'tok_1',
        user_id: null,
        reporter: 'CI token “main”',
        namespace: 'shared',
        tasks: 4,
        local_hits: 0,
        remote_hits: 1,
        misses: 3,
        saved_ms: 0,
        saved_unknown: 1,
      })
      .execute();
    const statuses = ['remote-hit', 'miss', 'failed', 'failed'];
    await db
      .insertInto('run_tasks')
      .values(
        statuses.map((status, position) => ({
          run_id: 'run_old',
          position,
          workspace_id: 'ws_1',
          task_id: `p${position}:build`,
          project: `p${position}`,
          target: 'build',
          hash: String(100 + position),
          status,
          duration_ms: 10,
          saved_ms: null,
          namespace: 'shared',
          reported_at: at,
        })),
      )
      .execute();
    await db.destroy();
    const store = await openSqliteMetadataStore(file);
    try {
      expect((await store.runs.listRuns('ws_1', 1))[0]).toMatchObject({
        tasks: 4,
        remoteHits: 1,
        misses: 1,
        failed: 2,
      });
    } finally {
      await store.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
