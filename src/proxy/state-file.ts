/**
 * The state file lets later Nx processes find a running proxy again: port, pid and the control
 * secret, never the real credential. It lives in a 0700 folder owned by the user, mode 0600.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { SealedCacheError } from '../errors';

export interface ProxyState {
  version: 1;
  pid: number;
  port: number;
  controlSecret: string;
  startedAt: string;
  /** Set by `nx-sealed-cache proxy start`: when it exits by itself (no secret, shown by `proxy status`). */
  expiresAt?: string;
}

/**
 * Checked by hand, not with zod: the plugin's hooks read the state file on every run, and loading zod in
 * Nx's fresh worker costs more than the rest of the hook (docs/benchmarks.md, section 7).
 */
export function isProxyState(value: unknown): value is ProxyState {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    v.version === 1 &&
    isIntegerIn(v.pid, 1, Number.MAX_SAFE_INTEGER) &&
    isIntegerIn(v.port, 1, 65535) &&
    typeof v.controlSecret === 'string' &&
    v.controlSecret.length >= 32 &&
    v.controlSecret.length <= 256 &&
    typeof v.startedAt === 'string' &&
    (v.expiresAt === undefined || typeof v.expiresAt === 'string')
  );
}

function isIntegerIn(value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}

export interface ProxyPaths {
  stateFile: string;
  lockFile: string;
  logFile: string;
}

/**
 * What makes two runs able to share one proxy (workspace, client inputs, resolved credential),
 * as a digest, so the file name reveals nothing about the credential or the keys.
 */
export function proxyKey(identity: unknown[]): string {
  return createHash('sha256').update(JSON.stringify(identity)).digest('hex').slice(0, 32);
}

export function proxyPaths(stateDir: string, key: string): ProxyPaths {
  return {
    stateFile: path.join(stateDir, `proxy-${key}.json`),
    lockFile: path.join(stateDir, `proxy-${key}.lock`),
    logFile: path.join(stateDir, `proxy-${key}.log`),
  };
}

/** Creates the folder 0700, or refuses one that another user could read or plant files in. */
export function ensurePrivateDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const stat = fs.lstatSync(dir);
  if (!stat.isDirectory()) {
    throw new SealedCacheError('ERR_PROXY_STATE_UNSAFE', `The proxy state path ${dir} is not a directory.`);
  }
  const uid = typeof process.getuid === 'function' ? process.getuid() : undefined;
  if (uid !== undefined && stat.uid !== uid) {
    throw new SealedCacheError('ERR_PROXY_STATE_UNSAFE', `The proxy state directory ${dir} belongs to another user.`);
  }
  if (process.platform !== 'win32' && (stat.mode & 0o077) !== 0) fs.chmodSync(dir, 0o700);
}

/** Returns null for a missing, unreadable or malformed file: the caller then starts a new proxy. */
export function readProxyState(stateFile: string): ProxyState | null {
  let text: string;
  try {
    text = fs.readFileSync(stateFile, 'utf8');
  } catch {
    return null;
  }
  try {
    const parsed: unknown = JSON.parse(text);
    return isProxyState(parsed) ? parsed : null;
  } catch {
    return null;
  }
}

/** Written to a temporary name and renamed, so readers never see half a file. */
export function writeProxyState(stateFile: string, state: ProxyState): void {
  const temp = `${stateFile}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  fs.writeFileSync(temp, JSON.stringify(state), { mode: 0o600, flag: 'wx' });
  fs.renameSync(temp, stateFile);
}

/** Removes the state file only if it still describes this process (a successor may have replaced it). */
export function removeProxyStateIfOwned(stateFile: string, pid: number): void {
  const state = readProxyState(stateFile);
  if (state?.pid !== pid) return;
  try {
    fs.unlinkSync(stateFile);
  } catch {
    // Already gone: nothing to clean.
  }
}

/** Every proxy state in the folder, for tests and `doctor` to find (and stop) running proxies. */
export function listProxyStates(stateDir: string): Array<{ stateFile: string; state: ProxyState }> {
  let names: string[];
  try {
    names = fs.readdirSync(stateDir);
  } catch {
    return [];
  }
  return names
    .filter((name) => /^proxy-[0-9a-f]{32}\.json$/.test(name))
    .map((name) => path.join(stateDir, name))
    .flatMap((stateFile) => {
      const state = readProxyState(stateFile);
      return state ? [{ stateFile, state }] : [];
    });
}
