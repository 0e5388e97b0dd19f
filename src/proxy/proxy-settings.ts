/**
 * Tunables of the sealing proxy, read from the environment only when asked (never at import time).
 */
import os from 'node:os';
import path from 'node:path';
import { SealedCacheError } from '../errors';

export interface ProxySettings {
  /** Where state files, locks and logs live: a folder only this user can enter. */
  stateDir: string;
  /** With no run registered and no request in flight, the proxy exits after this long. */
  idleMs: number;
  /** A run whose `postTasksExecution` never came (Nx killed) is forgotten after this long without requests. */
  runTtlMs: number;
  /** Upper bound for answering one cache request, whatever the upstream does. */
  requestDeadlineMs: number;
}

const DEFAULT_IDLE_MS = 10 * 60_000;
const DEFAULT_RUN_TTL_MS = 6 * 60 * 60_000;
const DEFAULT_REQUEST_DEADLINE_MS = 5 * 60_000;

const MAX_MS = 7 * 24 * 60 * 60_000;
const MS_VARIABLES = [
  'NX_SEALED_CACHE_PROXY_IDLE_MS',
  'NX_SEALED_CACHE_PROXY_RUN_TTL_MS',
  'NX_SEALED_CACHE_PROXY_DEADLINE_MS',
] as const;

/** Checked by hand, not with zod: the plugin's hooks read these on every run (docs/benchmarks.md, section 7). */
export function readProxySettings(env: NodeJS.ProcessEnv): ProxySettings {
  const ms: Partial<Record<(typeof MS_VARIABLES)[number], number>> = {};
  const invalid: string[] = [];
  for (const name of MS_VARIABLES) {
    const raw = env[name]?.trim();
    if (raw === undefined || raw === '') continue;
    const value = /^\d{1,10}$/.test(raw) ? Number(raw) : NaN;
    if (Number.isInteger(value) && value >= 1 && value <= MAX_MS) ms[name] = value;
    else invalid.push(name);
  }
  if (invalid.length > 0) {
    throw new SealedCacheError(
      'ERR_CONFIG_INVALID',
      `Invalid proxy setting in the environment: ${invalid.join(', ')} (whole milliseconds from 1 to ${MAX_MS}).`,
    );
  }
  const stateDir = nonEmpty(env.NX_SEALED_CACHE_PROXY_DIR);
  return {
    stateDir: stateDir ?? defaultStateDir(nonEmpty(env.XDG_RUNTIME_DIR)),
    idleMs: ms.NX_SEALED_CACHE_PROXY_IDLE_MS ?? DEFAULT_IDLE_MS,
    runTtlMs: ms.NX_SEALED_CACHE_PROXY_RUN_TTL_MS ?? DEFAULT_RUN_TTL_MS,
    requestDeadlineMs: ms.NX_SEALED_CACHE_PROXY_DEADLINE_MS ?? DEFAULT_REQUEST_DEADLINE_MS,
  };
}

/** XDG_RUNTIME_DIR is per user and 0700 already; otherwise a per-uid folder in the temp dir. */
function defaultStateDir(xdgRuntimeDir: string | undefined): string {
  if (xdgRuntimeDir) return path.join(xdgRuntimeDir, 'nx-sealed-cache');
  const uid = typeof process.getuid === 'function' ? String(process.getuid()) : os.userInfo().username;
  return path.join(os.tmpdir(), `nx-sealed-cache-${uid}`);
}

function nonEmpty(value: string | undefined): string | undefined {
  return value !== undefined && value !== '' ? value : undefined;
}
