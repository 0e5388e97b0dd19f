/**
 * MetadataStore on kysely, one class for every engine: the queries are the same on SQLite and
 * PostgreSQL, and so are the migrations. The openers (sqlite-metadata-store.ts,
 * postgres-metadata-store.ts) only build the dialect.
 */
import { createHash } from 'node:crypto';
import { type Kysely, Migrator, sql } from 'kysely';
import { SealedCacheError } from '../../errors';
import type { AccessLevel } from '../../protocol';
import { RetentionStore } from '../retention/retention-store';
import { TenancyStore } from '../services/tenancy-store';
import { TierStore } from '../tiers/tier-store';
import { WebAuthStore } from '../web/web-auth-store';
import { CiIdentityStore } from '../ci-identity/ci-identity-store';
import { LimitStore } from '../limits/limit-store';
import { ScimStore } from '../sso/scim-store';
import { SsoStore } from '../sso/sso-store';
import { RunStore } from '../runs/run-store';
import { CacheRequestBatcher, readCacheRequest } from './cache-request-read';
import type { LookupCache } from './lookup-cache';
import type { InsertResult, MetadataEngine, MetadataStore } from './metadata-store';
import { migrationProvider } from './migrations';
import type {
  AuditEvent,
  AuditFilter,
  CacheEntry,
  CacheRequestFacts,
  Membership,
  MemberRole,
  NewAuditEvent,
  Organisation,
  TokenAccess,
  TokenFilter,
  TokenRecord,
  User,
  Workspace,
  WorkspaceOverride,
} from './records';
import { toEntry, toMembership, toOrganisation, toToken, toUser, toWorkspace } from './row-mappers';
import type { MetadataDatabase, WorkspacesTable } from './schema';

function insertResult(result: { numInsertedOrUpdatedRows?: bigint }): InsertResult {
  return result.numInsertedOrUpdatedRows === 0n ? 'exists' : 'inserted';
}

/** `backup` copies the embedded file only: refused, before anything is done or audited, on any other engine. */
export function assertSnapshotSupported(engine: MetadataEngine): void {
  if (engine !== 'sqlite')
    throw new SealedCacheError(
      'ERR_INPUT_INVALID',
      "this server's metadata is not the embedded SQLite database; back it up with its own tools (docs/operations.md)",
    );
}

export class KyselyMetadataStore implements MetadataStore {
  readonly tiers: TierStore;
  readonly retention: RetentionStore;
  readonly tenancy: TenancyStore;
  readonly webAuth: WebAuthStore;
  readonly ciIdentity: CiIdentityStore;
  readonly sso: SsoStore;
  readonly scim: ScimStore;
  readonly runs: RunStore;
  readonly limits: LimitStore;
  /** PostgreSQL: concurrent cache requests read in one statement (cache-request-read.ts). */
  private readonly batcher: CacheRequestBatcher | undefined;

  constructor(
    private readonly db: Kysely<MetadataDatabase>,
    readonly engine: MetadataEngine,
    readonly migratedAtOpen: readonly string[] = [],
    /** The embedded store's remembered lookups (lookup-cache.ts); none for a store replicas share. */
    private readonly lookups?: LookupCache,
  ) {
    this.tiers = new TierStore(db);
    this.retention = new RetentionStore(db);
    this.tenancy = new TenancyStore(db);
    this.webAuth = new WebAuthStore(db);
    this.ciIdentity = new CiIdentityStore(db);
    this.sso = new SsoStore(db);
    this.scim = new ScimStore(db);
    this.runs = new RunStore(db);
    this.limits = new LimitStore(db);
    this.batcher = engine === 'postgres' ? new CacheRequestBatcher(db) : undefined;
  }

  async snapshotInto(file: string): Promise<void> {
    assertSnapshotSupported(this.engine);
    try {
      await sql`VACUUM INTO ${file}`.execute(this.db);
    } catch (err) {
      throw new SealedCacheError('ERR_DATABASE_FAILED', 'copying the metadata database failed', { cause: err });
    }
  }

  private readonly running = new Set<string>();

