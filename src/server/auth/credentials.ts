/** Turns an Authorization header into a principal: anonymous, or a live token with its user. */
import { equalDigests } from '../../crypto/constant-time';
import { SealedCacheError } from '../../errors';
import type { Clock } from '../clock';
import type { MetadataStore } from '../metadata/metadata-store';
import type { CacheRequestFacts, TokenRecord, User } from '../metadata/records';
import { hashToken, parseToken } from './token-format';

export type Principal =
  | { kind: 'anonymous' }
  /** `facts`: what a cache request read with the token in the same look (workspace, entries), for reuse. */
  | { kind: 'token'; token: TokenRecord; user: User | undefined; facts?: CacheRequestFacts };

/** A cache request's workspace in the URL (if any) and hash, read together with the token. */
export interface CacheTarget {
  workspaceId: string | undefined;
  hash: string | undefined;
}

/** last_used_at is written at most this often per token, to keep the hot path read-only. */
const LAST_USED_GRANULARITY_MS = 60_000;

export function bearerValue(authorization: string | undefined): string | undefined {
  if (authorization === undefined || authorization.trim() === '') return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  if (!match)
    throw new SealedCacheError('ERR_AUTH_TOKEN_MALFORMED', 'the Authorization header is not "Bearer <token>"');
  return match[1];
}

export class CredentialResolver {
  constructor(
    private readonly store: MetadataStore,
    private readonly clock: Clock,
  ) {}

  /** `cache`: a cache request's target, so its workspace and entries are read in the same look as the token. */
  async resolve(authorization: string | undefined, cache?: CacheTarget): Promise<Principal> {
    const value = bearerValue(authorization);
    if (value === undefined) return { kind: 'anonymous' };
    const parsed = parseToken(value);
    const tokenHash = hashToken(parsed.value);
    const facts =
      cache === undefined ? undefined : await this.store.findCacheRequest(tokenHash, cache.workspaceId, cache.hash);
    const token = cache === undefined ? await this.store.findTokenByHash(tokenHash) : facts?.token;
    if (token === undefined || !equalDigests(Buffer.from(token.tokenHash, 'hex'), Buffer.from(tokenHash, 'hex'))) {
      throw new SealedCacheError(
        'ERR_AUTH_TOKEN_INVALID',
        `the ${parsed.kind} token is not known to this server (rotated, or created on another server)`,
      );
    }
    const now = this.clock();
    if (token.revokedAt !== null) {
      throw new SealedCacheError('ERR_AUTH_TOKEN_REVOKED', `token ${token.id} was revoked at ${token.revokedAt}`);
    }
    if (token.expiresAt !== null && Date.parse(token.expiresAt) <= now.getTime()) {
      throw new SealedCacheError('ERR_AUTH_TOKEN_EXPIRED', `token ${token.id} expired at ${token.expiresAt}`);
    }
    await this.touchLastUsed(token, now);
    if (facts !== undefined) return { kind: 'token', token, user: facts.user, facts };
    const user = token.userId === null ? undefined : await this.store.findUser(token.userId);
    return { kind: 'token', token, user };
  }

  private async touchLastUsed(token: TokenRecord, now: Date): Promise<void> {
    if (token.lastUsedAt !== null && now.getTime() - Date.parse(token.lastUsedAt) < LAST_USED_GRANULARITY_MS) return;
    await this.store.touchTokenLastUsed(token.id, now.toISOString());
  }
}
