/**
 * `serve`'s configuration from its three sources, merged flags > env vars > config file > defaults,
 * validated once, with errors that name where the bad value came from (ERR_CONFIG_INVALID).
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { SealedCacheError, isSealedCacheError } from '../../errors';
import { type ServerConfig, ServerConfig as ServerConfigSchema, type ServerConfigInput } from './server-config';
import {
  CONFIG_OPTIONS,
  type ConfigOption,
  type ConfigValue,
  envVarOf,
  flagOf,
  parseOptionText,
} from './config-options';

export const CONFIG_PATH_ENV = 'NX_SEALED_CACHE_SERVER_CONFIG';

export interface ConfigSources {
  /** Flag values as commander gives them (text), keyed by config key; absent when not given. */
  flags: Partial<Record<string, string>>;
  env: Record<string, string | undefined>;
  /** `--config` (else env NX_SEALED_CACHE_SERVER_CONFIG). */
  configPath?: string;
}

type Origin = string;

function describeFlag(option: ConfigOption): Origin {
  return `flag ${flagOf(option.key)}`;
}

function parseFrom(origin: Origin, option: ConfigOption, text: string): ConfigValue {
  try {
    return parseOptionText(option.kind, text);
  } catch (err) {
    const reason = isSealedCacheError(err) ? err.message : String(err);
    throw new SealedCacheError('ERR_CONFIG_INVALID', `${origin}: ${reason}`, { cause: err });
  }
}

function readConfigFile(path: string): Record<string, ConfigValue> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new SealedCacheError(
      'ERR_CONFIG_INVALID',
      `config file ${path}: cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      { cause: err },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new SealedCacheError(
      'ERR_CONFIG_INVALID',
      `config file ${path}: not valid JSON (${(err as Error).message})`,
      { cause: err },
    );
  }
  const parsed = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).safeParse(json);
  if (!parsed.success)
    throw new SealedCacheError(
      'ERR_CONFIG_INVALID',
      `config file ${path}: must be one JSON object of strings, numbers and booleans`,
    );
  return parsed.data;
}

function fileValues(path: string, into: Map<string, { value: ConfigValue; origin: Origin }>): void {
  const known = new Map(CONFIG_OPTIONS.map((o) => [o.key as string, o]));
  for (const [key, raw] of Object.entries(readConfigFile(path))) {
    const option = known.get(key);
    const origin = `config file ${path} key "${key}"`;
    if (option === undefined)
      throw new SealedCacheError(
        'ERR_CONFIG_INVALID',
        `${origin}: unknown option (known: ${[...known.keys()].join(', ')})`,
      );
    into.set(key, { value: typeof raw === 'string' ? parseFrom(origin, option, raw) : raw, origin });
  }
}

/** Merges the sources; the schema then checks the merged values, naming each bad value's origin. */
export function resolveServeConfig(sources: ConfigSources): ServerConfig {
  const merged = new Map<string, { value: ConfigValue; origin: Origin }>();
  const configPath = sources.configPath ?? sources.env[CONFIG_PATH_ENV];
  if (configPath !== undefined && configPath !== '') fileValues(configPath, merged);
  for (const option of CONFIG_OPTIONS) {
    const envText = sources.env[envVarOf(option.key)];
    if (envText !== undefined && envText !== '')
      merged.set(option.key, {
        value: parseFrom(`env ${envVarOf(option.key)}`, option, envText),
        origin: `env ${envVarOf(option.key)}`,
      });
    const flagText = sources.flags[option.key];
    if (flagText !== undefined)
      merged.set(option.key, {
        value: parseFrom(describeFlag(option), option, flagText),
        origin: describeFlag(option),
      });
  }
  const input = Object.fromEntries([...merged].map(([key, { value }]) => [key, value])) as ServerConfigInput;
  const parsed = ServerConfigSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    const key = String(issue.path[0] ?? '');
    const origin = merged.get(key)?.origin ?? 'default';
    return `${origin} (${key}): ${issue.message}`;
  });
  throw new SealedCacheError('ERR_CONFIG_INVALID', `invalid server configuration: ${problems.join('; ')}`);
}
