/**
 * Tunables of the sealing proxy, read from the environment only when asked (never at import time).
 */
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
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

const Milliseconds = z.coerce
  .number()
  .int()
  .min(1)
  .max(7 * 24 * 60 * 60_000);

const ProxyEnv = z.object({
  NX_SEALED_CACHE_PROXY_DIR: z.string().min(1).optional(),
  NX_SEALED_CACHE_PROXY_IDLE_MS: Milliseconds.optional(),
  NX_SEALED_CACHE_PROXY_RUN_TTL_MS: Milliseconds.optional(),
  NX_SEALED_CACHE_PROXY_DEADLINE_MS: Milliseconds.optional(),
  XDG_RUNTIME_DIR: z.string().min(1).optional(),
});

export function readProxySettings(env: NodeJS.ProcessEnv): ProxySettings {
  const parsed = ProxyEnv.safeParse(pickDefined(env, Object.keys(ProxyEnv.shape)));
  if (!parsed.success) {
    const names = parsed.error.issues.map((issue) => issue.path.join('.')).join(', ');
    throw new SealedCacheError('ERR_CONFIG_INVALID', `Invalid proxy setting in the environment: ${names}.`, {
      cause: parsed.error,
    });
  }
  const values = parsed.data;
  return {
    stateDir: values.NX_SEALED_CACHE_PROXY_DIR ?? defaultStateDir(values.XDG_RUNTIME_DIR),
    idleMs: values.NX_SEALED_CACHE_PROXY_IDLE_MS ?? DEFAULT_IDLE_MS,
    runTtlMs: values.NX_SEALED_CACHE_PROXY_RUN_TTL_MS ?? DEFAULT_RUN_TTL_MS,
    requestDeadlineMs: values.NX_SEALED_CACHE_PROXY_DEADLINE_MS ?? DEFAULT_REQUEST_DEADLINE_MS,
  };
}

/** XDG_RUNTIME_DIR is per user and 0700 already; otherwise a per-uid folder in the temp dir. */
function defaultStateDir(xdgRuntimeDir: string | undefined): string {
  if (xdgRuntimeDir) return path.join(xdgRuntimeDir, 'nx-sealed-cache');
  const uid = typeof process.getuid === 'function' ? String(process.getuid()) : os.userInfo().username;
  return path.join(os.tmpdir(), `nx-sealed-cache-${uid}`);
}

function pickDefined(env: NodeJS.ProcessEnv, names: string[]): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const name of names) {
    const value = env[name];
    if (value !== undefined && value !== '') picked[name] = value;
  }
  return picked;
}
