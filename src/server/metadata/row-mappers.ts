/** Rows to records, shared by the store and its joined reads. */
import type { Selectable } from 'kysely';
import type { AccessLevel, TokenKind } from '../../protocol';
import type {
  CacheEntry,
  Membership,
  MemberRole,
  Organisation,
  TokenAccess,
  TokenRecord,
  User,
  Workspace,
  WriteTier,
} from './records';
import type { EntriesTable, MetadataDatabase, TokensTable, WorkspacesTable } from './schema';

export const toOrganisation = (r: Selectable<MetadataDatabase['organisations']>): Organisation => ({
  id: r.id,
  name: r.name,
  public: r.public === 1,
  createdAt: r.created_at,
});

export const toUser = (r: Selectable<MetadataDatabase['users']>): User => ({
  id: r.id,
  name: r.name,
  bot: r.bot === 1,
  serverAdmin: r.server_admin === 1,
  ownerOrgId: r.owner_org_id,
  createdAt: r.created_at,
});

export const toWorkspace = (r: Selectable<WorkspacesTable>): Workspace => ({
  id: r.id,
  orgId: r.org_id,
  name: r.name,
  anonymousAccess: r.anonymous_access as AccessLevel,
  memberDefaultAccess: r.member_default_access as TokenAccess,
  personalTokenTier: r.personal_token_tier as WriteTier,
  isolatedRetention: r.isolated_retention,
  createdAt: r.created_at,
});

export const toMembership = (r: Selectable<MetadataDatabase['memberships']>): Membership => ({
  orgId: r.org_id,
  userId: r.user_id,
  role: r.role as MemberRole,
  createdAt: r.created_at,
});

export const toToken = (r: Selectable<TokensTable>): TokenRecord => ({
  id: r.id,
  kind: r.kind as TokenKind,
  name: r.name,
  tokenHash: r.token_hash,
  workspaceId: r.workspace_id,
  userId: r.user_id,
  access: r.access as TokenAccess | null,
  tier: r.tier as WriteTier | null,
  scope: r.scope,
  createdAt: r.created_at,
  createdByTokenId: r.created_by_token_id,
  expiresAt: r.expires_at,
  revokedAt: r.revoked_at,
  rotatedAt: r.rotated_at,
  lastUsedAt: r.last_used_at,
});

export const toEntry = (r: Selectable<EntriesTable>): CacheEntry => ({
  workspaceId: r.workspace_id,
  namespace: r.namespace,
  hash: r.hash,
  blobKey: r.blob_key,
  size: Number(r.size),
  sha256: r.sha256,
  writerTokenId: r.writer_token_id,
  writerUserId: r.writer_user_id,
  createdAt: r.created_at,
  lastAccessAt: r.last_access_at,
  quarantinedAt: r.quarantined_at,
});
