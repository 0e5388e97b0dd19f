/**
 * The package entry, loaded by Nx as a tasks runner (Nx 17–20: 'default' in m ? m.default : m) and as a plugin
 * (Nx 20.8–24: the module itself, since `default` has no plugin keys). Nx loads a plugin in a fresh worker
 * process to learn its hooks, and again to run them: this file loads nothing until a hook or the runner is
 * called, so learning the hooks costs no module loading at all (docs/benchmarks.md, section 7).
 */
import type { RunnerContext, RunnerOptions } from './runner';

export const name = 'nx-sealed-cache';

export default async function sealedCacheTasksRunner(
  tasks: unknown[],
  options: RunnerOptions,
  context?: RunnerContext,
): Promise<unknown> {
  const runner = await import('./runner');
  return runner.default(tasks, options, context);
}

export async function preTasksExecution(options: unknown, context: unknown): Promise<void> {
  const plugin = await import('./plugin');
  return plugin.preTasksExecution(options, context);
}

export async function postTasksExecution(options: unknown, context: unknown): Promise<void> {
  const plugin = await import('./plugin');
  return plugin.postTasksExecution(options, context);
}
