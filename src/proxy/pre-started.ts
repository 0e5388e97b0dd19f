/**
 * A proxy started by a CI step of its own (`nx-sealed-cache proxy start`), so that the token and key
 * are in that step's environment only and never in Nx's or its tasks'. It is found by the workspace
 * alone: the later steps that run Nx hold no secret to derive a key from.
 */
import fs from 'node:fs';
import path from 'node:path';
import { SealedCacheError } from '../errors';
import { pingProxy } from './control-client';
import { acquireLock, spawnProxy, type SpawnProxyInput } from './proxy-launcher';
import type { ProxySettings } from './proxy-settings';
import { ensurePrivateDir, proxyKey, proxyPaths, readProxyState, type ProxyState } from './state-file';

export interface PreStartedProxy {
  key: string;
  stateFile: string;
  logFile: string;
  state: ProxyState;
}

/** The same digest for `proxy start` in the checkout folder and for Nx's workspaceRoot (symlinks resolved). */
export function preStartedKey(workspaceRoot: string): string {
  return proxyKey(['pre-started', canonicalRoot(workspaceRoot)]);
}

export function findPreStartedProxy(settings: ProxySettings, workspaceRoot: string): PreStartedProxy | null {
  const key = preStartedKey(workspaceRoot);
  const paths = proxyPaths(settings.stateDir, key);
  const state = readProxyState(paths.stateFile);
  return state ? { key, stateFile: paths.stateFile, logFile: paths.logFile, state } : null;
}

/** Starts the workspace's pre-started proxy, or reports the one already answering. */
export async function startPreStartedProxy(
  workspaceRoot: string,
  input: SpawnProxyInput & { lifetimeMs: number },
): Promise<{ proxy: PreStartedProxy; alreadyRunning: boolean }> {
  ensurePrivateDir(input.settings.stateDir);
  const running = await answeringProxy(input.settings, workspaceRoot);
  if (running) return { proxy: running, alreadyRunning: true };
  const key = preStartedKey(workspaceRoot);
  const paths = proxyPaths(input.settings.stateDir, key);
  const release = acquireLock(paths.lockFile);
  if (!release)
    throw new SealedCacheError(
      'ERR_PROXY_START_FAILED',
      `Another process is starting the proxy for this workspace (lock ${paths.lockFile}).`,
    );
  try {
    fs.rmSync(paths.stateFile, { force: true });
    const state = await spawnProxy(paths, input);
    return { proxy: { key, stateFile: paths.stateFile, logFile: paths.logFile, state }, alreadyRunning: false };
  } finally {
    release();
  }
}

/** The pre-started proxy if its state file exists and it answers its control channel. */
export async function answeringProxy(
  settings: ProxySettings,
  workspaceRoot: string,
): Promise<(PreStartedProxy & { runs: number }) | null> {
  const found = findPreStartedProxy(settings, workspaceRoot);
  if (!found) return null;
  try {
    const ping = await pingProxy(found.state);
    return ping.pid === found.state.pid ? { ...found, runs: ping.runs } : null;
  } catch {
    return null;
  }
}

/** SIGTERM: the proxy removes its own state file on the way out; a stale file is removed here. */
export async function stopPreStartedProxy(
  settings: ProxySettings,
  workspaceRoot: string,
): Promise<{ stopped: boolean; pid?: number }> {
  const found = findPreStartedProxy(settings, workspaceRoot);
  if (!found) return { stopped: false };
  const alive = await answeringProxy(settings, workspaceRoot);
  if (alive) {
    process.kill(alive.state.pid, 'SIGTERM');
    await waitUntilGone(found.stateFile);
  }
  fs.rmSync(found.stateFile, { force: true });
  return alive ? { stopped: true, pid: alive.state.pid } : { stopped: false };
}

async function waitUntilGone(stateFile: string): Promise<void> {
  for (let attempt = 0; attempt < 100 && fs.existsSync(stateFile); attempt += 1) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export function canonicalRoot(workspaceRoot: string): string {
  const absolute = path.resolve(workspaceRoot);
  try {
    return fs.realpathSync(absolute);
  } catch {
    return absolute;
  }
}
