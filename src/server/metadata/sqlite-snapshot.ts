/**
 * A consistent copy of the embedded SQLite database while the server uses it: `VACUUM INTO` on the
 * server's own connection (one read transaction, so the copy is one moment of the database). The server
 * holds SQLite's lock for its whole life, so no other process can take this copy without it.
 */
import { sql } from 'kysely';
import { SealedCacheError } from '../../errors';
import type { MetadataStore } from './metadata-store';
import { SqliteMetadataStore } from './sqlite-metadata-store';

export async function snapshotMetadataInto(store: MetadataStore, file: string): Promise<void> {
  if (!(store instanceof SqliteMetadataStore)) {
    throw new SealedCacheError(
      'ERR_INPUT_INVALID',
      "this server's metadata is not the embedded SQLite database; back it up with its own tools (docs/operations.md)",
    );
  }
  try {
    await sql`VACUUM INTO ${file}`.execute(store.connection);
  } catch (err) {
    throw new SealedCacheError('ERR_DATABASE_FAILED', 'copying the metadata database failed', { cause: err });
  }
}
