import { type Kysely, type Migration, sql } from 'kysely';

/**
 * Write tiers and provenance (CVE-2025-36852): a token's tier and mint scope, the workspace's
 * policy for personal tokens and isolated retention, and entry quarantine.
 * Existing tokens get no tier, which reads as the safe one (isolated) for CI tokens.
 */
export const writeTiers: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .alterTable('tokens')
      .addColumn('tier', 'text', (c) => c.check(sql`tier in ('trusted', 'isolated')`))
      .execute();
    await db.schema.alterTable('tokens').addColumn('scope', 'text').execute();
    await db.schema
      .alterTable('workspaces')
      .addColumn('personal_token_tier', 'text', (c) =>
        c
          .notNull()
          .defaultTo('isolated')
          .check(sql`personal_token_tier in ('trusted', 'isolated')`),
      )
      .execute();
    await db.schema
      .alterTable('workspaces')
      .addColumn('isolated_retention', 'text', (c) => c.notNull().defaultTo('7d'))
      .execute();
    await db.schema.alterTable('entries').addColumn('quarantined_at', 'text').execute();
    await db.schema
      .createIndex('entries_workspace_created_idx')
      .on('entries')
      .columns(['workspace_id', 'created_at'])
      .execute();
    await db.schema.createIndex('entries_writer_token_idx').on('entries').column('writer_token_id').execute();
  },
};
