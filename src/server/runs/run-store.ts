/**
 * The `runs` part of MetadataStore: run reports, one row per run and one per task, their totals per day and
 * per project, and retention. A hit's time saved is worked out once, when its report arrives, from the
 * newest reported miss of the same hash that the hitting run could have read (its own namespaces, or its own
 * token's earlier runs for a local hit), so a writer in another tier can never inflate another's figures.
 */
import type { ExpressionBuilder, Kysely } from 'kysely';
import type { RunTaskReport, RunTaskStatus } from '../../protocol';
import type { MetadataDatabase } from '../metadata/schema';

export interface NewRun {
  id: string;
  workspaceId: string;
  reportedAt: string;
  startedAt: string | null;
  endedAt: string | null;
  client: 'plugin' | 'runner';
  nxVersion: string | null;
  principalKind: string;
  tokenId: string | null;
  userId: string | null;
  reporter: string;
  /** Where this run's writes land (null when it cannot write). */
  namespace: string | null;
  /** Where this run's reads look: the hits' original durations come only from runs that wrote there. */
  readNamespaces: readonly string[];
}

export interface RunSummary {
  id: string;
  workspaceId: string;
  reportedAt: string;
  startedAt: string | null;
  endedAt: string | null;
  client: string;
  nxVersion: string | null;
  reporter: string;
  tasks: number;
  localHits: number;
  remoteHits: number;
  /** Tasks that missed the cache and ran. */
  misses: number;
  /** Tasks that failed (neither hits nor misses). */
  failed: number;
  savedMs: number;
  /** Hits whose original duration no report tells. */
  savedUnknown: number;
}

export interface RunTask {
  id: string;
  project: string;
  target: string;
  hash: string;
  status: RunTaskStatus;
  durationMs: number | null;
  /** For a hit: the original duration, or null when unknown. */
  savedMs: number | null;
}

export interface Totals {
  tasks: number;
  hits: number;
  misses: number;
  failed: number;
  savedMs: number;
  savedUnknown: number;
}

export const NO_TOTALS: Totals = { tasks: 0, hits: 0, misses: 0, failed: 0, savedMs: 0, savedUnknown: 0 };

/** Totals added up, e.g. days into a fortnight or workspaces into a server. */
export const sumTotals = (list: readonly Totals[]): Totals =>
  list.reduce<Totals>(
    (sum, t) => ({
      tasks: sum.tasks + t.tasks,
      hits: sum.hits + t.hits,
      misses: sum.misses + t.misses,
      failed: sum.failed + t.failed,
      savedMs: sum.savedMs + t.savedMs,
      savedUnknown: sum.savedUnknown + t.savedUnknown,
    }),
    NO_TOTALS,
  );

export interface DayTotals extends Totals {
  day: string;
  runs: number;
}

/** The sums over `runs` rows that make Totals, for any grouping. */
const runSums = (eb: ExpressionBuilder<MetadataDatabase, 'runs'>) =>
  [
    eb.fn.sum<number>('tasks').as('tasks'),
    eb.fn.sum<number>('local_hits').as('local_hits'),
    eb.fn.sum<number>('remote_hits').as('remote_hits'),
    eb.fn.sum<number>('misses').as('misses'),
    eb.fn.sum<number>('failed').as('failed'),
    eb.fn.sum<number>('saved_ms').as('saved_ms'),
    eb.fn.sum<number>('saved_unknown').as('saved_unknown'),
  ] as const;

type RunSumsRow = Record<
  'tasks' | 'local_hits' | 'remote_hits' | 'misses' | 'failed' | 'saved_ms' | 'saved_unknown',
  unknown
>;

/** Totals from a row of runSums (drivers answer sums as strings or numbers). */
const totalsOf = (r: RunSumsRow): Totals => ({
  tasks: Number(r.tasks),
  hits: Number(r.local_hits) + Number(r.remote_hits),
  misses: Number(r.misses),
  failed: Number(r.failed),
  savedMs: Number(r.saved_ms),
  savedUnknown: Number(r.saved_unknown),
});

export const isHit = (status: string): boolean => status === 'remote-hit' || status === 'local-hit';
const CHUNK = 200;

const chunks = <T>(items: readonly T[], size = CHUNK): T[][] => {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
};

