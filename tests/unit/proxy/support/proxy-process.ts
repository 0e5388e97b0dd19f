/** Helpers to run the proxy as its own process from source, and to find and stop it afterwards. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ProxyEntry } from '../../../../src/proxy/proxy-launcher';
import { listProxyStates } from '../../../../src/proxy/state-file';

export function sourceProxyEntry(): ProxyEntry {
  return {
    execPath: process.execPath,
    args: [
      '--require',
      path.join(__dirname, 'ts-register.js'),
      path.join(__dirname, '../../../../src/proxy/proxy-main.ts'),
    ],
  };
}

/**
 * Loads the proxy's source once in a throwaway process so ts-register's cache is filled before the
 * timed tests spawn proxies (a cold transpile takes seconds on a busy machine; a warm start does not).
 */
export function warmProxyEntry(): void {
  const entry = sourceProxyEntry();
  const [register, main] = [entry.args[1]!, entry.args[2]!];
  execFileSync(entry.execPath, ['--require', register, '--eval', `require(${JSON.stringify(main)})`], {
    stdio: 'ignore',
  });
}

export function makeStateDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'nxsc-proxy-state-'));
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Stops every proxy that published a state file in `stateDir` (SIGTERM lets it remove its temp dir), then the folder. */
export async function killProxiesIn(stateDir: string): Promise<void> {
  const pids = listProxyStates(stateDir)
    .map(({ state }) => state.pid)
    .filter(isAlive);
  pids.forEach((pid) => process.kill(pid, 'SIGTERM'));
  await waitFor(() => !pids.some(isAlive), 5_000);
  pids.filter(isAlive).forEach((pid) => process.kill(pid, 'SIGKILL'));
  fs.rmSync(stateDir, { recursive: true, force: true });
}

export async function waitFor(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const giveUpAt = Date.now() + timeoutMs;
  while (Date.now() < giveUpAt) {
    if (condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return condition();
}
