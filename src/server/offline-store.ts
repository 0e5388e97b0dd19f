/**
 * The metadata store opened directly from the data directory, for the commands a server administrator
 * runs on the server's own machine with the server stopped (`admin init`, `admin reset-token`,
 * `user set-password --data-dir`). A running server holds the data dir's lock for its whole life.
 */
import { existsSync } from 'node:fs';
import { isSealedCacheError, SealedCacheError } from '../errors';
import { acquireDataDirLock, type DataDirLock, removeStaleSqliteLock } from './data-dir-lock';
import { dataDirLayout, ensureDataDir } from './data-dir';
import type { MetadataStore } from './metadata/metadata-store';
import { FIRST_MIGRATION } from './metadata/migrations';
import { openPostgresMetadataStore } from './metadata/postgres-metadata-store';
import { openSqliteMetadataStore } from './metadata/sqlite-metadata-store';

export interface OfflineStoreOptions {
  dataDir: string;
  /** How the command is typed, for the message when the server still runs. */
  command: string;
  /** `admin init` may create the data directory; every other command needs an existing one. */
  create?: boolean;
  /** The metadata lives in PostgreSQL: no data-dir lock, since replicas share the database while serving. */
  databaseUrl?: string;
  /** Told the migrations this open applied to an existing database (an upgrade), which the server then won't log. */
  onMigrated?: (migrations: readonly string[]) => void;
}

/** The migrations an open applied to a database that already had a schema; a new database is no news. */
function reportUpgrade(store: MetadataStore, options: OfflineStoreOptions): void {
  const applied = store.migratedAtOpen;
  if (applied.length > 0 && applied[0] !== FIRST_MIGRATION) options.onMigrated?.(applied);
}

/** The line an offline command prints for `onMigrated`. */
export function describeMigrated(migrations: readonly string[]): string {
  return `metadata database migrated (${migrations.length}): ${migrations.join(', ')}`;
}

export async function withOfflineStore<T>(
  options: OfflineStoreOptions,
  use: (store: MetadataStore) => Promise<T>,
): Promise<T> {
  if (options.databaseUrl !== undefined) {
    const store = await openPostgresMetadataStore(options.databaseUrl, { poolSize: 1 });
    try {
      reportUpgrade(store, options);
      return await use(store);
    } finally {
      await store.close();
    }
  }
  const layout = dataDirLayout(options.dataDir);
  if (options.create === true) ensureDataDir(layout);
  else if (!existsSync(layout.metadataFile))
    throw new SealedCacheError(
      'ERR_INPUT_INVALID',
      `${options.dataDir} is not a server data directory (no metadata database)`,
    );
  const lock = lockFor(layout.lockFile, options.command);
  try {
    removeStaleSqliteLock(layout.metadataFile);
    const store = await openSqliteMetadataStore(layout.metadataFile);
    try {
      reportUpgrade(store, options);
      return await use(store);
    } finally {
      await store.close();
    }
  } finally {
    lock.release();
  }
}

/** The data-dir lock; a running server holds it, and the message says what to do then. */
function lockFor(lockFile: string, command: string): DataDirLock {
  try {
    return acquireDataDirLock(lockFile);
  } catch (err) {
    if (!isSealedCacheError(err, 'ERR_DATA_DIR_LOCKED')) throw err;
    throw new SealedCacheError(
      'ERR_DATA_DIR_LOCKED',
      `${err.message}: stop the server, run \`${command}\`, then start it again`,
      { cause: err },
    );
  }
}
