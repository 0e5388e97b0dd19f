/**
 * `admin init`: creates the first server administrator directly in the data dir, with the server stopped
 * (a running server holds the database's lock for its whole life), or in PostgreSQL (`databaseUrl`),
 * where replicas may be running. `npm start` runs it first when needed.
 */
import { isSealedCacheError, SealedCacheError } from '../errors';
import { type Clock, systemClock } from './clock';
import { acquireDataDirLock, type DataDirLock, removeStaleSqliteLock } from './data-dir-lock';
import { dataDirLayout, ensureDataDir } from './data-dir';
import { newUserId } from './ids';
import type { MetadataStore } from './metadata/metadata-store';
import { openPostgresMetadataStore } from './metadata/postgres-metadata-store';
import { openSqliteMetadataStore } from './metadata/sqlite-metadata-store';
import type { User } from './metadata/records';
import { AuditLog } from './services/audit-log';
import { TokenService } from './services/token-service';

export interface AdminInitResult {
  user: Pick<User, 'id' | 'name'>;
  /** The admin token, shown once. */
  token: string;
  tokenId: string;
}

export async function initialiseAdmin(options: {
  dataDir: string;
  /** The shared PostgreSQL store instead of the data dir's SQLite file. */
  databaseUrl?: string;
  name?: string;
  clock?: Clock;
}): Promise<AdminInitResult> {
  const clock = options.clock ?? systemClock;
  const name = options.name ?? 'admin';
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(name)) {
    throw new SealedCacheError(
      'ERR_INPUT_INVALID',
      'the admin name must be letters, digits, ".", "_" or "-" (at most 100)',
    );
  }
  if (options.databaseUrl !== undefined) {
    const store = await openPostgresMetadataStore(options.databaseUrl, { poolSize: 1 });
    try {
      return await createFirstAdmin(store, name, clock, 'the metadata database');
    } finally {
      await store.close();
    }
  }
  const layout = dataDirLayout(options.dataDir);
  ensureDataDir(layout);
  const lock = lockForAdminInit(layout.lockFile);
  try {
    removeStaleSqliteLock(layout.metadataFile);
    const store = await openSqliteMetadataStore(layout.metadataFile);
    try {
      return await createFirstAdmin(store, name, clock, `the data directory ${layout.root}`);
    } finally {
      await store.close();
    }
  } finally {
    lock.release();
  }
}

async function createFirstAdmin(
  store: MetadataStore,
  name: string,
  clock: Clock,
  where: string,
): Promise<AdminInitResult> {
  if (await store.hasServerAdmin()) {
    throw new SealedCacheError(
      'ERR_ADMIN_ALREADY_INITIALISED',
      `${where} already has an administrator; create more admin tokens with \`token create --kind admin\``,
    );
  }
  const user: User = {
    id: newUserId(),
    name,
    bot: false,
    serverAdmin: true,
    ownerOrgId: null,
    createdAt: clock().toISOString(),
  };
  if ((await store.insertUser(user)) === 'exists') {
    throw new SealedCacheError('ERR_USER_EXISTS', `a user named "${name}" already exists; pick another --name`);
  }
  const audit = new AuditLog(store, clock);
  const issued = await new TokenService(store, audit, clock).issue(
    {
      kind: 'admin',
      name: 'initial admin token',
      workspaceId: null,
      userId: user.id,
      access: null,
      expiresIn: 'never',
    },
    { tokenId: null, userId: user.id },
    null,
  );
  await audit.record({
    action: 'admin.initialised',
    actor: { tokenId: null, userId: user.id },
    targetId: user.id,
    details: { name },
  });
  return { user: { id: user.id, name: user.name }, token: issued.secret, tokenId: issued.record.id };
}

/** The data-dir lock; a running server holds it, and the message says what to do then. */
function lockForAdminInit(lockFile: string): DataDirLock {
  try {
    return acquireDataDirLock(lockFile);
  } catch (err) {
    if (!isSealedCacheError(err, 'ERR_DATA_DIR_LOCKED')) throw err;
    throw new SealedCacheError(
      'ERR_DATA_DIR_LOCKED',
      `${err.message}: stop the server, run \`admin init\`, then start it again`,
      { cause: err },
    );
  }
}
