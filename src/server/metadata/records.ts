/** Domain records as the rest of the server sees them, independent of the database behind MetadataStore. */
import type { AccessLevel, TokenKind } from '../../protocol';

export type MemberRole = 'admin' | 'member';
export type TokenAccess = 'read' | 'read-write';
/** Where a credential's writes land: the shared tier, or a namespace only it reads (CVE-2025-36852). */
export type WriteTier = 'trusted' | 'isolated';

export interface Organisation {
  id: string;
  name: string;
  public: boolean;
  createdAt: string;
}

export interface User {
  id: string;
  name: string;
  bot: boolean;
  serverAdmin: boolean;
  /** Bots only: the one organisation that owns the bot (null for people, and for bots no one owns). */
  ownerOrgId: string | null;
  createdAt: string;
}

export interface Workspace {
  id: string;
  orgId: string;
  name: string;
  anonymousAccess: AccessLevel;
  memberDefaultAccess: TokenAccess;
  /** The tier of members' personal tokens that do not name one. */
  personalTokenTier: WriteTier;
  /** How long isolated-namespace entries live, e.g. `7d`. */
  isolatedRetention: string;
  createdAt: string;
}

export interface Membership {
  orgId: string;
  userId: string;
  role: MemberRole;
  createdAt: string;
}

export interface WorkspaceOverride {
  workspaceId: string;
  userId: string;
  access: AccessLevel;
}

export interface TokenRecord {
  id: string;
  kind: TokenKind;
  name: string | null;
  tokenHash: string;
  workspaceId: string | null;
  userId: string | null;
  access: TokenAccess | null;
  /** null: CI tokens are isolated, personal tokens follow the workspace policy. */
  tier: WriteTier | null;
  /** Set on minted tokens only: their isolated namespace is `s:<scope>`. */
  scope: string | null;
  createdAt: string;
  createdByTokenId: string | null;
  expiresAt: string | null;
  revokedAt: string | null;
  rotatedAt: string | null;
  lastUsedAt: string | null;
}

export interface TokenFilter {
  workspaceId?: string;
  userId?: string;
}

export interface CacheEntry {
  workspaceId: string;
  namespace: string;
  hash: string;
  blobKey: string;
  size: number;
  sha256: string;
  writerTokenId: string | null;
  writerUserId: string | null;
  createdAt: string;
  lastAccessAt: string;
  /** Set by `entries quarantine`: the entry is no longer served. */
  quarantinedAt?: string | null;
}

/**
 * Everything a cache request with a token reads, in one consistent look (on PostgreSQL one statement, so a
 * replica pays one round trip): the token by its hash, its user, the workspace (the token's own, else the
 * one the URL names), its organisation, the user's membership and override there, and the entries of the
 * requested hash in that workspace.
 */
export interface CacheRequestFacts {
  token: TokenRecord;
  user: User | undefined;
  workspace: Workspace | undefined;
  organisation: Organisation | undefined;
  membership: Membership | undefined;
  override: WorkspaceOverride | undefined;
  /** The hash's unquarantined entries in `workspace`, any namespace; undefined when not read here (ask findEntry). */
  entries: CacheEntry[] | undefined;
}

export interface AuditEvent {
  id: number;
  at: string;
  action: string;
  actorTokenId: string | null;
  actorUserId: string | null;
  orgId: string | null;
  workspaceId: string | null;
  targetId: string | null;
  details: Record<string, unknown>;
}

export type NewAuditEvent = Omit<AuditEvent, 'id'>;

export interface AuditFilter {
  orgId?: string;
  since?: string;
  limit: number;
}

/** An existing user asked to join an organisation; nothing changes until that user accepts. */
export interface OrgInvitation {
  id: string;
  orgId: string;
  userId: string;
  role: MemberRole;
  createdByUserId: string | null;
  createdAt: string;
  expiresAt: string;
  answeredAt: string | null;
  accepted: boolean | null;
}