const toSummary = (r: {
  id: string;
  workspace_id: string;
  reported_at: string;
  started_at: string | null;
  ended_at: string | null;
  client: string;
  nx_version: string | null;
  reporter: string;
  tasks: number;
  local_hits: number;
  remote_hits: number;
  misses: number;
  failed: number;
  saved_ms: number;
  saved_unknown: number;
}): RunSummary => ({
  id: r.id,
  workspaceId: r.workspace_id,
  reportedAt: r.reported_at,
  startedAt: r.started_at,
  endedAt: r.ended_at,
  client: r.client,
  nxVersion: r.nx_version,
  reporter: r.reporter,
  tasks: Number(r.tasks),
  localHits: Number(r.local_hits),
  remoteHits: Number(r.remote_hits),
  misses: Number(r.misses),
  failed: Number(r.failed),
  savedMs: Number(r.saved_ms),
  savedUnknown: Number(r.saved_unknown),
});

export class RunStore {
  constructor(private readonly db: Kysely<MetadataDatabase>) {}

  async reportsEnabled(workspaceId: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('workspaces')
      .select('run_reports')
      .where('id', '=', workspaceId)
      .executeTakeFirst();
    return row !== undefined && Number(row.run_reports) === 1;
  }

  async setReportsEnabled(workspaceId: string, enabled: boolean): Promise<void> {
    await this.db
      .updateTable('workspaces')
      .set({ run_reports: enabled ? 1 : 0 })
      .where('id', '=', workspaceId)
      .execute();
  }

  /** The original durations of `hashes`, as the run described by `run` may count them. */
  private async originsOf(run: NewRun, hashes: string[]): Promise<Map<string, number>> {
    const found = new Map<string, number>();
    for (const part of chunks([...new Set(hashes)])) {
      const rows = await this.db
        .selectFrom('run_tasks')
        .innerJoin('runs', 'runs.id', 'run_tasks.run_id')
        .select(['run_tasks.hash', 'run_tasks.duration_ms', 'run_tasks.namespace', 'runs.token_id'])
        .where('run_tasks.workspace_id', '=', run.workspaceId)
        .where('run_tasks.status', '=', 'miss')
        .where('run_tasks.duration_ms', 'is not', null)
        .where('run_tasks.hash', 'in', part)
        .orderBy('run_tasks.reported_at', 'desc')
        .execute();
      for (const row of rows) {
        if (found.has(row.hash)) continue;
        const readable = row.namespace !== null && run.readNamespaces.includes(row.namespace);
        const ownRun = run.tokenId !== null && row.token_id === run.tokenId;
        if (readable || ownRun) found.set(row.hash, Number(row.duration_ms));
      }
    }
    return found;
  }

  async record(run: NewRun, tasks: readonly RunTaskReport[]): Promise<RunSummary> {
    const origins = await this.originsOf(
      run,
      tasks.filter((t) => isHit(t.status)).map((t) => t.hash),
    );
    const saved = tasks.map((t) => (isHit(t.status) ? (origins.get(t.hash) ?? null) : null));
    const row = {
      id: run.id,
      workspace_id: run.workspaceId,
      reported_at: run.reportedAt,
      started_at: run.startedAt,
      ended_at: run.endedAt,
      client: run.client,
      nx_version: run.nxVersion,
      principal_kind: run.principalKind,
      token_id: run.tokenId,
      user_id: run.userId,
      reporter: run.reporter,
      namespace: run.namespace,
      tasks: tasks.length,
      local_hits: tasks.filter((t) => t.status === 'local-hit').length,
      remote_hits: tasks.filter((t) => t.status === 'remote-hit').length,
      misses: tasks.filter((t) => t.status === 'miss').length,
      failed: tasks.filter((t) => t.status === 'failed').length,
      saved_ms: saved.reduce<number>((sum, ms) => sum + (ms ?? 0), 0),
      saved_unknown: tasks.filter((t, i) => isHit(t.status) && saved[i] === null).length,
    };
    await this.db.transaction().execute(async (trx) => {
      await trx.insertInto('runs').values(row).execute();
      const taskRows = tasks.map((t, position) => ({
        run_id: run.id,
        position,
        workspace_id: run.workspaceId,
        task_id: t.id,
        project: t.project,
        target: t.target,
        hash: t.hash,
        status: t.status,
        duration_ms: t.durationMs,
        saved_ms: saved[position],
        namespace: run.namespace,
        reported_at: run.reportedAt,
      }));
      for (const part of chunks(taskRows)) await trx.insertInto('run_tasks').values(part).execute();
    });
    return toSummary(row);
  }

