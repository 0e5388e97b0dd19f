import { type Kysely, type Migration, sql } from 'kysely';
import { autoIdColumn } from './engine-neutral';

export const initialSchema: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('organisations')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull().unique())
      .addColumn('public', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('users')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull().unique())
      .addColumn('bot', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('server_admin', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('memberships')
      .addColumn('org_id', 'text', (c) => c.notNull().references('organisations.id').onDelete('cascade'))
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('role', 'text', (c) => c.notNull().check(sql`role in ('admin', 'member')`))
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('memberships_pk', ['org_id', 'user_id'])
      .execute();
    await db.schema
      .createTable('workspaces')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('org_id', 'text', (c) => c.notNull().references('organisations.id').onDelete('cascade'))
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('anonymous_access', 'text', (c) =>
        c.notNull().check(sql`anonymous_access in ('none', 'read', 'read-write')`),
      )
      .addColumn('member_default_access', 'text', (c) =>
        c.notNull().check(sql`member_default_access in ('read', 'read-write')`),
      )
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addUniqueConstraint('workspaces_org_name_unique', ['org_id', 'name'])
      .execute();
    await db.schema
      .createTable('member_workspace_access')
      .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id').onDelete('cascade'))
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('access', 'text', (c) => c.notNull().check(sql`access in ('none', 'read', 'read-write')`))
      .addPrimaryKeyConstraint('member_workspace_access_pk', ['workspace_id', 'user_id'])
      .execute();
    await db.schema
      .createTable('tokens')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('ci', 'personal', 'admin')`))
      .addColumn('name', 'text')
      .addColumn('token_hash', 'text', (c) => c.notNull().unique())
      .addColumn('workspace_id', 'text', (c) => c.references('workspaces.id').onDelete('cascade'))
      .addColumn('user_id', 'text', (c) => c.references('users.id').onDelete('cascade'))
      .addColumn('access', 'text', (c) => c.check(sql`access in ('read', 'read-write')`))
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('created_by_token_id', 'text')
      .addColumn('expires_at', 'text')
      .addColumn('revoked_at', 'text')
      .addColumn('rotated_at', 'text')
      .addColumn('last_used_at', 'text')
      .execute();
    await db.schema.createIndex('tokens_user_idx').on('tokens').column('user_id').execute();
    await db.schema.createIndex('tokens_workspace_idx').on('tokens').column('workspace_id').execute();
    await db.schema
      .createTable('entries')
      .$call(autoIdColumn(db))
      .addColumn('workspace_id', 'text', (c) => c.notNull())
      .addColumn('namespace', 'text', (c) => c.notNull())
      .addColumn('hash', 'text', (c) => c.notNull())
      .addColumn('blob_key', 'text', (c) => c.notNull())
      // bigint: artifacts can pass 2 GiB (SQLite's integer is 64-bit already; PostgreSQL's is not).
      .addColumn('size', 'bigint', (c) => c.notNull())
      .addColumn('sha256', 'text', (c) => c.notNull())
      .addColumn('writer_token_id', 'text')
      .addColumn('writer_user_id', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('last_access_at', 'text', (c) => c.notNull())
      .addUniqueConstraint('entries_key_unique', ['workspace_id', 'namespace', 'hash'])
      .execute();
    await db.schema
      .createTable('audit')
      .$call(autoIdColumn(db))
      .addColumn('at', 'text', (c) => c.notNull())
      .addColumn('action', 'text', (c) => c.notNull())
      .addColumn('actor_token_id', 'text')
      .addColumn('actor_user_id', 'text')
      .addColumn('org_id', 'text')
      .addColumn('workspace_id', 'text')
      .addColumn('target_id', 'text')
      .addColumn('details', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('audit_org_at_idx').on('audit').columns(['org_id', 'at']).execute();
    await db.schema.createIndex('audit_at_idx').on('audit').column('at').execute();
  },
};
