/** Migration 005 on a data dir from before it: which organisation owns each existing bot. */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Kysely, Migrator } from 'kysely';
import { Database as WasmDatabase } from 'node-sqlite3-wasm';
import { migrationProvider } from '../../../src/server/metadata/migrations';
import { openSqliteMetadataStore } from '../../../src/server/metadata/sqlite-metadata-store';
import { WasmSqliteDialect } from '../../../src/server/metadata/sqlite-wasm-dialect';
import { makeTempDir } from './test-server';

it('gives a bot in exactly one organisation to it, and leaves a bot in two or none to no one', async () => {
  const dataDir = makeTempDir('nxsc-tenancy-');
  const file = join(dataDir, 'metadata.sqlite');
  try {
    const db = new Kysely<any>({ dialect: new WasmSqliteDialect(new WasmDatabase(file)) }); // eslint-disable-line @typescript-eslint/no-explicit-any
    const { error } = await new Migrator({ db, provider: migrationProvider }).migrateTo('004-web-sign-in');
    if (error !== undefined) throw error;
    const at = '2030-01-01T00:00:00.000Z';
    for (const id of ['org_a', 'org_b'])
      await db.insertInto('organisations').values({ id, name: id, public: 0, created_at: at }).execute();
    for (const [id, bot] of [
      ['usr_person', 0],
      ['usr_one', 1],
      ['usr_two', 1],
      ['usr_none', 1],
    ] as const)
      await db.insertInto('users').values({ id, name: id, bot, server_admin: 0, created_at: at }).execute();
    for (const [org, user] of [
      ['org_a', 'usr_person'],
      ['org_a', 'usr_one'],
      ['org_a', 'usr_two'],
      ['org_b', 'usr_two'],
    ]) {
      await db
        .insertInto('memberships')
        .values({ org_id: org, user_id: user, role: 'member', created_at: at })
        .execute();
    }
    await db.destroy();
    const store = await openSqliteMetadataStore(file);
    try {
      const owners = Object.fromEntries(
        await Promise.all(
          ['usr_person', 'usr_one', 'usr_two', 'usr_none'].map(async (id) => [
            id,
            (await store.findUser(id))?.ownerOrgId,
          ]),
        ),
      ) as Record<string, string | null>;
      expect(owners).toEqual({ usr_person: null, usr_one: 'org_a', usr_two: null, usr_none: null });
    } finally {
      await store.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
