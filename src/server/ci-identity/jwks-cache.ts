/**
 * The issuers' public keys: fetched over HTTPS (bounded size and time), cached, and fetched again when a
 * token names a key id the cache lacks, at most once per cooldown, so unknown-`kid` tokens cannot make the
 * server hammer the issuer. Only URLs the issuer control allows (src/server/ci-identity/issuer-allowlist.ts):
 * https:// on an allowed issuer's origin. Redirects are never followed (undici's request does not), the
 * answer is at most 256 KiB, and the whole fetch, body included, must end within 5 seconds.
 */
import { createLocalJWKSet, errors as joseErrors, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { request } from 'undici';
import { SealedCacheError } from '../../errors';
import type { Clock } from '../clock';
import { Jwks } from './trust-policy';

const MAX_JWKS_BYTES = 256 * 1024;
const FETCH_TIMEOUT_MS = 5_000;
export const JWKS_MAX_AGE_MS = 10 * 60_000;
export const JWKS_COOLDOWN_MS = 30_000;

export type JwksFetcher = (url: URL) => Promise<JSONWebKeySet>;

export function parseJwks(value: unknown, where: string): JSONWebKeySet {
  const parsed = Jwks.safeParse(value);
  if (!parsed.success)
    throw new SealedCacheError('ERR_CI_IDENTITY_KEYS_UNAVAILABLE', `${where} is not a JWKS ({"keys": [...]})`);
  return parsed.data as unknown as JSONWebKeySet;
}

export function httpJwksFetcher(
  isAllowed: (url: URL) => boolean,
  { timeoutMs = FETCH_TIMEOUT_MS }: { timeoutMs?: number } = {},
): JwksFetcher {
  return async (url) => {
    if (!isAllowed(url))
      throw new SealedCacheError(
        'ERR_CI_IDENTITY_KEYS_UNAVAILABLE',
        `refusing to fetch keys from ${url.origin} (only https:// on an allowed issuer's origin)`,
      );
    let text = '';
    try {
      const res = await request(url, {
        method: 'GET',
        headers: { accept: 'application/json' },
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        // A body dripped a byte at a time never trips bodyTimeout: bound the whole fetch too.
        signal: AbortSignal.timeout(timeoutMs),
      });
      if (res.statusCode !== 200) {
        await res.body.dump();
        const redirect = res.statusCode >= 300 && res.statusCode < 400 ? ' (redirects are not followed)' : '';
        throw new SealedCacheError(
          'ERR_CI_IDENTITY_KEYS_UNAVAILABLE',
          `${url.href} answered ${res.statusCode}${redirect}`,
        );
      }
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of res.body) {
        size += (chunk as Buffer).length;
        if (size > MAX_JWKS_BYTES) {
          res.body.destroy();
          throw new SealedCacheError('ERR_CI_IDENTITY_KEYS_UNAVAILABLE', `${url.href} sent more than 256 KiB of keys`);
        }
        chunks.push(chunk as Buffer);
      }
      text = Buffer.concat(chunks).toString('utf8');
    } catch (err) {
      if (err instanceof SealedCacheError) throw err;
      throw new SealedCacheError(
        'ERR_CI_IDENTITY_KEYS_UNAVAILABLE',
        `cannot fetch the issuer's keys from ${url.href}`,
        {
          cause: err,
        },
      );
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (cause) {
      throw new SealedCacheError('ERR_CI_IDENTITY_KEYS_UNAVAILABLE', `${url.href} did not answer JSON`, { cause });
    }
    return parseJwks(json, url.href);
  };
}

interface Entry {
  getKey: JWTVerifyGetKey;
  fetchedAt: number;
}

export class JwksCache {
  private readonly entries = new Map<string, Entry>();
  private readonly inFlight = new Map<string, Promise<Entry>>();

  constructor(
    private readonly fetcher: JwksFetcher,
    private readonly clock: Clock,
  ) {}

  /** A key resolver for jose: cached keys, refreshed once per cooldown when the token's `kid` is unknown. */
  keysAt(url: string): JWTVerifyGetKey {
    return async (header, token) => {
      let entry = await this.load(url, false);
      try {
        return await entry.getKey(header, token);
      } catch (err) {
        const unknownKid = err instanceof joseErrors.JWKSNoMatchingKey;
        if (!unknownKid || this.clock().getTime() - entry.fetchedAt < JWKS_COOLDOWN_MS) throw err;
        entry = await this.load(url, true);
        return entry.getKey(header, token);
      }
    };
  }

  private async load(url: string, refresh: boolean): Promise<Entry> {
    const cached = this.entries.get(url);
    const now = this.clock().getTime();
    if (cached && !refresh && now - cached.fetchedAt < JWKS_MAX_AGE_MS) return cached;
    const running = this.inFlight.get(url);
    if (running) return running;
    const loading = this.fetcher(new URL(url))
      .then((jwks) => {
        const entry = { getKey: createLocalJWKSet(jwks), fetchedAt: this.clock().getTime() };
        this.entries.set(url, entry);
        return entry;
      })
      .catch((err: unknown) => {
        // An issuer that is down for a moment: keep serving the keys we had, and wait a cooldown to ask again.
        if (cached) {
          cached.fetchedAt = Math.max(cached.fetchedAt, this.clock().getTime() - JWKS_MAX_AGE_MS + JWKS_COOLDOWN_MS);
          return cached;
        }
        throw err;
      })
      .finally(() => this.inFlight.delete(url));
    this.inFlight.set(url, loading);
    return loading;
  }
}

/** Keys an admin gave inline (air-gapped issuers): never fetched, never refreshed. */
export function inlineKeys(jwks: JSONWebKeySet): JWTVerifyGetKey {
  return createLocalJWKSet(jwks);
}
