/**
 * A run report as the plugin hook and the runner build it from Nx's task results, with no zod (the hook runs in
 * a fresh Nx worker each run, where loading zod costs more than the rest of it). The server checks the same
 * shape with zod (src/protocol.ts). Only ids, hashes, statuses and durations: never outputs, env or secrets.
 */
export const RUN_REPORT_MAX_TASKS = 2000;
export const RUN_TASK_MAX_DURATION_MS = 7 * 24 * 3600 * 1000;
export const RUN_TASK_STATUSES = ['remote-hit', 'local-hit', 'miss', 'failed'] as const;
export type RunTaskStatus = (typeof RUN_TASK_STATUSES)[number];

export interface RunTaskEntry {
  id: string;
  project: string;
  target: string;
  hash: string;
  status: RunTaskStatus;
  durationMs: number | null;
}

export interface RunReportBody {
  client: 'plugin' | 'runner';
  nxVersion: string | null;
  startedAt: string | null;
  endedAt: string | null;
  tasks: RunTaskEntry[];
}

/** What the proxy is handed by the hook: the report without its client, which the proxy knows. */
export type RunReportDraft = Omit<RunReportBody, 'client'>;

/** Nx's statuses (17–24) to the report's; statuses that say nothing about the cache are left out. */
const STATUSES: Record<string, RunTaskStatus> = {
  'remote-cache': 'remote-hit',
  'local-cache': 'local-hit',
  'local-cache-kept-existing': 'local-hit',
  success: 'miss',
  failure: 'failed',
};

const HASH = /^[A-Za-z0-9_-]{1,128}$/;
const fields = (value: unknown): Record<string, unknown> =>
  typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
/** Control characters (C0 and DEL) have no place in a task id or name shown on a page or in a log. */
export function hasControlCharacter(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}
const text = (value: unknown, max: number): string | undefined =>
  typeof value === 'string' && value.length > 0 && value.length <= max && !hasControlCharacter(value)
    ? value
    : undefined;

/**
 * The targets a runner's options call cacheable (`cacheableOperations`, or `cacheableTargets`): Nx 17–22 leave a
 * task's `cache` unset when its target says nothing, and then cache it only if its target is listed there.
 */
export function cacheableTargetsOf(runnerOptions: unknown): string[] {
  const options = fields(runnerOptions);
  const listed = options.cacheableOperations ?? options.cacheableTargets;
  return Array.isArray(listed) ? listed.filter((target): target is string => typeof target === 'string') : [];
}

/** The cacheable targets nx.json's default tasks runner lists (what the plugin hook's context carries). */
export function nxJsonCacheableTargets(nxJson: unknown): string[] {
  return cacheableTargetsOf(fields(fields(fields(nxJson).tasksRunnerOptions).default).options);
}

/**
 * One task of Nx (`{ id, target: { project, target }, hash, cache, startTime, endTime }`) with its status, or null
 * for a task Nx does not cache: `cache: false`, or (Nx 17–22) `cache` unset and its target not in `cacheableTargets`.
 */
export function runTaskEntry(
  task: unknown,
  nxStatus: unknown,
  cacheableTargets: readonly string[] = [],
): RunTaskEntry | null {
  const t = fields(task);
  const target = fields(t.target);
  const status = typeof nxStatus === 'string' ? STATUSES[nxStatus] : undefined;
  const id = text(t.id, 400);
  const project = text(target.project, 200);
  const targetName = text(target.target, 200);
  const hash = typeof t.hash === 'string' && HASH.test(t.hash) ? t.hash : undefined;
  if (!status || !id || !project || !targetName || !hash) return null;
  if (t.cache !== true && !(t.cache === undefined && cacheableTargets.includes(targetName))) return null;
  const { startTime, endTime } = t;
  const duration =
    typeof startTime === 'number' && typeof endTime === 'number' ? Math.round(endTime - startTime) : undefined;
  const durationMs =
    duration !== undefined && Number.isFinite(duration) && duration >= 0 && duration <= RUN_TASK_MAX_DURATION_MS
      ? duration
      : null;
  return { id, project, target: targetName, hash, status, durationMs };
}

const isoOf = (ms: unknown): string | null =>
  typeof ms === 'number' && Number.isFinite(ms) && ms > 0 ? new Date(ms).toISOString() : null;
const NX_VERSION = /^[0-9A-Za-z.+-]{1,40}$/;

/** The draft of one run, from `[task, status]` pairs, capped at the server's task limit. */
export function runReportDraft(
  results: Iterable<[unknown, unknown]>,
  nxVersion: string | null | undefined,
  startTime?: unknown,
  endTime?: unknown,
  cacheableTargets: readonly string[] = [],
): RunReportDraft {
  const tasks: RunTaskEntry[] = [];
  for (const [task, status] of results) {
    if (tasks.length >= RUN_REPORT_MAX_TASKS) break;
    const entry = runTaskEntry(task, status, cacheableTargets);
    if (entry) tasks.push(entry);
  }
  return {
    nxVersion: nxVersion && NX_VERSION.test(nxVersion) ? nxVersion : null,
    startedAt: isoOf(startTime),
    endedAt: isoOf(endTime),
    tasks,
  };
}
