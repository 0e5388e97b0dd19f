import type { Kysely, Migration } from 'kysely';

/**
 * Rate-limit and byte-quota use per key and fixed window, so replicas sharing a PostgreSQL count one
 * budget (limits/shared-window-counter.ts). Each replica adds what it counted about once a second; rows
 * of windows that ended are deleted by the replicas as they go.
 */
export const sharedLimits: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('limit_windows')
      // `requests`, `bytes` or `auth-failures`.
      .addColumn('counter', 'text', (c) => c.notNull())
      // The limit's key: a hash of the Authorization header, or a client address.
      .addColumn('key', 'text', (c) => c.notNull())
      // The window's start, in milliseconds since 1970 (a multiple of the window's length).
      .addColumn('window_start', 'bigint', (c) => c.notNull())
      .addColumn('used', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('limit_windows_pk', ['counter', 'key', 'window_start'])
      .execute();
  },
};
