/** Pointing Nx's built-in HTTP cache at a server, and asking that server directly what it holds. */
import type { RunEnv } from './workspace';

/** The two variables Nx 20.8+ reads; a missing token leaves the variable unset (anonymous). */
export function selfHostedCacheEnv(url: string, token?: string): RunEnv {
  return {
    NX_SELF_HOSTED_REMOTE_CACHE_SERVER: url,
    NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN: token,
  };
}

/** Status of `GET <baseUrl>/v1/cache/<hash>` (200 stored, 404 absent, 401 ...), body discarded. */
export async function cacheEntryStatus(baseUrl: string, hash: string, token?: string): Promise<number> {
  const response = await fetch(`${baseUrl}/v1/cache/${hash}`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  await response.arrayBuffer();
  return response.status;
}

/** Status per hash, e.g. `{ '123': 200, '456': 404 }`. */
export async function cacheEntryStatuses(
  baseUrl: string,
  hashes: string[],
  token?: string,
): Promise<Record<string, number>> {
  const statuses: Record<string, number> = {};
  for (const hash of hashes) statuses[hash] = await cacheEntryStatus(baseUrl, hash, token);
  return statuses;
}
