/**
 * What the hooks do, with the environment and output passed in: point Nx's built-in HTTP cache
 * at the loopback proxy for one run, and collect that run's summary at the end.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import { CI_IDENTITY_ENV_VARS } from '../client/ci-identity-env';
import { credentialsFilePath } from '../client/credentials-path';
import { SECRET_ENV_VARS, identitySecretNames, withRememberedSecrets } from '../client/secret-env';
import { SealedCacheError } from '../errors';
import { finishRun, proxyUrl, registerRun } from '../proxy/control-client';
import { recordLastRun } from '../proxy/last-run';
import { findPreStartedProxy, preStartedKey } from '../proxy/pre-started';
import { ensureProxy, registerWithExisting, type ProxyEntry } from '../proxy/proxy-launcher';
import { readProxySettings, type ProxySettings } from '../proxy/proxy-settings';
import type { ClientInputs } from '../proxy/remote-run-session';
import { createRunSecret } from '../proxy/secrets';
import { proxyKey, proxyPaths, readProxyState } from '../proxy/state-file';
import { isAffectedByCve202671476 } from '../nx-config/nx-advisories';
import type { TasksExecutionContext } from './hook-context';
import { readInstalledNxVersion, vulnerableNxNotice } from './installed-nx';
import { formatNxVersion, type NxVersion } from '../nx-config/nx-version';
import { nxJsonCacheableTargets, runReportDraft, type RunReportDraft } from '../run-report-shape';

export const NX_CACHE_SERVER_ENV = 'NX_SELF_HOSTED_REMOTE_CACHE_SERVER';
export const NX_CACHE_TOKEN_ENV = 'NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN';
/** Which proxy this run uses (a digest, not a secret): postTasksExecution finds it after the secrets were scrubbed. */
export const PROXY_ID_ENV = 'NX_SEALED_CACHE_PROXY_ID';

/** Variables the proxy process must not inherit: secrets reach it over IPC only. */
const WITHHELD_FROM_PROXY = [
  'NX_SEALED_CACHE_ACCESS_TOKEN',
  'NX_SEALED_CACHE_ENCRYPTION_KEY',
  'NX_SEALED_CACHE_SIGNING_KEY',
  NX_CACHE_TOKEN_ENV,
  NX_CACHE_SERVER_ENV,
  ...CI_IDENTITY_ENV_VARS,
];
const CLIENT_ENV_PATTERN =
  /^(NX_SEALED_CACHE_(URL|ACCESS_TOKEN|ENCRYPTION_KEY|SIGNING_KEY)|XDG_CONFIG_HOME|HOME|USERPROFILE|ACTIONS_ID_TOKEN_REQUEST_(URL|TOKEN)|GITHUB_ACTIONS|GITLAB_CI)$/;

export interface HookIo {
  env: NodeJS.ProcessEnv;
  print(line: string): void;
  entry?: ProxyEntry;
}

interface RunTarget {
  settings: ProxySettings;
  inputs: ClientInputs;
  key: string;
}

export async function startRunThroughProxy(
  options: unknown,
  context: TasksExecutionContext,
  io: HookIo,
): Promise<void> {
  if (await startRunThroughPreStarted(context, io)) return;
  const target = resolveRunTarget(options, context, io.env);
  const runSecret = createRunSecret();
  const launch = {
    settings: target.settings,
    key: target.key,
    client: target.inputs,
    runId: context.id ?? runIdFromSecret(runSecret),
    runSecret,
    shieldVulnerableNx: isAffectedByCve202671476(readInstalledNxVersion(context.workspaceRoot)),
    entry: io.entry,
    env: proxyProcessEnv(io.env),
  };
  // A proxy under this key was started from these very inputs, so they were checked then (below); only a
  // new proxy needs the whole configuration resolved, with its clear errors and the parsers that cost a
  // fresh Nx worker more than the rest of the hook (docs/benchmarks.md, section 7).
  let state = await registerWithExisting(proxyPaths(target.settings.stateDir, target.key), launch);
  if (!state) {
    const { resolveClientConfig } = await import('../client/config');
    resolveClientConfig({ ...target.inputs, reportUnknownOptions: true });
    state = await ensureProxy(launch);
  }
  io.env[NX_CACHE_SERVER_ENV] = proxyUrl(state);
  io.env[NX_CACHE_TOKEN_ENV] = runSecret;
  io.env[PROXY_ID_ENV] = target.key;
}

/**
 * With no token or key in reach, a proxy started by an earlier CI step (`nx-sealed-cache proxy start`)
 * serves the run: Nx and its tasks never had the secrets. Returns false when there is none.
 */
