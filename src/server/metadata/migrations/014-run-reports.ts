import type { Kysely, Migration } from 'kysely';

/**
 * Run reports: what the plugin and the runner send at the end of each Nx run (task ids, hashes, cache
 * status, durations), one row per run and one per task, and per workspace whether it takes them. A task
 * row keeps the namespace its run wrote to, so a hit's original duration is looked up only among runs
 * whose writes the hitting run could read. Portable columns only.
 */
export const runReports: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .alterTable('workspaces')
      .addColumn('run_reports', 'integer', (c) => c.notNull().defaultTo(1))
      .execute();
    await db.schema
      .createTable('runs')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id').onDelete('cascade'))
      .addColumn('reported_at', 'text', (c) => c.notNull())
      .addColumn('started_at', 'text')
      .addColumn('ended_at', 'text')
      .addColumn('client', 'text', (c) => c.notNull())
      .addColumn('nx_version', 'text')
      .addColumn('principal_kind', 'text', (c) => c.notNull())
      .addColumn('token_id', 'text')
      .addColumn('user_id', 'text')
      .addColumn('reporter', 'text', (c) => c.notNull())
      .addColumn('namespace', 'text')
      .addColumn('tasks', 'integer', (c) => c.notNull())
      .addColumn('local_hits', 'integer', (c) => c.notNull())
      .addColumn('remote_hits', 'integer', (c) => c.notNull())
      .addColumn('misses', 'integer', (c) => c.notNull())
      .addColumn('saved_ms', 'bigint', (c) => c.notNull())
      .addColumn('saved_unknown', 'integer', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('runs_workspace_time').on('runs').columns(['workspace_id', 'reported_at']).execute();
    await db.schema.createIndex('runs_reported_at').on('runs').column('reported_at').execute();
    await db.schema
      .createTable('run_tasks')
      .addColumn('run_id', 'text', (c) => c.notNull().references('runs.id').onDelete('cascade'))
      .addColumn('position', 'integer', (c) => c.notNull())
      .addColumn('workspace_id', 'text', (c) => c.notNull())
      .addColumn('task_id', 'text', (c) => c.notNull())
      .addColumn('project', 'text', (c) => c.notNull())
      .addColumn('target', 'text', (c) => c.notNull())
      .addColumn('hash', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('duration_ms', 'bigint')
      .addColumn('saved_ms', 'bigint')
      .addColumn('namespace', 'text')
      .addColumn('reported_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('run_tasks_pk', ['run_id', 'position'])
      .execute();
    await db.schema
      .createIndex('run_tasks_origin')
      .on('run_tasks')
      .columns(['workspace_id', 'hash', 'status'])
      .execute();
  },
};
