/** Issuing and rotating tokens: the only place a token value exists, and only until it is returned once. */
import { SealedCacheError } from '../../errors';
import type { TokenKind } from '../../protocol';
import { generateToken, hashToken } from '../auth/token-format';
import type { Clock } from '../clock';
import { newTokenId } from '../ids';
import type { MetadataStore } from '../metadata/metadata-store';
import type { TokenAccess, TokenRecord, WriteTier } from '../metadata/records';
import type { AuditActor, AuditLog } from './audit-log';
import type { SsoIdentityRef } from '../sso/sso-store';

export const PERSONAL_TOKEN_DEFAULT_EXPIRY = '1y';

const UNIT_MS: Record<string, number> = {
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
  y: 365 * 86_400_000,
};

/** `2h`, `30d`, `1y`, `never` -> an ISO expiry time (or null for never). */
export function expiryFrom(expiresIn: string, now: Date): string | null {
  if (expiresIn === 'never') return null;
  const match = /^([1-9]\d{0,5})(m|h|d|w|y)$/.exec(expiresIn);
  if (!match)
    throw new SealedCacheError(
      'ERR_INPUT_INVALID',
      `expiresIn must look like 30m, 2h, 30d, 4w, 1y or never (got "${expiresIn}")`,
    );
  return new Date(now.getTime() + Number(match[1]) * UNIT_MS[match[2]]).toISOString();
}

export interface TokenSpec {
  kind: TokenKind;
  name: string | null;
  workspaceId: string | null;
  userId: string | null;
  access: TokenAccess | null;
  expiresIn: string;
  /** Write tier (see src/server/tiers); absent means the kind's default. */
  tier?: WriteTier | null;
  /** Minted tokens only. */
  scope?: string | null;
  /** The SSO identity the person signed in through: the token is revoked when that identity fails its re-check. */
  ssoIdentity?: SsoIdentityRef;
}

export interface IssuedToken {
  record: TokenRecord;
  /** The secret: returned once, never stored. */
  secret: string;
}

export class TokenService {
  constructor(
    private readonly store: MetadataStore,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
  ) {}

  /** `context`: what the audit row should add about why the token exists (the CLI login it answers). */
  async issue(
    spec: TokenSpec,
    actor: AuditActor,
    orgId: string | null,
    context: Record<string, string> = {},
  ): Promise<IssuedToken> {
    const now = this.clock();
    const secret = generateToken(spec.kind);
    const record: TokenRecord = {
      id: newTokenId(),
      kind: spec.kind,
      name: spec.name,
      tokenHash: hashToken(secret),
      workspaceId: spec.workspaceId,
      userId: spec.userId,
      access: spec.access,
      tier: spec.tier ?? null,
      scope: spec.scope ?? null,
      createdAt: now.toISOString(),
      createdByTokenId: actor.tokenId,
      expiresAt: expiryFrom(spec.expiresIn, now),
      revokedAt: null,
      rotatedAt: null,
      lastUsedAt: null,
    };
    await this.store.insertToken(record);
    if (spec.ssoIdentity !== undefined) await this.store.sso.linkToken(record.id, spec.ssoIdentity, record.createdAt);
    await this.audit.record({
      action: 'token.created',
      actor,
      orgId,
      workspaceId: record.workspaceId,
      targetId: record.id,
      details: {
        // Recorded so the log can still name the token after retention sweeps it.
        name: record.name,
        kind: record.kind,
        userId: record.userId,
        access: record.access,
        tier: record.tier,
        scope: record.scope,
        expiresAt: record.expiresAt,
        ...(spec.ssoIdentity === undefined ? {} : { ssoIdentity: spec.ssoIdentity.provider }),
        ...context,
      },
    });
    return { record, secret };
  }

  /** A new value for the same token id and settings; the old value stops working at once. */
  async rotate(token: TokenRecord, actor: AuditActor, orgId: string | null): Promise<IssuedToken> {
    this.requireActive(token);
    const now = this.clock().toISOString();
    const secret = generateToken(token.kind);
    const tokenHash = hashToken(secret);
    await this.store.replaceTokenHash(token.id, tokenHash, now);
    await this.audit.record({
      action: 'token.rotated',
      actor,
      orgId,
      workspaceId: token.workspaceId,
      targetId: token.id,
    });
    return { record: { ...token, tokenHash, rotatedAt: now }, secret };
  }

  async revoke(token: TokenRecord, actor: AuditActor, orgId: string | null): Promise<TokenRecord> {
    this.requireActive(token);
    const now = this.clock().toISOString();
    await this.store.revokeToken(token.id, now);
    await this.audit.record({
      action: 'token.revoked',
      actor,
      orgId,
      workspaceId: token.workspaceId,
      targetId: token.id,
    });
    return { ...token, revokedAt: now };
  }

  /**
   * Read-only <-> read-write on the same token and value; the cache routes see it on the next request.
   * Admin tokens have no access level; a minted token may be lowered but never raised above what it was minted with.
   */
  async changeAccess(
    token: TokenRecord,
    access: TokenAccess,
    actor: AuditActor,
    orgId: string | null,
  ): Promise<TokenRecord> {
    this.requireActive(token);
    if (token.kind === 'admin' || token.access === null)
      throw new SealedCacheError(
        'ERR_INPUT_INVALID',
        `token ${token.id} is an admin token; it has no access level to change`,
      );
    if (token.access === access) return token;
    if (token.scope !== null && access === 'read-write') {
      throw new SealedCacheError(
        'ERR_INPUT_INVALID',
        `token ${token.id} was minted ${token.access}; a minted token cannot be raised (mint a new one)`,
      );
    }
    if (!(await this.store.setTokenAccess(token.id, access)))
      throw new SealedCacheError('ERR_TOKEN_INACTIVE', `token ${token.id} is already revoked`);
    await this.audit.record({
      action: 'token.access-changed',
      actor,
      orgId,
      workspaceId: token.workspaceId,
      targetId: token.id,
      details: { before: token.access, after: access },
    });
    return { ...token, access };
  }

  private requireActive(token: TokenRecord): void {
    const expired = token.expiresAt !== null && Date.parse(token.expiresAt) <= this.clock().getTime();
    if (token.revokedAt !== null || expired) {
      throw new SealedCacheError(
        'ERR_TOKEN_INACTIVE',
        `token ${token.id} is already ${token.revokedAt !== null ? 'revoked' : 'expired'}`,
      );
    }
  }
}
