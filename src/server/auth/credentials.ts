/** Turns an Authorization header into a principal: anonymous, or a live token with its user. */
import { equalSecrets } from '../../crypto/constant-time';
import { SealedCacheError } from '../../errors';
import type { Clock } from '../clock';
import type { MetadataStore } from '../metadata/metadata-store';
import type { TokenRecord, User } from '../metadata/records';
import { hashToken, parseToken } from './token-format';

export type Principal = { kind: 'anonymous' } | { kind: 'token'; token: TokenRecord; user: User | undefined };

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

  async resolve(authorization: string | undefined): Promise<Principal> {
    const value = bearerValue(authorization);
    if (value === undefined) return { kind: 'anonymous' };
    const parsed = parseToken(value);
    const tokenHash = hashToken(parsed.value);
    const token = await this.store.findTokenByHash(tokenHash);
    if (token === undefined || !equalSecrets(Buffer.from(token.tokenHash, 'hex'), Buffer.from(tokenHash, 'hex'))) {
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
    const user = token.userId === null ? undefined : await this.store.findUser(token.userId);
    return { kind: 'token', token, user };
  }

  private async touchLastUsed(token: TokenRecord, now: Date): Promise<void> {
    if (token.lastUsedAt !== null && now.getTime() - Date.parse(token.lastUsedAt) < LAST_USED_GRANULARITY_MS) return;
    await this.store.touchTokenLastUsed(token.id, now.toISOString());
  }
}
