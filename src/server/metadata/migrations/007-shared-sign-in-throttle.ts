import type { Kysely, Migration } from 'kysely';

/**
 * Failed sign-ins per account and per client address, kept in the database so that every replica
 * sharing it counts the same guesses and honours the same lockout. Rows are forgotten an hour after
 * their last failure, and deleted on a successful sign-in.
 */
export const sharedSignInThrottle: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('sign_in_failures')
      // `account:<name>` or `address:<ip>`.
      .addColumn('key', 'text', (c) => c.primaryKey())
      .addColumn('failures', 'integer', (c) => c.notNull())
      .addColumn('last_at', 'text', (c) => c.notNull())
      .addColumn('locked_until', 'text')
      .execute();
  },
};
