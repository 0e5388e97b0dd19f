import type { Kysely, Migration } from 'kysely';

/** Retention: least-recently-used order and the orphan-blob check are index lookups, not table scans. */
export const operations: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.createIndex('entries_last_access_idx').on('entries').columns(['last_access_at', 'id']).execute();
    await db.schema.createIndex('entries_blob_key_idx').on('entries').column('blob_key').execute();
  },
};
