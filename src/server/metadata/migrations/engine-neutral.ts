/**
 * The few column definitions that SQLite and PostgreSQL spell differently, so every migration
 * produces the same schema on both (the rules are in CONTRIBUTING.md, "Adding a migration").
 */
import { type CreateTableBuilder, type Kysely, PostgresAdapter } from 'kysely';

export function isPostgres(db: Kysely<unknown>): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}

/**
 * An auto-numbered `id` primary key: `integer primary key autoincrement` on SQLite (a rowid alias),
 * a bigint identity column on PostgreSQL. Use it as `createTable(…).$call(autoIdColumn(db))`.
 */
export function autoIdColumn(db: Kysely<unknown>) {
  return <TB extends string, C extends string>(table: CreateTableBuilder<TB, C>): CreateTableBuilder<TB, C | 'id'> =>
    isPostgres(db)
      ? table.addColumn('id', 'bigint', (c) => c.primaryKey().generatedByDefaultAsIdentity())
      : table.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement());
}
