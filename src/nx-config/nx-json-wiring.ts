/**
 * Reads and rewrites where nx-sealed-cache is wired in nx.json: a tasks runner under
 * `tasksRunnerOptions` (Nx 17 – 20.7) or an entry in `plugins` (Nx 20.8+). Pure functions over a copy.
 */
import { z } from 'zod';
import { SealedCacheError } from '../errors';
import { SEALED_CACHE_OPTION_KEYS } from '../client/options';
import type { NxJson } from './nx-devkit';

export const PACKAGE_NAME = 'nx-sealed-cache';

type OptionsRecord = Record<string, unknown>;

const RunnerEntry = z.looseObject({
  runner: z.string().optional(),
  options: z.record(z.string(), z.unknown()).optional(),
});
const PluginObject = z.looseObject({ plugin: z.string(), options: z.record(z.string(), z.unknown()).optional() });
const NxJsonWiringShape = z.looseObject({
  tasksRunnerOptions: z.record(z.string(), RunnerEntry).optional(),
  plugins: z.array(z.union([z.string(), PluginObject])).optional(),
  useLegacyCache: z.boolean().optional(),
});
type NxJsonWiringShape = z.infer<typeof NxJsonWiringShape>;
type PluginEntry = NonNullable<NxJsonWiringShape['plugins']>[number];

export interface SealedCacheWiring {
  /** Names under `tasksRunnerOptions` whose runner is this package. */
  runnerNames: string[];
  /** Indexes in `plugins` that load this package. */
  pluginIndexes: number[];
  /** Our option keys gathered from all of them (plugin wins over runner). */
  options: OptionsRecord;
}

export function isOurRunner(runner: string | undefined): boolean {
  return runner === PACKAGE_NAME || (runner?.startsWith(`${PACKAGE_NAME}/`) ?? false);
}

export function findSealedCacheWiring(nxJson: NxJson): SealedCacheWiring {
  const shape = parseWiringShape(nxJson);
  const runnerNames = Object.entries(shape.tasksRunnerOptions ?? {})
    .filter(([, entry]) => isOurRunner(entry.runner))
    .map(([name]) => name);
  const pluginIndexes = (shape.plugins ?? []).flatMap((entry, index) => (isOurPlugin(entry) ? [index] : []));
  const options: OptionsRecord = {};
  for (const name of runnerNames) Object.assign(options, pickOurOptions(shape.tasksRunnerOptions?.[name]?.options));
  for (const index of pluginIndexes) Object.assign(options, pickOurOptions(pluginOptions(shape.plugins?.[index])));
  return { runnerNames, pluginIndexes, options };
}

/** Runner path: `tasksRunnerOptions.default` runs us; our plugin entries go; Nx 20 also needs the legacy cache. */
export function wireRunner(nxJson: NxJson, ours: OptionsRecord, needsLegacyCache: boolean): NxJson {
  const next = withoutOurPlugins(structuredClone(nxJson));
  const shape = parseWiringShape(next);
  const current = shape.tasksRunnerOptions?.default ?? {};
  next.tasksRunnerOptions = {
    ...shape.tasksRunnerOptions,
    default: { ...current, runner: PACKAGE_NAME, options: { ...current.options, ...ours } },
  };
  if (needsLegacyCache) next.useLegacyCache = true;
  return next;
}

/** Plugin path: one entry in `plugins` carries our options; our runners and the legacy cache switch go. */
export function wirePlugin(nxJson: NxJson, ours: OptionsRecord): NxJson {
  const next = withoutOurRunners(structuredClone(nxJson));
  // Nx 20.8's built-in HTTP cache only runs on the database cache, which `useLegacyCache` turns off.
  if (next.useLegacyCache === true) delete next.useLegacyCache;
  const plugins = parseWiringShape(next).plugins ?? [];
  const firstOurs = plugins.findIndex(isOurPlugin);
  next.plugins =
    firstOurs === -1
      ? [...plugins, withOptions(PACKAGE_NAME, ours)]
      : plugins.flatMap((entry, index) =>
          !isOurPlugin(entry) ? [entry] : index === firstOurs ? [withOptions(entry, ours)] : [],
        );
  return next;
}

/** Our option keys only, so Nx's own runner options never leak into plugin options and back. */
export function pickOurOptions(raw: OptionsRecord | undefined): OptionsRecord {
  const picked: OptionsRecord = {};
  for (const key of SEALED_CACHE_OPTION_KEYS) if (raw?.[key] !== undefined) picked[key] = raw[key];
  return picked;
}

