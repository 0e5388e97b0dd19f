import { type Kysely, type Migration, sql } from 'kysely';

/**
 * CI identity (OIDC): per-workspace trust policies (issuer, audience, rules as JSON), the `jti` of every
 * exchanged identity token until it expires (replay refusal), and the claims that granted each exchanged
 * cache token (provenance: an entry's writer token leads to the job that wrote it).
 */
export const ciIdentity: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('ci_trust_policies')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id').onDelete('cascade'))
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('provider', 'text', (c) => c.notNull().check(sql`provider in ('github', 'gitlab', 'custom')`))
      .addColumn('issuer', 'text', (c) => c.notNull())
      .addColumn('audience', 'text', (c) => c.notNull())
      .addColumn('jwks_url', 'text')
      .addColumn('jwks', 'text')
      .addColumn('rules', 'text', (c) => c.notNull())
      .addColumn('token_lifetime', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('created_by_token_id', 'text')
      .addUniqueConstraint('ci_trust_policies_name_uq', ['workspace_id', 'name'])
      .execute();
    await db.schema
      .createTable('ci_identity_jtis')
      .addColumn('issuer', 'text', (c) => c.notNull())
      .addColumn('jti', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('ci_identity_jtis_pk', ['issuer', 'jti'])
      .execute();
    await db.schema
      .createTable('ci_identity_grants')
      .addColumn('token_id', 'text', (c) => c.primaryKey())
      .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id').onDelete('cascade'))
      .addColumn('policy_id', 'text', (c) => c.notNull())
      .addColumn('issuer', 'text', (c) => c.notNull())
      .addColumn('subject', 'text', (c) => c.notNull())
      .addColumn('summary', 'text', (c) => c.notNull())
      .addColumn('claims', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
  },
};
