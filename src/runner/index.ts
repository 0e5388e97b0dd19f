/**
 * The Nx 17–20 tasks runner: `tasksRunnerOptions.default.runner: "nx-sealed-cache"`. It wraps the
 * workspace's own default runner and hands it this package's client as `remoteCache`. Nothing
 * here may fail a run: configuration and server problems turn the remote cache off with a line.
 */
import { resolveClientConfig, type ClientConfig } from '../client/config';
import { withoutSealedCacheOptions } from '../client/options';
import {
  createOffSession,
  openRemoteSession,
  type RemoteSession,
  type RemoteSessionDeps,
} from '../client/remote-session';
import { formatRunSummary } from '../client/run-summary';
import { applyCiIdentity } from '../client/ci-identity';
import { identitySecretNames, scrubSecretEnv, withRememberedSecrets } from '../client/secret-env';
import {
  findWorkspaceRoot,
  loadDefaultTasksRunner,
  missingLegacyCacheWarning,
  readWorkspaceNxMajor,
  type NxTasksRunner,
} from './nx-workspace';
import { createLegacyRemoteCache } from './remote-cache';
import { stderrTransferProgress, type TransferProgress } from '../client/transfer-progress';
import { TaskTimings } from './task-timings';
import { sendRunReport } from '../client/run-report';
import { formatNxVersion } from '../nx-config/nx-version';
import { readInstalledNxVersion } from '../plugin/installed-nx';
import { cacheableTargetsOf, runReportDraft, type RunReportDraft } from '../run-report-shape';

export type RunnerOptions = Record<string, unknown>;
export interface RunnerContext {
  nxJson?: unknown;
  [key: string]: unknown;
}

export interface RunnerDeps {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  homeDir?: string;
  /** Where our lines go; stderr by default so stdout stays Nx's. */
  print?: (line: string) => void;
  loadRunner?: (workspaceRoot: string) => NxTasksRunner;
  openSession?: (config: ClientConfig, deps: RemoteSessionDeps) => Promise<RemoteSession>;
  /** Lines while a large artifact moves; by default on stderr, every 5 s on a terminal and every 30 s in a CI log. */
  progress?: TransferProgress;
}

export default function sealedCacheTasksRunner(
  tasks: unknown[],
  options: RunnerOptions,
  context?: RunnerContext,
): Promise<unknown> {
  return runWithSealedCache(tasks, options, context, {});
}

export async function runWithSealedCache(
  tasks: unknown[],
  options: RunnerOptions,
  context: RunnerContext | undefined,
  deps: RunnerDeps,
): Promise<unknown> {
  const processEnv = deps.env ?? process.env;
  const cwd = deps.cwd ?? process.cwd();
  // The runner is called in Nx's main process before any task is forked, and tasks copy its env.
  const identityNames = identitySecretNames(options);
  const env = withRememberedSecrets(`runner:${cwd}`, processEnv, identityNames);
  scrubSecretEnv(processEnv, identityNames);
  const print = deps.print ?? ((line: string) => process.stderr.write(`${line}\n`));
  const workspaceRoot = findWorkspaceRoot(cwd, env);
  const defaultRunner = (deps.loadRunner ?? loadDefaultTasksRunner)(workspaceRoot);
  const nxOptions: RunnerOptions = withoutSealedCacheOptions(options);

  if (options.skipNxCache === true || options.skipRemoteCache === true) {
    return defaultRunner(tasks, nxOptions, context);
  }
  const legacyWarning = missingLegacyCacheWarning(readWorkspaceNxMajor(workspaceRoot), context?.nxJson, env);
  if (legacyWarning) {
    print(legacyWarning);
    return defaultRunner(tasks, nxOptions, context);
  }

  const sessionDeps: RemoteSessionDeps = {
    warn: print,
    info: print,
    progress: deps.progress ?? stderrTransferProgress(print, env),
  };
  const { session, config } = await openSessionSafely(options, env, deps, sessionDeps);
  const startTime = Date.now();
  const timings = new TaskTimings();
  let results: unknown;
  try {
    const lifeCycle = timings.listenTo(nxOptions.lifeCycle);
    results = await defaultRunner(
      tasks,
      { ...nxOptions, lifeCycle, remoteCache: createLegacyRemoteCache(session) },
      context,
    );
    return results;
  } finally {
    if (config) print(formatRunSummary(session.stats, config, session));
    // After the tasks ran, with a short timeout of its own: at worst one more warning line.
    if (config && session.mode !== 'off') {
      const timed = tasks.map((task) => timings.timed(task));
      const draft = runnerReportDraft(timed, results, workspaceRoot, startTime, cacheableTargetsOf(options));
      const warning = await sendRunReport(config, { client: 'runner', ...draft });
      if (warning) print(warning);
    }
    await session.close();
  }
}

/** Nx 17–20's runner answers `{ [taskId]: status }`; the task objects carry the hash, and their times (task-timings.ts). */
function runnerReportDraft(
  tasks: unknown[],
  results: unknown,
  workspaceRoot: string,
  startTime: number,
  cacheableTargets: readonly string[],
): RunReportDraft {
  const statuses = typeof results === 'object' && results !== null ? (results as Record<string, unknown>) : {};
  const pairs = tasks.map((task): [unknown, unknown] => {
    const id = (task as { id?: unknown } | null)?.id;
    return [task, typeof id === 'string' ? statuses[id] : undefined];
  });
  const nxVersion = readInstalledNxVersion(workspaceRoot);
  return runReportDraft(pairs, nxVersion && formatNxVersion(nxVersion), startTime, Date.now(), cacheableTargets);
}

async function openSessionSafely(
  options: RunnerOptions,
  env: NodeJS.ProcessEnv,
  deps: RunnerDeps,
  sessionDeps: RemoteSessionDeps,
): Promise<{ session: RemoteSession; config?: ClientConfig }> {
  let config: ClientConfig;
  try {
    config = await applyCiIdentity(resolveClientConfig({ options, env, homeDir: deps.homeDir }), env);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    return { session: createOffSession(`configuration problem: ${reason}`, sessionDeps) };
  }
  try {
    return { session: await (deps.openSession ?? openRemoteSession)(config, sessionDeps), config };
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    return { session: createOffSession(reason, sessionDeps), config };
  }
}