/** The options object of every place we are wired, in nx.json order (runners first). */
export function listWiredOptions(nxJson: NxJson): OptionsRecord[] {
  const shape = parseWiringShape(nxJson);
  const runners = Object.values(shape.tasksRunnerOptions ?? {}).filter((entry) => isOurRunner(entry.runner));
  const plugins = (shape.plugins ?? []).filter(isOurPlugin);
  return [...runners.map((entry) => entry.options ?? {}), ...plugins.map((entry) => pluginOptions(entry) ?? {})];
}

/** Applies `edit` to the options of every place we are wired; used to swap a token for an id. */
export function updateWiredOptions(nxJson: NxJson, edit: (options: OptionsRecord) => OptionsRecord): NxJson {
  const next = structuredClone(nxJson);
  const shape = parseWiringShape(next);
  for (const entry of Object.values(shape.tasksRunnerOptions ?? {})) {
    if (isOurRunner(entry.runner)) entry.options = edit({ ...entry.options });
  }
  if (shape.plugins) {
    shape.plugins = shape.plugins.map((entry) =>
      isOurPlugin(entry) ? { ...toObject(entry), options: edit({ ...pluginOptions(entry) }) } : entry,
    );
  }
  return next;
}

function withoutOurPlugins(nxJson: NxJson): NxJson {
  const plugins = parseWiringShape(nxJson).plugins;
  if (!plugins) return nxJson;
  const kept = plugins.filter((entry) => !isOurPlugin(entry));
  if (kept.length === plugins.length) return nxJson;
  const { plugins: _dropped, ...rest } = nxJson;
  return kept.length > 0 ? { ...rest, plugins: kept } : rest;
}

/** Drops our runner and options but keeps Nx's own (e.g. `parallel`, `cacheableOperations`) under the default runner. */
function withoutOurRunners(nxJson: NxJson): NxJson {
  const runners = parseWiringShape(nxJson).tasksRunnerOptions;
  if (!runners) return nxJson;
  const kept: Record<string, z.infer<typeof RunnerEntry>> = {};
  for (const [name, entry] of Object.entries(runners)) {
    if (!isOurRunner(entry.runner)) {
      kept[name] = entry;
      continue;
    }
    const { runner: _runner, options, ...rest } = entry;
    const remaining = Object.fromEntries(
      Object.entries(options ?? {}).filter(([key]) => !(SEALED_CACHE_OPTION_KEYS as readonly string[]).includes(key)),
    );
    const cleaned = Object.keys(remaining).length > 0 ? { ...rest, options: remaining } : rest;
    if (Object.keys(cleaned).length > 0) kept[name] = cleaned;
  }
  const { tasksRunnerOptions: _dropped, ...others } = nxJson;
  return Object.keys(kept).length > 0 ? { ...others, tasksRunnerOptions: kept } : others;
}

/** Keeps the short string form when there is nothing to configure. */
function withOptions(entry: PluginEntry, ours: OptionsRecord): PluginEntry {
  const options = { ...pluginOptions(entry), ...ours };
  if (Object.keys(options).length === 0) return entry;
  return { ...toObject(entry), options };
}

function toObject(entry: PluginEntry): Exclude<PluginEntry, string> {
  return typeof entry === 'string' ? { plugin: entry } : entry;
}

function isOurPlugin(entry: PluginEntry): boolean {
  return pluginName(entry) === PACKAGE_NAME;
}

function pluginName(entry: PluginEntry | undefined): string | undefined {
  return typeof entry === 'string' ? entry : entry?.plugin;
}

function pluginOptions(entry: PluginEntry | undefined): OptionsRecord | undefined {
  return typeof entry === 'string' ? undefined : entry?.options;
}

function parseWiringShape(nxJson: NxJson): NxJsonWiringShape {
  const result = NxJsonWiringShape.safeParse(nxJson);
  if (!result.success) {
    const where = result.error.issues[0]?.path.join('.') || 'nx.json';
    throw new SealedCacheError(
      'ERR_CONFIG_INVALID',
      `nx.json "${where}" has an unexpected shape: ${result.error.issues[0]?.message ?? 'invalid'}`,
    );
  }
  // Validated, but the original objects are returned so edits keep the user's key order.
  return nxJson as NxJsonWiringShape;
}