  async runExclusive<T>(name: string, task: () => Promise<T>): Promise<T | undefined> {
    if (this.running.has(name)) return undefined;
    this.running.add(name);
    try {
      if (this.engine === 'sqlite') return await task();
      return await this.db.connection().execute(async (conn) => {
        // Session-level, on the one connection held for the task: a crashed holder's lock ends with its session.
        const key = advisoryLockKey(name);
        const { rows } = await sql<{ locked: boolean }>`select pg_try_advisory_lock(${key}::bigint) as locked`.execute(
          conn,
        );
        if (rows[0]?.locked !== true) return undefined;
        try {
          return await task();
        } finally {
          await sql`select pg_advisory_unlock(${key}::bigint)`.execute(conn);
        }
      });
    } finally {
      this.running.delete(name);
    }
  }

  async appliedMigrations(): Promise<string[]> {
    const rows = await this.db
      .withTables<{ kysely_migration: { name: string } }>()
      .selectFrom('kysely_migration')
      .select('name')
      .orderBy('name')
      .execute();
    return rows.map((r) => r.name);
  }

  async insertOrganisation(org: Organisation): Promise<InsertResult> {
    const result = await this.db
      .insertInto('organisations')
      .values({ id: org.id, name: org.name, public: org.public ? 1 : 0, created_at: org.createdAt })
      .onConflict((oc) => oc.doNothing())
      .executeTakeFirst();
    return insertResult(result);
  }

  async findOrganisation(idOrName: string): Promise<Organisation | undefined> {
    return this.remembered(`org:${idOrName}`, ['organisations'], () => this.readOrganisation(idOrName));
  }

  private async readOrganisation(idOrName: string): Promise<Organisation | undefined> {
    const row = await this.db
      .selectFrom('organisations')
      .selectAll()
      .where((eb) => eb.or([eb('id', '=', idOrName), eb('name', '=', idOrName)]))
      .executeTakeFirst();
    return row && toOrganisation(row);
  }

  async listOrganisations(): Promise<Organisation[]> {
    return (await this.db.selectFrom('organisations').selectAll().orderBy('name').execute()).map(toOrganisation);
  }

  async insertUser(user: User): Promise<InsertResult> {
    const result = await this.db
      .insertInto('users')
      .values({
        id: user.id,
        name: user.name,
        bot: user.bot ? 1 : 0,
        server_admin: user.serverAdmin ? 1 : 0,
        owner_org_id: user.ownerOrgId,
        created_at: user.createdAt,
      })
      .onConflict((oc) => oc.doNothing())
      .executeTakeFirst();
    return insertResult(result);
  }

  async findUser(idOrName: string): Promise<User | undefined> {
    return this.remembered(`user:${idOrName}`, ['users'], () => this.readUser(idOrName));
  }

  private async readUser(idOrName: string): Promise<User | undefined> {
    const row = await this.db
      .selectFrom('users')
      .selectAll()
      .where((eb) => eb.or([eb('id', '=', idOrName), eb('name', '=', idOrName)]))
      .executeTakeFirst();
    return row && toUser(row);
  }

  async listUsers(): Promise<User[]> {
    return (await this.db.selectFrom('users').selectAll().orderBy('name').execute()).map(toUser);
  }

  async hasServerAdmin(): Promise<boolean> {
    const row = await this.db
      .selectFrom('users')
      .select('id')
      .where('server_admin', '=', 1)
      .limit(1)
      .executeTakeFirst();
    return row !== undefined;
  }

  async insertWorkspace(ws: Workspace): Promise<InsertResult> {
    const result = await this.db
      .insertInto('workspaces')
      .values({
        id: ws.id,
        org_id: ws.orgId,
        name: ws.name,
        anonymous_access: ws.anonymousAccess,
        member_default_access: ws.memberDefaultAccess,
        personal_token_tier: ws.personalTokenTier,
        isolated_retention: ws.isolatedRetention,
        created_at: ws.createdAt,
      })
      .onConflict((oc) => oc.doNothing())
      .executeTakeFirst();
    return insertResult(result);
  }

  async findWorkspace(id: string): Promise<Workspace | undefined> {
    return this.remembered(`ws:${id}`, ['workspaces'], () => this.readWorkspace(id));
  }

  private async readWorkspace(id: string): Promise<Workspace | undefined> {
    const row = await this.db.selectFrom('workspaces').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toWorkspace(row);
  }

