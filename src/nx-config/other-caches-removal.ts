/**
 * Takes the caches `findOtherCaches` reports out of nx.json and package.json, keeping every setting
 * that belongs to Nx itself (runner options such as `cacheableOperations`, other plugins). Pure.
 */
import {
  ADAPTERS,
  NX_CLOUD_KEYS,
  NX_CLOUD_PACKAGES,
  NX_RUNNER_OPTION_KEYS,
  asObject,
  carriesCloudToken,
  isCustomCacheRunner,
  isNxCloudRunner,
} from './other-caches';
import type { NxJson } from './nx-devkit';

type Json = Record<string, unknown>;

export function removeOtherCachesFromNxJson(nxJson: NxJson): NxJson {
  const next = structuredClone(nxJson);
  for (const key of [
    ...NX_CLOUD_KEYS,
    ...ADAPTERS.flatMap((adapter) => (adapter.nxJsonKey ? [adapter.nxJsonKey] : [])),
  ])
    delete next[key];
  if (Array.isArray(next.plugins)) {
    const kept = next.plugins.filter(
      (entry) => !isOtherCachePackage(typeof entry === 'string' ? entry : asObject(entry)?.plugin),
    );
    if (kept.length !== next.plugins.length) next.plugins = kept;
  }
  const runners = asObject(next.tasksRunnerOptions);
  if (!runners) return next;
  for (const [name, raw] of Object.entries(runners)) {
    const entry = asObject(raw);
    if (!entry) continue;
    const options = asObject(entry.options) ?? {};
    const cacheRunner = isNxCloudRunner(entry.runner) || isCustomCacheRunner(entry.runner);
    if (!cacheRunner && !carriesCloudToken(entry.runner, options)) continue;
    const { runner, options: _options, ...rest } = entry;
    const nxOptions = Object.fromEntries(
      Object.entries(options).filter(([key]) => NX_RUNNER_OPTION_KEYS.includes(key)),
    );
    const cleaned: Json = {
      ...(cacheRunner ? {} : { runner }),
      ...rest,
      ...(Object.keys(nxOptions).length > 0 ? { options: nxOptions } : {}),
    };
    if (Object.keys(cleaned).length > 0) runners[name] = cleaned;
    else delete runners[name];
  }
  if (Object.keys(runners).length === 0) delete next.tasksRunnerOptions;
  return next;
}

/** Drops the old caches' packages from dependencies and devDependencies; everything else stays. */
export function removeOtherCachesFromPackageJson(packageJson: Json): Json {
  const next = structuredClone(packageJson);
  for (const field of ['devDependencies', 'dependencies']) {
    const deps = asObject(next[field]);
    if (!deps) continue;
    for (const pkg of Object.keys(deps)) if (isOtherCachePackage(pkg)) delete deps[pkg];
  }
  return next;
}

function isOtherCachePackage(name: unknown): boolean {
  if (typeof name !== 'string') return false;
  return (
    NX_CLOUD_PACKAGES.includes(name) ||
    ADAPTERS.some((adapter) => adapter.packages.includes(name)) ||
    isCustomCacheRunner(name)
  );
}
