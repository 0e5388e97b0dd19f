/** The embedded metadata store: one SQLite file in the data dir (WebAssembly SQLite, nothing to compile). */
import { Kysely } from 'kysely';
import { Database as WasmDatabase } from 'node-sqlite3-wasm';
import { SealedCacheError } from '../../errors';
import { openKyselyMetadataStore } from './kysely-metadata-store';
import type { MetadataStore } from './metadata-store';
import type { MetadataDatabase } from './schema';
import { LookupCache, WriteGenerations } from './lookup-cache';
import { WasmSqliteDialect } from './sqlite-wasm-dialect';

export interface OpenSqliteOptions {
  /**
   * Hold SQLite's file lock for the life of the connection. node-sqlite3-wasm locks by creating and
   * removing a directory around every statement (about 1.6 ms here, against microseconds when held),
   * so the server, the database's only user, holds it; short-lived tools do not.
   */
  exclusive?: boolean;
}

/** Opens (creating if needed) the SQLite file, sets durability pragmas and runs pending migrations. */
export async function openSqliteMetadataStore(file: string, options: OpenSqliteOptions = {}): Promise<MetadataStore> {
  let wasm: WasmDatabase;
  try {
    wasm = new WasmDatabase(file);
    // Rollback journal (WAL needs shared memory the WASM build lacks); FULL fsyncs every commit.
    wasm.exec('PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;');
    if (options.exclusive === true) wasm.exec('PRAGMA locking_mode = EXCLUSIVE;');
  } catch (err) {
    throw new SealedCacheError('ERR_DATABASE_FAILED', `cannot open the metadata database ${file}`, { cause: err });
  }
  if (options.exclusive !== true)
    return openKyselyMetadataStore(new Kysely<MetadataDatabase>({ dialect: new WasmSqliteDialect(wasm) }), 'sqlite');
  // Held exclusively, the file is written by this connection alone, so lookups can be remembered.
  const generations = new WriteGenerations();
  return openKyselyMetadataStore(
    new Kysely<MetadataDatabase>({ dialect: new WasmSqliteDialect(wasm, generations) }),
    'sqlite',
    new LookupCache(generations),
  );
}
