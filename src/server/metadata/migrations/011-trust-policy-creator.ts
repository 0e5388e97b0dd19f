import type { Kysely, Migration } from 'kysely';

/**
 * Who created a trust policy, as a person: a policy added on the admin page has no token behind it, and
 * the workspace page shows each policy's creator. Older rows have only the token id (or nothing).
 */
export const trustPolicyCreator: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('ci_trust_policies').addColumn('created_by_user_id', 'text').execute();
  },
};
