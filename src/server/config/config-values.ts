/** Text forms of configuration values (flags, env vars, config files): durations, sizes, switches. */
import { SealedCacheError } from '../../errors';
import { parseByteSize } from './server-config';

const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
};

/** `500ms`, `30s`, `10m`, `12h`, `30d`, `2w`, or `0` (off). */
export function parseDuration(text: string): number {
  const match = /^(\d+)\s*(ms|s|m|h|d|w)?$/i.exec(text.trim());
  if (!match || (match[2] === undefined && match[1] !== '0')) {
    throw new SealedCacheError(
      'ERR_CONFIG_INVALID',
      `not a duration: "${text}" (examples: 500ms, 30s, 10m, 12h, 30d, or 0)`,
    );
  }
  return Number(match[1]) * DURATION_UNITS[(match[2] ?? 'ms').toLowerCase()];
}

export function parseBoolean(text: string): boolean {
  const value = text.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(value)) return true;
  if (['0', 'false', 'no', 'off'].includes(value)) return false;
  throw new SealedCacheError('ERR_CONFIG_INVALID', `not a boolean: "${text}" (use true or false)`);
}

export function parseWholeNumber(text: string): number {
  if (!/^\d+$/.test(text.trim())) throw new SealedCacheError('ERR_CONFIG_INVALID', `not a whole number: "${text}"`);
  return Number(text.trim());
}

export { parseByteSize };
