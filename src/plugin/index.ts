/**
 * The Nx 20.8–24 plugin: `preTasksExecution` points Nx's built-in HTTP cache at a loopback
 * sealing proxy with a per-run secret and removes the real token and key from the environment
 * that tasks inherit; `postTasksExecution` prints the run's summary.
 * Neither hook ever throws: a throwing hook aborts the user's run.
 */
import { SECRET_ENV_VARS, identitySecretNames, scrubSecretEnv } from '../client/secret-env';
import { isSealedCacheError } from '../errors';
import { parseTasksExecutionContext } from './hook-context';
import { finishRunThroughProxy, startRunThroughProxy, type HookIo } from './run-proxy';
import { isRemoteCacheSkipped } from './skip-remote-cache';

export const name = 'nx-sealed-cache';

export async function preTasksExecution(options: unknown, context: unknown): Promise<void> {
  const io = processIo();
  try {
    const parsed = parseTasksExecutionContext(context);
    if (isRemoteCacheSkipped(parsed.argv, io.env)) return;
    const notice = exportedSecretsNotice(io.env);
    if (notice) io.print(notice);
    await startRunThroughProxy(options, parsed, io);
  } catch (err) {
    io.print(
      `nx-sealed-cache: remote cache off for this run: ${describe(err)}. Tasks still run and use the local cache.`,
    );
  } finally {
    // Whatever happened, the tasks Nx forks next copy this environment: the real secrets leave it here.
    scrubSecretEnv(io.env, identitySecretNames(options));
  }
}

export async function postTasksExecution(options: unknown, context: unknown): Promise<void> {
  const io = processIo();
  try {
    const parsed = parseTasksExecutionContext(context);
    if (isRemoteCacheSkipped(parsed.argv, io.env)) return;
    await finishRunThroughProxy(options, parsed, io);
  } catch (err) {
    // A configuration problem was already reported once by preTasksExecution.
    if (isSealedCacheError(err, 'ERR_CONFIG_INVALID')) return;
    io.print(`nx-sealed-cache: could not collect the remote cache summary: ${describe(err)}.`);
  }
}

/** On CI, secrets exported to Nx stay readable in /proc/<pid>/environ of Nx and the shell, whatever the scrub does. */
export function exportedSecretsNotice(env: NodeJS.ProcessEnv): string | null {
  const ci = env.CI?.trim().toLowerCase();
  if (!ci || ci === 'false' || ci === '0') return null;
  const exported = SECRET_ENV_VARS.filter((name) => env[name]?.trim());
  if (exported.length === 0) return null;
  return (
    `nx-sealed-cache: ${exported.join(' and ')} exported to Nx on CI ${exported.length > 1 ? 'stay' : 'stays'} readable by tasks in /proc/<pid>/environ of Nx and the shell; ` +
    'give them only to a step running `npx nx-sealed-cache proxy start` (docs/client.md, "What a task can and cannot see").'
  );
}

function processIo(): HookIo {
  return { env: process.env, print: (line) => process.stderr.write(`${line}\n`) };
}

function describe(err: unknown): string {
  if (isSealedCacheError(err)) return `${err.message} [${err.code}]`;
  return err instanceof Error ? err.name : 'unknown error';
}
