/**
 * Everything the server keeps besides blobs. The embedded SQLite store implements it today;
 * a PostgreSQL store (kysely's Postgres dialect) can implement it for multi-node setups.
 * Name clashes surface as `'exists'` results, missing rows as `undefined`, never as driver errors.
 */
import type {
  AuditEvent,
  AuditFilter,
  CacheEntry,
  Membership,
  MemberRole,
  NewAuditEvent,
  Organisation,
  TokenFilter,
  TokenAccess,
  TokenRecord,
  User,
  Workspace,
  WorkspaceOverride,
} from './records';
import type { AccessLevel } from '../../protocol';

export type InsertResult = 'inserted' | 'exists';

export interface MetadataStore {
  insertOrganisation(org: Organisation): Promise<InsertResult>;
  findOrganisation(idOrName: string): Promise<Organisation | undefined>;
  listOrganisations(): Promise<Organisation[]>;

  insertUser(user: User): Promise<InsertResult>;
  findUser(idOrName: string): Promise<User | undefined>;
  listUsers(): Promise<User[]>;
  hasServerAdmin(): Promise<boolean>;

  insertWorkspace(workspace: Workspace): Promise<InsertResult>;
  findWorkspace(id: string): Promise<Workspace | undefined>;
  findWorkspaceByName(orgId: string, name: string): Promise<Workspace | undefined>;
  listWorkspaces(orgId?: string): Promise<Workspace[]>;
  updateWorkspaceAccess(
    id: string,
    patch: Partial<Pick<Workspace, 'anonymousAccess' | 'memberDefaultAccess'>>,
  ): Promise<void>;

  insertMembership(membership: Membership): Promise<InsertResult>;
  findMembership(orgId: string, userId: string): Promise<Membership | undefined>;
  listMemberships(orgId: string): Promise<Membership[]>;
  listUserMemberships(userId: string): Promise<Membership[]>;
  setMemberRole(orgId: string, userId: string, role: MemberRole): Promise<void>;
  /** Also removes the user's workspace overrides inside that organisation. */
  deleteMembership(orgId: string, userId: string): Promise<void>;
  findWorkspaceOverride(workspaceId: string, userId: string): Promise<WorkspaceOverride | undefined>;
  listWorkspaceOverrides(orgId: string): Promise<WorkspaceOverride[]>;
  /** `undefined` removes the override, so the workspace's member default applies again. */
  setWorkspaceOverride(workspaceId: string, userId: string, access: AccessLevel | undefined): Promise<void>;

  insertToken(token: TokenRecord): Promise<void>;
  findTokenByHash(tokenHash: string): Promise<TokenRecord | undefined>;
  findToken(id: string): Promise<TokenRecord | undefined>;
  listTokens(filter: TokenFilter): Promise<TokenRecord[]>;
  replaceTokenHash(id: string, tokenHash: string, rotatedAt: string): Promise<void>;
  revokeToken(id: string, revokedAt: string): Promise<void>;
  /** Only while the token is not revoked; answers whether a row changed. */
  setTokenAccess(id: string, access: TokenAccess): Promise<boolean>;
  touchTokenLastUsed(id: string, at: string): Promise<void>;

  /** Quarantined entries are not found: the read path serves them no more. */
  findEntry(workspaceId: string, namespace: string, hash: string): Promise<CacheEntry | undefined>;
  /** The UNIQUE(workspace, namespace, hash) constraint decides concurrent writers: exactly one gets 'inserted'. */
  insertEntry(entry: CacheEntry): Promise<InsertResult>;
  touchEntryAccess(workspaceId: string, namespace: string, hash: string, at: string): Promise<void>;

  appendAudit(event: NewAuditEvent): Promise<void>;
  listAudit(filter: AuditFilter): Promise<AuditEvent[]>;

  close(): Promise<void>;
}
