import type { Kysely, Migration } from 'kysely';

/**
 * Where a CLI login request came from (client address and user agent), shown on the approval page
 * so the person approving can tell their own terminal from someone else's. Older rows have none.
 */
export const loginRequestOrigin: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('login_requests').addColumn('client_address', 'text').execute();
    await db.schema.alterTable('login_requests').addColumn('user_agent', 'text').execute();
  },
};
