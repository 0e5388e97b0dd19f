/**
 * Finds the proxy for this workspace and credential, or starts one, and registers a run with it.
 * Two Nx processes starting at once agree on one proxy through an exclusive lock file.
 */
import fs from 'node:fs';
import path from 'node:path';
import { SealedCacheError } from '../errors';
import { registerRun } from './control-client';
import { isReadyMessage, type ReadyMessage } from './control-answers';
import type { LaunchSpec } from './launch-spec';
import type { ProxySettings } from './proxy-settings';
import type { ClientInputs } from './remote-run-session';
import { createControlSecret } from './secrets';
import { ensurePrivateDir, proxyPaths, readProxyState, type ProxyPaths, type ProxyState } from './state-file';

export interface ProxyEntry {
  execPath: string;
  args: string[];
}

export interface EnsureProxyInput {
  settings: ProxySettings;
  key: string;
  client: ClientInputs;
  runId: string;
  runSecret: string;
  /** Whether the run's Nx needs the shield for CVE-2026-71476 (default: yes). */
  shieldVulnerableNx?: boolean;
  /** How to start the proxy process; tests point it at the TypeScript source. */
  entry?: ProxyEntry;
  /** The environment the proxy process gets, without any of our secrets. */
  env?: NodeJS.ProcessEnv;
}

const START_TIMEOUT_MS = 15_000;
const LOCK_STALE_MS = 20_000;
const LOCK_POLL_MS = 50;

export function defaultProxyEntry(): ProxyEntry {
  return { execPath: process.execPath, args: [path.join(__dirname, 'proxy-main.js')] };
}

/** Returns the state of the proxy that now knows `runSecret`; throws ERR_PROXY_START_FAILED otherwise. */
export async function ensureProxy(input: EnsureProxyInput): Promise<ProxyState> {
  ensurePrivateDir(input.settings.stateDir);
  const paths = proxyPaths(input.settings.stateDir, input.key);
  const giveUpAt = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < giveUpAt) {
    const reused = await registerWithExisting(paths, input);
    if (reused) return reused;
    const release = acquireLock(paths.lockFile);
    if (!release) {
      await sleep(LOCK_POLL_MS);
      continue;
    }
    try {
      // Another process may have finished starting one while we waited for the lock.
      const startedMeanwhile = await registerWithExisting(paths, input);
      if (startedMeanwhile) return startedMeanwhile;
      const state = await spawnProxy(paths, input);
      await registerRun(state, input.runId, input.runSecret, input.shieldVulnerableNx);
      return state;
    } finally {
      release();
    }
  }
  throw new SealedCacheError(
    'ERR_PROXY_START_FAILED',
    `Timed out after ${START_TIMEOUT_MS} ms waiting to start or reach the proxy.`,
  );
}

/** The running proxy under these paths, now knowing this run; null when there is none or it does not answer. */
export async function registerWithExisting(paths: ProxyPaths, input: EnsureProxyInput): Promise<ProxyState | null> {
  const state = readProxyState(paths.stateFile);
  if (!state) return null;
  try {
    await registerRun(state, input.runId, input.runSecret, input.shieldVulnerableNx);
    return state;
  } catch {
    return null;
  }
}

/** An exclusive create; a lock left by a crashed starter is broken after LOCK_STALE_MS. */
export function acquireLock(lockFile: string): (() => void) | null {
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      const fd = fs.openSync(lockFile, 'wx', 0o600);
      fs.writeSync(fd, String(process.pid));
      fs.closeSync(fd);
      return () => fs.rmSync(lockFile, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || !isStale(lockFile)) return null;
      fs.rmSync(lockFile, { force: true });
    }
  }
  return null;
}

function isStale(lockFile: string): boolean {
  try {
    return Date.now() - fs.statSync(lockFile).mtimeMs > LOCK_STALE_MS;
  } catch {
    return false;
  }
}

export type SpawnProxyInput = Pick<EnsureProxyInput, 'settings' | 'client' | 'entry' | 'env'> & { lifetimeMs?: number };

/** Starts a detached proxy and waits for its state file; the caller holds the lock. */
export async function spawnProxy(paths: ProxyPaths, input: SpawnProxyInput): Promise<ProxyState> {
  const controlSecret = createControlSecret();
  const spec: LaunchSpec = {
    stateFile: paths.stateFile,
    controlSecret,
    // A pre-started proxy outlives idle gaps between CI steps: only its lifetime ends it.
    idleMs: input.lifetimeMs ?? input.settings.idleMs,
    lifetimeMs: input.lifetimeMs,
    runTtlMs: input.settings.runTtlMs,
    requestDeadlineMs: input.settings.requestDeadlineMs,
    client: input.client,
  };
  const entry = input.entry ?? defaultProxyEntry();
  // Loaded here, not at the top: a warm run's hook never starts a proxy (docs/benchmarks.md, section 7).
  const { spawn } = await import('node:child_process');
  const logFd = fs.openSync(paths.logFile, 'a', 0o600);
  let child;
  try {
    child = spawn(entry.execPath, entry.args, {
      detached: true,
      // Not the workspace: a proxy must never keep a folder the user may delete busy.
      cwd: input.settings.stateDir,
      stdio: ['ignore', logFd, logFd, 'ipc'],
      env: input.env ?? process.env,
      windowsHide: true,
    });
  } finally {
    fs.closeSync(logFd);
  }
  const ready = await new Promise<ReadyMessage>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no ready message')), START_TIMEOUT_MS);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with code ${code}`));
    });
    child.once('message', (message: unknown) => {
      clearTimeout(timer);
      if (isReadyMessage(message)) resolve(message);
      else reject(new Error('unexpected first message'));
    });
    child.send(spec);
  }).catch((cause: unknown) => {
    child.kill();
    throw new SealedCacheError('ERR_PROXY_START_FAILED', `The proxy process did not start (see ${paths.logFile}).`, {
      cause,
    });
  });
  child.removeAllListeners();
  if (child.connected) child.disconnect();
  child.unref();
  const state = readProxyState(paths.stateFile);
  if (!state || state.port !== ready.port) {
    throw new SealedCacheError(
      'ERR_PROXY_START_FAILED',
      'The proxy started but its state file is missing or does not match.',
    );
  }
  return state;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
