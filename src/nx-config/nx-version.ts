/** Which Nx the workspace runs, and therefore which integration path it needs. */
import { SealedCacheError } from '../errors';
import type { WorkspaceTree } from './nx-devkit';

export interface NxVersion {
  major: number;
  minor: number;
  patch: number;
  /** Where the version came from, for the generator's explanation. */
  source: 'option' | 'node_modules' | 'package.json';
  raw: string;
}

/** `runner`: custom tasks runner (Nx 17 – 20.7). `plugin`: preTasksExecution hook plus sealing proxy (Nx 20.8+). */
export type IntegrationPath = 'runner' | 'plugin';

export const OLDEST_SUPPORTED_MAJOR = 17;
export const NEWEST_TESTED_MAJOR = 24;

/** First `x[.y[.z]]` in a version or range such as `20.8.2`, `^19.2.0`, `~20.7`, `>=17 <25`. */
export function parseNxVersion(raw: string, source: NxVersion['source']): NxVersion | null {
  const match = /(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(raw);
  if (!match) return null;
  return { major: Number(match[1]), minor: Number(match[2] ?? 0), patch: Number(match[3] ?? 0), source, raw };
}

/** Explicit option, then the installed `node_modules/nx`, then the range declared in package.json. */
export function detectNxVersion(tree: WorkspaceTree, explicit?: string): NxVersion {
  if (explicit !== undefined) return parseOrThrow(explicit, 'option');
  const installed = readVersionField(tree, 'node_modules/nx/package.json');
  if (installed) return parseOrThrow(installed, 'node_modules');
  const declared = readDeclaredNxRange(tree);
  if (declared) return parseOrThrow(declared, 'package.json');
  throw new SealedCacheError(
    'ERR_NX_VERSION_UNKNOWN',
    'cannot tell which Nx this workspace uses: nx is neither in node_modules nor in package.json. Install nx or pass --nxVersion.',
  );
}

export function chooseIntegrationPath(version: NxVersion): IntegrationPath {
  if (version.major < OLDEST_SUPPORTED_MAJOR) {
    throw new SealedCacheError(
      'ERR_NX_VERSION_UNSUPPORTED',
      `Nx ${formatNxVersion(version)} is older than ${OLDEST_SUPPORTED_MAJOR}; nx-sealed-cache supports Nx ${OLDEST_SUPPORTED_MAJOR}–${NEWEST_TESTED_MAJOR}.`,
    );
  }
  if (version.major < 20 || (version.major === 20 && version.minor < 8)) return 'runner';
  return 'plugin';
}

export function formatNxVersion(version: NxVersion): string {
  return `${version.major}.${version.minor}.${version.patch}`;
}

function parseOrThrow(raw: string, source: NxVersion['source']): NxVersion {
  const parsed = parseNxVersion(raw, source);
  if (!parsed) {
    throw new SealedCacheError(
      'ERR_NX_VERSION_UNKNOWN',
      `cannot read an Nx version from "${raw}" (${source}); pass --nxVersion like 20.8.2.`,
    );
  }
  return parsed;
}

function readVersionField(tree: WorkspaceTree, path: string): string | undefined {
  const json = readJsonObject(tree, path);
  return typeof json?.version === 'string' ? json.version : undefined;
}

function readDeclaredNxRange(tree: WorkspaceTree): string | undefined {
  const json = readJsonObject(tree, 'package.json');
  for (const field of ['devDependencies', 'dependencies']) {
    const deps = json?.[field];
    if (deps && typeof deps === 'object' && typeof (deps as Record<string, unknown>).nx === 'string') {
      return (deps as Record<string, string>).nx;
    }
  }
  return undefined;
}

function readJsonObject(tree: WorkspaceTree, path: string): Record<string, unknown> | undefined {
  if (!tree.exists(path)) return undefined;
  try {
    const parsed: unknown = JSON.parse(tree.read(path, 'utf-8') ?? '');
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
