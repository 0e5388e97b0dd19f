import { type Kysely, type Migration, sql } from 'kysely';

/**
 * Tenancy: a bot belongs to exactly one organisation (`users.owner_org_id`), and adding an existing
 * user to an organisation is an invitation that user accepts (`org_invitations`).
 * Existing bots that are members of exactly one organisation are owned by it; any other bot is owned
 * by none, which only a server administrator can manage (the safe reading of an ambiguous past).
 */
export const tenancy: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .alterTable('users')
      .addColumn('owner_org_id', 'text', (c) => c.references('organisations.id').onDelete('set null'))
      .execute();
    await sql`
      update users set owner_org_id = (select m.org_id from memberships m where m.user_id = users.id)
      where bot = 1 and (select count(*) from memberships m where m.user_id = users.id) = 1
    `.execute(db);
    await db.schema
      .createTable('org_invitations')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('org_id', 'text', (c) => c.notNull().references('organisations.id').onDelete('cascade'))
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('role', 'text', (c) => c.notNull().check(sql`role in ('admin', 'member')`))
      .addColumn('created_by_user_id', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'text', (c) => c.notNull())
      .addColumn('answered_at', 'text')
      .addColumn('accepted', 'integer')
      .execute();
    await db.schema.createIndex('org_invitations_user_idx').on('org_invitations').column('user_id').execute();
  },
};
