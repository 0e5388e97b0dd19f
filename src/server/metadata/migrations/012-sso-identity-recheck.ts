import type { Kysely, Migration } from 'kysely';

/**
 * Access that ends with the identity: which SSO identity (provider key + `sub`) each token was made
 * through, the approving identity of a CLI login request (its token is issued at the next poll), and
 * per identity its provider refresh token (sealed, never in clear), when it was last confirmed and when
 * a re-check failed. An organisation's sign-in policy gains the re-check interval. Portable columns only.
 */
export const ssoIdentityRecheck: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('sso_token_links')
      .addColumn('token_id', 'text', (c) => c.primaryKey().references('tokens.id').onDelete('cascade'))
      .addColumn('provider', 'text', (c) => c.notNull())
      .addColumn('subject', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('sso_token_links_identity')
      .on('sso_token_links')
      .columns(['provider', 'subject'])
      .execute();
    await db.schema.alterTable('identities').addColumn('refresh_token_sealed', 'text').execute();
    await db.schema.alterTable('identities').addColumn('checked_at', 'text').execute();
    await db.schema.alterTable('identities').addColumn('recheck_failed_at', 'text').execute();
    await db.schema.alterTable('login_requests').addColumn('sso_provider', 'text').execute();
    await db.schema.alterTable('login_requests').addColumn('sso_subject', 'text').execute();
    await db.schema.alterTable('org_sign_in_policies').addColumn('recheck_interval_s', 'integer').execute();
  },
};
