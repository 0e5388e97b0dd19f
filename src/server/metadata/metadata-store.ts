/**
 * Everything the server keeps besides blobs, opened once per process: the core records here, and
 * one typed part per area (tiers, retention, tenancy, web sign-in). One kysely implementation
 * (kysely-metadata-store.ts) serves the embedded SQLite file and PostgreSQL alike.
 * Name clashes surface as `'exists'` results, missing rows as `undefined`, never as driver errors.
 */
import type {
  AuditEvent,
  AuditFilter,
  CacheEntry,
  CacheRequestFacts,
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
import type { CiIdentityStore } from '../ci-identity/ci-identity-store';
import type { LimitStore } from '../limits/limit-store';
import type { RetentionStore } from '../retention/retention-store';
import type { RunStore } from '../runs/run-store';
import type { ScimStore } from '../sso/scim-store';
import type { SsoStore } from '../sso/sso-store';
import type { TenancyStore } from '../services/tenancy-store';
import type { TierStore } from '../tiers/tier-store';
import type { WebAuthStore } from '../web/web-auth-store';

export type InsertResult = 'inserted' | 'exists';

/** `sqlite`: the embedded file, one server process; `postgres`: shared by every replica. */
export type MetadataEngine = 'sqlite' | 'postgres';

export interface MetadataStore {
  readonly engine: MetadataEngine;
  /** The migrations this open applied, in order (empty when the database was up to date), for the start-up log. */
  readonly migratedAtOpen: readonly string[];
  /** Write tiers and provenance: tier settings, entry listing, quarantine, purge. */
  readonly tiers: TierStore;
  /** Totals, least recently used entries, conditional deletes (retention, stats, metrics, readiness). */
  readonly retention: RetentionStore;
  /** Bot ownership and invitations into an organisation. */
  readonly tenancy: TenancyStore;
  /** Sign-in identities, web sessions, invites, CLI login requests, failed sign-ins. */
  readonly webAuth: WebAuthStore;
  /** CI identity: trust policies, spent `jti`s, the claims behind exchanged tokens. */
  readonly ciIdentity: CiIdentityStore;
  /** Web sign-in through identity providers: attempts, organisations' sign-in policies, join domains. */
  readonly sso: SsoStore;
  /** Run reports from the plugin and the runner: runs, their tasks, hit rates and time saved. */
  readonly runs: RunStore;
  /** SCIM deprovisioning: the users identity providers pushed, and which identities they name. */
  readonly scim: ScimStore;
  /** Rate-limit and quota use per key and window, for replicas that share their limits. */
  readonly limits: LimitStore;

  /**
   * The embedded file only: a consistent copy of the whole database in `file` (`VACUUM INTO`, one read
   * transaction on the server's own connection). PostgreSQL is backed up with its own tools.
   */
  snapshotInto(file: string): Promise<void>;

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
  /**
   * What a cache request with a token needs, in one look (records.ts, CacheRequestFacts): the workspace is the
   * token's own, else `urlWorkspaceId`; `hash` (when given) also reads that hash's entries. Undefined: no such token.
   */
  findCacheRequest(
    tokenHash: string,
    urlWorkspaceId: string | undefined,
    hash: string | undefined,
  ): Promise<CacheRequestFacts | undefined>;
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

  /**
   * Runs `task` unless a task of the same name is already running in any process sharing this
   * database (a PostgreSQL advisory lock; in this process too); `undefined` when it was skipped.
   */
  runExclusive<T>(name: string, task: () => Promise<T>): Promise<T | undefined>;

  /** Names of the migrations this database has run, sorted. */
  appliedMigrations(): Promise<string[]>;

  close(): Promise<void>;
}
