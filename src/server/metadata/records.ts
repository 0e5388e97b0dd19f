/** Domain records as the rest of the server sees them, independent of the database behind MetadataStore. */
import type { AccessLevel, TokenKind } from '../../protocol';

export type MemberRole = 'admin' | 'member';
export type TokenAccess = 'read' | 'read-write';

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
  createdAt: string;
}

export interface Workspace {
  id: string;
  orgId: string;
  name: string;
  anonymousAccess: AccessLevel;
  memberDefaultAccess: TokenAccess;
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
