/**
 * The Nx 20.8–24 plugin: `preTasksExecution` points Nx's built-in HTTP cache at a loopback
 * sealing proxy with a per-run secret and removes the real token and key from the environment
 * that tasks inherit; `postTasksExecution` prints the run's summary.
 * Neither hook ever throws: a throwing hook aborts the user's run.
 */
import { scrubSecretEnv } from '../client/secret-env';
import { isSealedCacheError } from '../errors';
import { TasksExecutionContext } from './hook-context';
import { finishRunThroughProxy, startRunThroughProxy, type HookIo } from './run-proxy';
import { isRemoteCacheSkipped } from './skip-remote-cache';

export const name = 'nx-sealed-cache';

export async function preTasksExecution(options: unknown, context: unknown): Promise<void> {
  const io = processIo();
  try {
    const parsed = TasksExecutionContext.parse(context);
    if (isRemoteCacheSkipped(parsed.argv, io.env)) return;
    await startRunThroughProxy(options, parsed, io);
  } catch (err) {
    io.print(`nx-sealed-cache: remote cache off for this run: ${describe(err)}. Tasks still run and use the local cache.`);
  } finally {
    // Whatever happened, the tasks Nx forks next copy this environment: the real secrets leave it here.
    scrubSecretEnv(io.env);
  }
}

export async function postTasksExecution(options: unknown, context: unknown): Promise<void> {
  const io = processIo();
  try {
    const parsed = TasksExecutionContext.parse(context);
    if (isRemoteCacheSkipped(parsed.argv, io.env)) return;
    await finishRunThroughProxy(options, parsed, io);
  } catch (err) {
    // A configuration problem was already reported once by preTasksExecution.
    if (isSealedCacheError(err, 'ERR_CONFIG_INVALID')) return;
    io.print(`nx-sealed-cache: could not collect the remote cache summary: ${describe(err)}.`);
  }
}

function processIo(): HookIo {
  return { env: process.env, print: (line) => process.stderr.write(`${line}\n`) };
}

function describe(err: unknown): string {
  if (isSealedCacheError(err)) return `${err.message} [${err.code}]`;
  return err instanceof Error ? err.name : 'unknown error';
}
