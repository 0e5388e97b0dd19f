/**
 * What the runner needs from the user's workspace: its root, its own Nx (never this package's),
 * and whether Nx 20 will call the remote cache at all.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { SealedCacheError } from '../errors';

/** The subset of `nx/tasks-runners/default` this package relies on, stable across Nx 17–20. */
export type NxTasksRunner = (tasks: unknown[], options: Record<string, unknown>, context?: unknown) => unknown;

/** NX_WORKSPACE_ROOT_PATH (as Nx itself honours), else the nearest folder above `cwd` holding nx.json. */
export function findWorkspaceRoot(cwd: string, env: NodeJS.ProcessEnv): string {
  const fromEnv = env.NX_WORKSPACE_ROOT_PATH?.trim();
  if (fromEnv) return fromEnv;
  for (let dir = cwd; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'nx.json'))) return dir;
    if (dirname(dir) === dir) return cwd;
  }
}

/** Loads the default tasks runner of the Nx installed in the workspace; 'default' in m covers ESM-style exports. */
export function loadDefaultTasksRunner(workspaceRoot: string): NxTasksRunner {
  let modulePath: string;
  try {
    modulePath = require.resolve('nx/tasks-runners/default', { paths: [workspaceRoot] });
  } catch (cause) {
    throw new SealedCacheError(
      'ERR_CONFIG_INVALID',
      `cannot find nx in the workspace at ${workspaceRoot}; is it installed?`,
      { cause },
    );
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the workspace's own Nx, at a path known only at run time
  const loaded = require(modulePath) as unknown;
  const candidate = pickDefaultExport(loaded);
  if (typeof candidate !== 'function') {
    throw new SealedCacheError('ERR_CONFIG_INVALID', `${modulePath} does not export a tasks runner`);
  }
  return candidate as NxTasksRunner;
}

function pickDefaultExport(loaded: unknown): unknown {
  if (typeof loaded === 'object' && loaded !== null) {
    const record = loaded as Record<string, unknown>;
    return record.default ?? record.defaultTasksRunner;
  }
  return loaded;
}

const NxPackageJson = z.object({ version: z.string() });

/** The major version of the workspace's Nx, or undefined when it cannot be read. */
export function readWorkspaceNxMajor(workspaceRoot: string): number | undefined {
  try {
    const path = require.resolve('nx/package.json', { paths: [workspaceRoot] });
    const parsed = NxPackageJson.safeParse(JSON.parse(readFileSync(path, 'utf8')));
    const major = parsed.success ? Number(/^(\d+)\./.exec(parsed.data.version)?.[1]) : NaN;
    return Number.isInteger(major) ? major : undefined;
  } catch {
    return undefined;
  }
}

const NxJsonCacheFlags = z.object({ useLegacyCache: z.boolean().optional() }).passthrough();

/**
 * Nx 20's database cache never calls a custom runner's remote cache; only the legacy cache does.
 * Returns the fix to print when the remote cache would be silently unused, else undefined.
 */
export function missingLegacyCacheWarning(
  nxMajor: number | undefined,
  nxJson: unknown,
  env: NodeJS.ProcessEnv,
): string | undefined {
  if (nxMajor !== 20) return undefined;
  const flags = NxJsonCacheFlags.safeParse(nxJson ?? {});
  const legacyCache =
    (flags.success && flags.data.useLegacyCache === true) ||
    env.NX_DB_CACHE === 'false' ||
    env.NX_DISABLE_DB === 'true';
  if (legacyCache) return undefined;
  return (
    "nx-sealed-cache: the remote cache is not used. Nx 20 calls a custom runner's remote cache only with its legacy cache: " +
    'add "useLegacyCache": true to nx.json (or set NX_DB_CACHE=false). On Nx 20.8+ you can use the nx-sealed-cache plugin instead (nx g nx-sealed-cache:init).'
  );
}