async function startRunThroughPreStarted(context: TasksExecutionContext, io: HookIo): Promise<boolean> {
  const env = withRememberedSecrets(context.workspaceRoot, io.env);
  if (SECRET_ENV_VARS.some((name) => env[name])) return false;
  const found = findPreStartedProxy(readProxySettings(io.env), context.workspaceRoot);
  if (!found) return false;
  const runSecret = createRunSecret();
  const shield = isAffectedByCve202671476(readInstalledNxVersion(context.workspaceRoot));
  try {
    await registerRun(found.state, context.id ?? runIdFromSecret(runSecret), runSecret, shield);
  } catch (cause) {
    throw new SealedCacheError(
      'ERR_PROXY_NOT_RUNNING',
      `The proxy started by \`nx-sealed-cache proxy start\` for this workspace does not answer (expired or stopped; see ${found.logFile}).`,
      { cause },
    );
  }
  io.env[NX_CACHE_SERVER_ENV] = proxyUrl(found.state);
  io.env[NX_CACHE_TOKEN_ENV] = runSecret;
  io.env[PROXY_ID_ENV] = found.key;
  return true;
}

export async function finishRunThroughProxy(
  options: unknown,
  context: TasksExecutionContext,
  io: HookIo,
): Promise<void> {
  const settings = readProxySettings(io.env);
  const recorded = io.env[PROXY_ID_ENV];
  const key = recorded && /^[0-9a-f]{32}$/.test(recorded) ? recorded : fallbackKey(options, context, io.env, settings);
  const state = readProxyState(proxyPaths(settings.stateDir, key).stateFile);
  const runId = context.id ?? runIdFromEnv(io.env);
  if (!state || !runId) return;
  const nxVersion = readInstalledNxVersion(context.workspaceRoot);
  const finished = await finishRun(state, runId, reportDraftOf(context, nxVersion));
  if (!finished.known) return;
  const notice = vulnerableNxNotice(nxVersion);
  const lines = [...finished.warnings, ...(notice ? [notice] : []), ...(finished.summary ? [finished.summary] : [])];
  lines.forEach((line) => io.print(line));
  // With the daemon on these lines reach only the daemon's log: `nx-sealed-cache proxy last-run` shows them.
  recordLastRun(settings.stateDir, context.workspaceRoot, lines);
}

/** The run report's draft from Nx's task results; the proxy, which holds the credential, sends it. */
function reportDraftOf(context: TasksExecutionContext, nxVersion: NxVersion | null): RunReportDraft | undefined {
  const results = context.taskResults;
  if (typeof results !== 'object' || results === null) return undefined;
  const pairs = Object.values(results as Record<string, unknown>).map((result): [unknown, unknown] => {
    const r = typeof result === 'object' && result !== null ? (result as Record<string, unknown>) : {};
    return [r.task, r.status];
  });
  return runReportDraft(
    pairs,
    nxVersion && formatNxVersion(nxVersion),
    context.startTime,
    context.endTime,
    nxJsonCacheableTargets(context.nxJsonConfiguration),
  );
}

/** Without the id recorded by preTasksExecution: the pre-started proxy if there is one, else the credential's. */
function fallbackKey(
  options: unknown,
  context: TasksExecutionContext,
  env: NodeJS.ProcessEnv,
  settings: ProxySettings,
): string {
  const held = withRememberedSecrets(context.workspaceRoot, env);
  const noSecrets = !SECRET_ENV_VARS.some((name) => held[name]);
  if (noSecrets && findPreStartedProxy(settings, context.workspaceRoot)) return preStartedKey(context.workspaceRoot);
  return resolveRunTarget(options, context, env).key;
}

function resolveRunTarget(options: unknown, context: TasksExecutionContext, processEnv: NodeJS.ProcessEnv): RunTarget {
  // The secrets were scrubbed from process.env by an earlier run in this worker; it kept them in memory.
  const identityNames = identitySecretNames(options);
  const env = withRememberedSecrets(context.workspaceRoot, processEnv, identityNames);
  const settings = readProxySettings(env);
  const inputs: ClientInputs = {
    options: options ?? {},
    env: pickClientEnv(env, identityNames),
    homeDir: os.homedir(),
  };
  // Everything the resolved configuration depends on: the inputs and the login file's bytes (a login, a
  // logout or a rotated token gives another proxy). Nothing is parsed here.
  const key = proxyKey([context.workspaceRoot, inputs, loginFileDigest(inputs)]);
  return { settings, inputs, key };
}

function loginFileDigest(inputs: ClientInputs): string | null {
  try {
    const bytes = fs.readFileSync(credentialsFilePath(inputs.homeDir, inputs.env));
    return createHash('sha256').update(bytes).digest('hex');
  } catch {
    return null;
  }
}

/** Nx 20.8 gives the hooks no run id; the secret set by preTasksExecution is still in this process's env. */
function runIdFromSecret(secret: string): string {
  return `secret-${createHash('sha256').update(secret).digest('hex').slice(0, 32)}`;
}

function runIdFromEnv(env: NodeJS.ProcessEnv): string | undefined {
  const secret = env[NX_CACHE_TOKEN_ENV];
  return secret?.startsWith('nxscp_') ? runIdFromSecret(secret) : undefined;
}

export function pickClientEnv(env: NodeJS.ProcessEnv, identityNames: readonly string[] = []): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && (CLIENT_ENV_PATTERN.test(name) || identityNames.includes(name))) picked[name] = value;
  }
  return picked;
}

export function proxyProcessEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const copy: NodeJS.ProcessEnv = { ...env };
  for (const name of WITHHELD_FROM_PROXY) delete copy[name];
  return copy;
}
