import { type Kysely, type Migration, sql } from 'kysely';

/**
 * A run's failed tasks counted apart from its misses: `misses` had counted both, so the Runs page's Misses said
 * a task missed the cache when it had failed. Rows stored before are recounted from their own task rows.
 */
export const runFailedTasks: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .alterTable('runs')
      .addColumn('failed', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();
    await sql`UPDATE runs SET failed = (SELECT COUNT(*) FROM run_tasks WHERE run_tasks.run_id = runs.id AND run_tasks.status = 'failed')`.execute(
      db,
    );
    await sql`UPDATE runs SET misses = misses - failed`.execute(db);
  },
};
