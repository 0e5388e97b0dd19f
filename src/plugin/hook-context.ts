/**
 * The parts of Nx's hook context this plugin reads, checked at the edge (Nx versions differ). Checked by hand,
 * not with zod: the hooks run in a fresh Nx worker on every run, and loading zod there costs more than the
 * rest of the hook (docs/benchmarks.md, section 7).
 */
import { SealedCacheError } from '../errors';

/** Nx 20.8 passes neither `id` nor `argv` (both arrived in Nx 21). */
export interface TasksExecutionContext {
  id?: string;
  workspaceRoot: string;
  argv: string[];
  /** postTasksExecution only, passed on unchecked: the run report reads them field by field (run-report-shape.ts). */
  taskResults?: unknown;
  startTime?: unknown;
  endTime?: unknown;
  /** postTasksExecution only, unchecked: the run report reads the default runner's cacheable targets from it. */
  nxJsonConfiguration?: unknown;
}

export function parseTasksExecutionContext(context: unknown): TasksExecutionContext {
  const fields = typeof context === 'object' && context !== null ? (context as Record<string, unknown>) : {};
  const { id, workspaceRoot, argv, taskResults, startTime, endTime, nxJsonConfiguration } = fields;
  const invalid = (what: string) =>
    new SealedCacheError('ERR_CONFIG_INVALID', `Nx passed the plugin hook an unexpected context (${what}).`);
  if (typeof workspaceRoot !== 'string' || workspaceRoot === '') throw invalid('workspaceRoot');
  if (id !== undefined && (typeof id !== 'string' || id === '')) throw invalid('id');
  if (argv !== undefined && !(Array.isArray(argv) && argv.every((arg) => typeof arg === 'string'))) {
    throw invalid('argv');
  }
  return {
    ...(id !== undefined ? { id } : {}),
    workspaceRoot,
    argv: (argv as string[] | undefined) ?? [],
    taskResults,
    startTime,
    endTime,
    nxJsonConfiguration,
  };
}
