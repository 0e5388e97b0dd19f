import { SealedCacheError } from '../errors';

export function parsePort(text: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65535)
    throw new SealedCacheError('ERR_INPUT_INVALID', `--port must be 0-65535 (got "${text}")`);
  return port;
}

export function parsePositiveInt(text: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < 1)
    throw new SealedCacheError('ERR_INPUT_INVALID', `expected a positive whole number (got "${text}")`);
  return value;
}
