import { createHash } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kysely, Migrator } from 'kysely';
import { Database as WasmDatabase } from 'node-sqlite3-wasm';
import { generateToken, hashToken } from '../../../src/server/auth/token-format';
import { newOrgId, newTokenId, newUserId, newWorkspaceId } from '../../../src/server/ids';
import { migrationProvider } from '../../../src/server/metadata/migrations';
import { WasmSqliteDialect } from '../../../src/server/metadata/sqlite-wasm-dialect';
import { startOpsServer } from './ops-test-kit';
import { http, makeTempDir } from './test-server';

/** A data dir as the first release left it: schema 001 only, real rows, and a stored entry with its blob. */
async function schema001DataDir(): Promise<{
  dataDir: string;
  adminToken: string;
  ciToken: string;
  wsId: string;
  artifact: Buffer;
}> {
  const dataDir = makeTempDir('nxsc-ops-');
  const wasm = new WasmDatabase(join(dataDir, 'metadata.sqlite'));
  const db = new Kysely<any>({ dialect: new WasmSqliteDialect(wasm) }); // eslint-disable-line @typescript-eslint/no-explicit-any
  const { error } = await new Migrator({ db, provider: migrationProvider }).migrateTo('001-initial-schema');
  if (error !== undefined) throw error;
  const at = '2029-06-01T00:00:00.000Z';
  const [orgId, userId, wsId] = [newOrgId(), newUserId(), newWorkspaceId()];
  const adminToken = generateToken('admin');
  const ciToken = generateToken('ci');
  const artifact = Buffer.from('bytes stored by the first release');
  await db.insertInto('organisations').values({ id: orgId, name: 'acme', public: 0, created_at: at }).execute();
  await db.insertInto('users').values({ id: userId, name: 'root', bot: 0, server_admin: 1, created_at: at }).execute();
  await db
    .insertInto('workspaces')
    .values({
      id: wsId,
      org_id: orgId,
      name: 'web',
      anonymous_access: 'none',
      member_default_access: 'read',
      created_at: at,
    })
    .execute();
  const token = (id: string, kind: string, value: string, extra: object) => ({
    id,
    kind,
    name: null,
    token_hash: hashToken(value),
    created_at: at,
    created_by_token_id: null,
    expires_at: null,
    revoked_at: null,
    rotated_at: null,
    last_used_at: null,
    workspace_id: null,
    user_id: null,
    access: null,
    ...extra,
  });
  await db
    .insertInto('tokens')
    .values(token(newTokenId(), 'admin', adminToken, { user_id: userId }))
    .execute();
  await db
    .insertInto('tokens')
    .values(token(newTokenId(), 'ci', ciToken, { workspace_id: wsId, access: 'read-write' }))
    .execute();
  const blobKey = `${wsId}/shared/old-hash.u1`;
  mkdirSync(join(dataDir, 'blobs', wsId, 'shared'), { recursive: true });
  writeFileSync(join(dataDir, 'blobs', ...blobKey.split('/')), artifact);
  await db
    .insertInto('entries')
    .values({
      workspace_id: wsId,
      namespace: 'shared',
      hash: 'old-hash',
      blob_key: blobKey,
      size: artifact.length,
      sha256: createHash('sha256').update(artifact).digest('hex'),
      writer_token_id: null,
      writer_user_id: null,
      created_at: at,
      last_access_at: at,
    })
    .execute();
  await db.destroy();
  return { dataDir, adminToken, ciToken, wsId, artifact };
}

describe('upgrading a data directory', () => {
  it('runs the newer migrations on a schema-001 data dir and keeps its rows, tokens and entries working', async () => {
    const old = await schema001DataDir();
    const ts = await startOpsServer({ dataDir: old.dataDir, adminToken: old.adminToken, retentionInterval: 0 });
    try {
      const orgs = (await http(`${ts.url}/api/v1/orgs`, { token: old.adminToken })).json<
        { name: string }[] | { orgs: { name: string }[] }
      >();
      expect(JSON.stringify(orgs)).toContain('"acme"');
      const workspace = await http(`${ts.url}/api/v1/workspaces/${old.wsId}`, { token: old.adminToken });
      expect(workspace.status).toBe(200);
      const hit = await http(`${ts.url}/v1/cache/old-hash`, { token: old.ciToken });
      expect(hit.status).toBe(200);
      expect(hit.text).toBe(old.artifact.toString());
      expect(
        (await http(`${ts.url}/v1/cache/old-hash`, { method: 'PUT', token: old.ciToken, raw: 'again' })).status,
      ).toBe(409);
      expect(
        (await http(`${ts.url}/v1/cache/new-hash`, { method: 'PUT', token: old.ciToken, raw: 'new' })).status,
      ).toBe(200);
      const stats = (await http(`${ts.url}/api/v1/stats`, { token: old.adminToken })).json<{
        storage: { entries: number };
      }>();
      expect(stats.storage.entries).toBe(2);
      expect(await ts.server.context.store.appliedMigrations()).toEqual(
        Object.keys(await migrationProvider.getMigrations()).sort(),
      );
    } finally {
      await ts.stop();
      rmSync(old.dataDir, { recursive: true, force: true });
    }
  });
});