  async findWorkspaceByName(orgId: string, name: string): Promise<Workspace | undefined> {
    const row = await this.db
      .selectFrom('workspaces')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('name', '=', name)
      .executeTakeFirst();
    return row && toWorkspace(row);
  }

  async listWorkspaces(orgId?: string): Promise<Workspace[]> {
    let query = this.db.selectFrom('workspaces').selectAll();
    if (orgId !== undefined) query = query.where('org_id', '=', orgId);
    return (await query.orderBy('name').execute()).map(toWorkspace);
  }

  async updateWorkspaceAccess(
    id: string,
    patch: Partial<Pick<Workspace, 'anonymousAccess' | 'memberDefaultAccess'>>,
  ): Promise<void> {
    const values: Partial<Pick<WorkspacesTable, 'anonymous_access' | 'member_default_access'>> = {};
    if (patch.anonymousAccess !== undefined) values.anonymous_access = patch.anonymousAccess;
    if (patch.memberDefaultAccess !== undefined) values.member_default_access = patch.memberDefaultAccess;
    if (Object.keys(values).length === 0) return;
    await this.db.updateTable('workspaces').set(values).where('id', '=', id).execute();
  }

  async insertMembership(m: Membership): Promise<InsertResult> {
    const result = await this.db
      .insertInto('memberships')
      .values({ org_id: m.orgId, user_id: m.userId, role: m.role, created_at: m.createdAt })
      .onConflict((oc) => oc.doNothing())
      .executeTakeFirst();
    return insertResult(result);
  }

  async findMembership(orgId: string, userId: string): Promise<Membership | undefined> {
    return this.remembered(`member:${orgId}:${userId}`, ['memberships'], () => this.readMembership(orgId, userId));
  }

  private async readMembership(orgId: string, userId: string): Promise<Membership | undefined> {
    const row = await this.db
      .selectFrom('memberships')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return row && toMembership(row);
  }

  async listMemberships(orgId: string): Promise<Membership[]> {
    return (
      await this.db.selectFrom('memberships').selectAll().where('org_id', '=', orgId).orderBy('created_at').execute()
    ).map(toMembership);
  }

  async listUserMemberships(userId: string): Promise<Membership[]> {
    return (await this.db.selectFrom('memberships').selectAll().where('user_id', '=', userId).execute()).map(
      toMembership,
    );
  }

  async setMemberRole(orgId: string, userId: string, role: MemberRole): Promise<void> {
    await this.db
      .updateTable('memberships')
      .set({ role })
      .where('org_id', '=', orgId)
      .where('user_id', '=', userId)
      .execute();
  }

