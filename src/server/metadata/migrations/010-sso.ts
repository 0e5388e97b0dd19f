import { type Kysely, type Migration, sql } from 'kysely';

/**
 * Sign-in through an OIDC identity provider. The link from a provider identity (issuer + `sub`) to a
 * user reuses `identities` (provider `oidc:<issuer>`, subject = `sub`), which migration 004 made for
 * it. New here: the one-time sign-in attempts (state, nonce, PKCE verifier), an organisation's
 * sign-in policy, the email domains that may join an organisation, and how each session signed in.
 * Plain text columns and portable constraints only, so every metadata store can run it.
 */
export const sso: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('sso_attempts')
      .addColumn('state_hash', 'text', (c) => c.primaryKey())
      .addColumn('provider_id', 'text', (c) => c.notNull())
      .addColumn('browser_hash', 'text', (c) => c.notNull())
      .addColumn('code_verifier', 'text', (c) => c.notNull())
      .addColumn('nonce', 'text', (c) => c.notNull())
      .addColumn('next_path', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'text', (c) => c.notNull())
      .addColumn('used_at', 'text')
      .execute();
    await db.schema
      .createTable('org_sign_in_policies')
      .addColumn('org_id', 'text', (c) => c.primaryKey().references('organisations.id').onDelete('cascade'))
      .addColumn('required_provider', 'text')
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('org_join_domains')
      .addColumn('domain', 'text', (c) => c.primaryKey())
      .addColumn('org_id', 'text', (c) => c.notNull().references('organisations.id').onDelete('cascade'))
      .addColumn('role', 'text', (c) => c.notNull().check(sql`role in ('admin', 'member')`))
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('org_join_domains_org').on('org_join_domains').column('org_id').execute();
    await db.schema.alterTable('web_sessions').addColumn('provider', 'text').execute();
  },
};
