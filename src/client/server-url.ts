/** Server URLs: validated once, normalised for keying the login file, and joined to API paths without double slashes. */
import { SealedCacheError } from '../errors';
import { CACHE_HASH_PATTERN } from '../protocol';

/** `host:port[/path]` without a scheme (`new URL` reads `localhost:7080` as the scheme `localhost:`). */
const BARE_HOST = /^[A-Za-z0-9][A-Za-z0-9.-]*:\d{1,5}(\/[A-Za-z0-9._~/-]*)?$/;

/** Echoes the value only when it is plainly a host and port, which holds no secret. */
function schemeHint(raw: string): string {
  const trimmed = raw.trim();
  return BARE_HOST.test(trimmed) || /^[A-Za-z0-9][A-Za-z0-9.-]*$/.test(trimmed)
    ? `it needs a scheme: did you mean http://${trimmed} or https://${trimmed}?`
    : `length ${raw.length}; it should look like http://127.0.0.1:7080 or https://cache.example.com`;
}

/** `https://Host:443/prefix/` -> `https://host/prefix`; refuses non-http(s), credentials in the URL, query and fragment. */
export function normaliseServerUrl(raw: string, source = 'server URL'): string {
  let parsed: URL;
  try {
    parsed = new URL(raw.trim());
  } catch (cause) {
    throw new SealedCacheError('ERR_CONFIG_INVALID', `${source} is not a valid URL (${schemeHint(raw)})`, { cause });
  }
  if (BARE_HOST.test(raw.trim())) {
    throw new SealedCacheError('ERR_CONFIG_INVALID', `${source} is not a valid URL (${schemeHint(raw)})`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new SealedCacheError(
      'ERR_CONFIG_INVALID',
      `${source} must start with http:// or https://, got ${parsed.protocol}`,
    );
  }
  if (parsed.username || parsed.password) {
    throw new SealedCacheError(
      'ERR_CONFIG_INVALID',
      `${source} must not carry credentials; use NX_SEALED_CACHE_ACCESS_TOKEN`,
    );
  }
  if (parsed.search || parsed.hash) {
    throw new SealedCacheError('ERR_CONFIG_INVALID', `${source} must not have a query or fragment`);
  }
  const path = parsed.pathname.replace(/\/+$/, '');
  return `${parsed.protocol}//${parsed.host}${path}`;
}

/** `<url>[/w/<workspaceId>]`: the base that `/v1/...` paths hang off. */
export function workspaceBaseUrl(url: string, workspaceId?: string): string {
  const base = url.replace(/\/+$/, '');
  return workspaceId ? `${base}/w/${encodeURIComponent(workspaceId)}` : base;
}

export function buildCacheUrl(url: string, workspaceId: string | undefined, hash: string): string {
  if (!CACHE_HASH_PATTERN.test(hash)) {
    throw new SealedCacheError(
      'ERR_CACHE_HASH_INVALID',
      `cache hash must be 1-128 characters of [A-Za-z0-9_-] (got length ${hash.length})`,
    );
  }
  return `${workspaceBaseUrl(url, workspaceId)}/v1/cache/${hash}`;
}

export function buildAccessUrl(url: string, workspaceId: string | undefined): string {
  return `${workspaceBaseUrl(url, workspaceId)}/v1/access`;
}