  async deleteMembership(orgId: string, userId: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx
        .deleteFrom('member_workspace_access')
        .where('user_id', '=', userId)
        .where('workspace_id', 'in', trx.selectFrom('workspaces').select('id').where('org_id', '=', orgId))
        .execute();
      await trx.deleteFrom('memberships').where('org_id', '=', orgId).where('user_id', '=', userId).execute();
    });
  }

  async findWorkspaceOverride(workspaceId: string, userId: string): Promise<WorkspaceOverride | undefined> {
    return this.remembered(`override:${workspaceId}:${userId}`, ['member_workspace_access'], () =>
      this.readWorkspaceOverride(workspaceId, userId),
    );
  }

  private async readWorkspaceOverride(workspaceId: string, userId: string): Promise<WorkspaceOverride | undefined> {
    const row = await this.db
      .selectFrom('member_workspace_access')
      .selectAll()
      .where('workspace_id', '=', workspaceId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return row && { workspaceId: row.workspace_id, userId: row.user_id, access: row.access as AccessLevel };
  }

  async listWorkspaceOverrides(orgId: string): Promise<WorkspaceOverride[]> {
    const rows = await this.db
      .selectFrom('member_workspace_access')
      .innerJoin('workspaces', 'workspaces.id', 'member_workspace_access.workspace_id')
      .select([
        'member_workspace_access.workspace_id',
        'member_workspace_access.user_id',
        'member_workspace_access.access',
      ])
      .where('workspaces.org_id', '=', orgId)
      .execute();
    return rows.map((r) => ({ workspaceId: r.workspace_id, userId: r.user_id, access: r.access as AccessLevel }));
  }

  async setWorkspaceOverride(workspaceId: string, userId: string, access: AccessLevel | undefined): Promise<void> {
    if (access === undefined) {
      await this.db
        .deleteFrom('member_workspace_access')
        .where('workspace_id', '=', workspaceId)
        .where('user_id', '=', userId)
        .execute();
      return;
    }
    await this.db
      .insertInto('member_workspace_access')
      .values({ workspace_id: workspaceId, user_id: userId, access })
      .onConflict((oc) => oc.columns(['workspace_id', 'user_id']).doUpdateSet({ access }))
      .execute();
  }

  async insertToken(t: TokenRecord): Promise<void> {
    await this.db
      .insertInto('tokens')
      .values({
        id: t.id,
        kind: t.kind,
        name: t.name,
        token_hash: t.tokenHash,
        workspace_id: t.workspaceId,
        user_id: t.userId,
        access: t.access,
        tier: t.tier,
        scope: t.scope,
        created_at: t.createdAt,
        created_by_token_id: t.createdByTokenId,
        expires_at: t.expiresAt,
        revoked_at: t.revokedAt,
        rotated_at: t.rotatedAt,
        last_used_at: t.lastUsedAt,
      })
      .execute();
  }

  async findTokenByHash(tokenHash: string): Promise<TokenRecord | undefined> {
    return this.remembered(`token:${tokenHash}`, ['tokens'], () => this.readTokenByHash(tokenHash));
  }

  private async readTokenByHash(tokenHash: string): Promise<TokenRecord | undefined> {
    const row = await this.db.selectFrom('tokens').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
    return row && toToken(row);
  }

  async findCacheRequest(
    tokenHash: string,
    urlWorkspaceId: string | undefined,
    hash: string | undefined,
  ): Promise<CacheRequestFacts | undefined> {
    if (this.batcher !== undefined) return this.batcher.read(tokenHash, urlWorkspaceId, hash);
    if (this.lookups === undefined) return readCacheRequest(this.db, tokenHash, urlWorkspaceId, hash);
    // The embedded store's remembered lookups answer each part without a statement; entries are asked per namespace.
    const token = await this.findTokenByHash(tokenHash);
    if (token === undefined) return undefined;
    const user = token.userId === null ? undefined : await this.findUser(token.userId);
    const workspaceId = token.workspaceId ?? urlWorkspaceId;
    const workspace = workspaceId === undefined ? undefined : await this.findWorkspace(workspaceId);
    const organisation = workspace && (await this.findOrganisation(workspace.orgId));
    const personal = token.kind === 'personal' && token.userId !== null && workspace !== undefined;
    const membership = personal ? await this.findMembership(workspace.orgId, token.userId as string) : undefined;
    const override =
      personal && membership ? await this.findWorkspaceOverride(workspace.id, token.userId as string) : undefined;
    return { token, user, workspace, organisation, membership, override, entries: undefined };
  }

  async findToken(id: string): Promise<TokenRecord | undefined> {
    const row = await this.db.selectFrom('tokens').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toToken(row);
  }

  async listTokens(filter: TokenFilter): Promise<TokenRecord[]> {
    let query = this.db.selectFrom('tokens').selectAll();
    if (filter.workspaceId !== undefined) query = query.where('workspace_id', '=', filter.workspaceId);
    if (filter.userId !== undefined) query = query.where('user_id', '=', filter.userId);
    return (await query.orderBy('created_at').execute()).map(toToken);
  }

  async replaceTokenHash(id: string, tokenHash: string, rotatedAt: string): Promise<void> {
    await this.db
      .updateTable('tokens')
      .set({ token_hash: tokenHash, rotated_at: rotatedAt })
      .where('id', '=', id)
      .execute();
  }

  async revokeToken(id: string, revokedAt: string): Promise<void> {
    await this.db
      .updateTable('tokens')
      .set({ revoked_at: revokedAt })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .execute();
  }

  async setTokenAccess(id: string, access: TokenAccess): Promise<boolean> {
    const result = await this.db
      .updateTable('tokens')
      .set({ access })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async touchTokenLastUsed(id: string, at: string): Promise<void> {
    await this.db.updateTable('tokens').set({ last_used_at: at }).where('id', '=', id).execute();
  }

  async findEntry(workspaceId: string, namespace: string, hash: string): Promise<CacheEntry | undefined> {
    // A miss is remembered too (the LRU bounds how many): most cache traffic asks for hashes not stored.
    return this.remembered(
      `entry:${workspaceId}:${namespace}:${hash}`,
      ['entries'],
      () => this.readEntry(workspaceId, namespace, hash),
      { keepMissing: true },
    );
  }

  private async readEntry(workspaceId: string, namespace: string, hash: string): Promise<CacheEntry | undefined> {
    const row = await this.db
      .selectFrom('entries')
      .selectAll()
      .where('workspace_id', '=', workspaceId)
      .where('namespace', '=', namespace)
      .where('hash', '=', hash)
      .where('quarantined_at', 'is', null)
      .executeTakeFirst();
    return row && toEntry(row);
  }

  async insertEntry(e: CacheEntry): Promise<InsertResult> {
    const result = await this.db
      .insertInto('entries')
      .values({
        workspace_id: e.workspaceId,
        namespace: e.namespace,
        hash: e.hash,
        blob_key: e.blobKey,
        size: e.size,
        sha256: e.sha256,
        writer_token_id: e.writerTokenId,
        writer_user_id: e.writerUserId,
        created_at: e.createdAt,
        last_access_at: e.lastAccessAt,
      })
      .onConflict((oc) => oc.columns(['workspace_id', 'namespace', 'hash']).doNothing())
      .executeTakeFirst();
    return insertResult(result);
  }

  async touchEntryAccess(workspaceId: string, namespace: string, hash: string, at: string): Promise<void> {
    await this.db
      .updateTable('entries')
      .set({ last_access_at: at })
      .where('workspace_id', '=', workspaceId)
      .where('namespace', '=', namespace)
      .where('hash', '=', hash)
      .execute();
  }

  async appendAudit(e: NewAuditEvent): Promise<void> {
    await this.db
      .insertInto('audit')
      .values({
        at: e.at,
        action: e.action,
        actor_token_id: e.actorTokenId,
        actor_user_id: e.actorUserId,
        org_id: e.orgId,
        workspace_id: e.workspaceId,
        target_id: e.targetId,
        details: JSON.stringify(e.details),
      })
      .execute();
  }

  async listAudit(filter: AuditFilter): Promise<AuditEvent[]> {
    let query = this.db.selectFrom('audit').selectAll();
    if (filter.orgId !== undefined) query = query.where('org_id', '=', filter.orgId);
    if (filter.since !== undefined) query = query.where('at', '>=', filter.since);
    const rows = await query.orderBy('id', 'desc').limit(filter.limit).execute();
    return rows.map((r) => ({
      id: Number(r.id),
      at: r.at,
      action: r.action,
      actorTokenId: r.actor_token_id,
      actorUserId: r.actor_user_id,
      orgId: r.org_id,
      workspaceId: r.workspace_id,
      targetId: r.target_id,
      details: JSON.parse(r.details) as Record<string, unknown>,
    }));
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }

  private remembered<T extends object>(
    key: string,
    tables: readonly string[],
    load: () => Promise<T | undefined>,
    options?: { keepMissing: boolean },
  ): Promise<T | undefined> {
    return this.lookups === undefined ? load() : this.lookups.get(key, tables, load, options);
  }
}

/** A stable 63-bit key per task name, as pg_try_advisory_lock(bigint) takes (sent as text, cast by the server). */
function advisoryLockKey(name: string): string {
  return (createHash('sha256').update(`nx-sealed-cache:${name}`).digest().readBigInt64BE(0) >> 1n).toString();
}

/** Runs pending migrations on a fresh connection and wraps it; the connection is closed if they fail. */
export async function openKyselyMetadataStore(
  db: Kysely<MetadataDatabase>,
  engine: MetadataEngine,
  lookups?: LookupCache,
): Promise<KyselyMetadataStore> {
  // Independent migrations may land out of number order (a data dir can have 004 before 003).
  const { error, results } = await new Migrator({
    db,
    provider: migrationProvider,
    allowUnorderedMigrations: true,
  }).migrateToLatest();
  if (error !== undefined) {
    await db.destroy();
    throw new SealedCacheError('ERR_DATABASE_FAILED', 'migrating the metadata database failed', { cause: error });
  }
  const migrated = (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
  return new KyselyMetadataStore(db, engine, migrated, lookups);
}