  /** Newest first. */
  async listRuns(workspaceId: string, limit: number): Promise<RunSummary[]> {
    const rows = await this.db
      .selectFrom('runs')
      .selectAll()
      .where('workspace_id', '=', workspaceId)
      .orderBy('reported_at', 'desc')
      .orderBy('id', 'desc')
      .limit(limit)
      .execute();
    return rows.map(toSummary);
  }

  async findRun(workspaceId: string, runId: string): Promise<{ run: RunSummary; tasks: RunTask[] } | undefined> {
    const row = await this.db
      .selectFrom('runs')
      .selectAll()
      .where('id', '=', runId)
      .where('workspace_id', '=', workspaceId)
      .executeTakeFirst();
    if (row === undefined) return undefined;
    const tasks = await this.db
      .selectFrom('run_tasks')
      .selectAll()
      .where('run_id', '=', runId)
      .orderBy('position')
      .execute();
    return {
      run: toSummary(row),
      tasks: tasks.map((t) => ({
        id: t.task_id,
        project: t.project,
        target: t.target,
        hash: t.hash,
        status: t.status as RunTaskStatus,
        durationMs: t.duration_ms === null ? null : Number(t.duration_ms),
        savedMs: t.saved_ms === null ? null : Number(t.saved_ms),
      })),
    };
  }

  /** Per UTC day since `since` (YYYY-MM-DD), oldest first, over the given workspaces. */
  async dailyTotals(workspaceIds: readonly string[], since: string): Promise<DayTotals[]> {
    if (workspaceIds.length === 0) return [];
    const rows = await this.db
      .selectFrom('runs')
      .select((eb) => [
        eb.fn<string>('substr', ['reported_at', eb.val(1), eb.val(10)]).as('day'),
        eb.fn.countAll<number>().as('runs'),
        ...runSums(eb),
      ])
      .where('workspace_id', 'in', [...workspaceIds])
      .where('reported_at', '>=', since)
      .groupBy('day')
      .orderBy('day')
      .execute();
    return rows.map((r) => ({ day: r.day, runs: Number(r.runs), ...totalsOf(r) }));
  }

  /** Per workspace since `since`, for the statistics page. */
  async workspaceTotals(workspaceIds: readonly string[], since: string): Promise<Map<string, Totals>> {
    const totals = new Map<string, Totals>();
    if (workspaceIds.length === 0) return totals;
    const rows = await this.db
      .selectFrom('runs')
      .select((eb) => ['workspace_id', ...runSums(eb)])
      .where('workspace_id', 'in', [...workspaceIds])
      .where('reported_at', '>=', since)
      .groupBy('workspace_id')
      .execute();
    for (const r of rows) totals.set(r.workspace_id, totalsOf(r));
    return totals;
  }

  /** Per project of one workspace since `since`, most tasks first. */
  async projectTotals(workspaceId: string, since: string): Promise<(Totals & { project: string })[]> {
    const rows = await this.db
      .selectFrom('run_tasks')
      .select((eb) => [
        'project',
        'status',
        eb.fn.countAll<number>().as('tasks'),
        eb.fn.sum<number>('saved_ms').as('saved_ms'),
        eb.fn.count<number>('saved_ms').as('saved_known'),
      ])
      .where('workspace_id', '=', workspaceId)
      .where('reported_at', '>=', since)
      .groupBy(['project', 'status'])
      .execute();
    const byProject = new Map<string, Totals & { project: string }>();
    for (const r of rows) {
      const t = byProject.get(r.project) ?? { project: r.project, ...NO_TOTALS };
      const n = Number(r.tasks);
      t.tasks += n;
      if (isHit(r.status)) {
        t.hits += n;
        t.savedMs += Number(r.saved_ms ?? 0);
        t.savedUnknown += n - Number(r.saved_known);
      } else if (r.status === 'failed') t.failed += n;
      else t.misses += n;
      byProject.set(r.project, t);
    }
    return [...byProject.values()].sort((a, b) => b.tasks - a.tasks || a.project.localeCompare(b.project));
  }

  /** Retention: reports older than `before` go, their tasks with them; answers how many runs. */
  async deleteReportedBefore(before: string): Promise<number> {
    return this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('run_tasks').where('reported_at', '<', before).execute();
      const result = await trx.deleteFrom('runs').where('reported_at', '<', before).executeTakeFirst();
      return Number(result.numDeletedRows);
    });
  }
}
