import type { Kysely, Migration } from 'kysely';

/**
 * One-shot form nonces (forms whose answer shows a secret), kept in the database so that a reload
 * sent to another replica is refused too. Only the hash of the session and the nonce is kept.
 */
export const sharedFormNonces: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('web_form_nonces')
      .addColumn('key_hash', 'text', (c) => c.primaryKey())
      .addColumn('used_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('web_form_nonces_used_at_idx').on('web_form_nonces').column('used_at').execute();
  },
};
