/**
 * Storage for sign-in identities, sessions, invites and CLI login requests: the `webAuth` part of
 * MetadataStore, plain kysely on the store's connection (SQLite or PostgreSQL alike).
 */
import { type Kysely, type Selectable, sql } from 'kysely';
import type { MemberRole } from '../metadata/records';
import type { LoginRequestsTable, MetadataDatabase } from '../metadata/schema';

export interface WebSessionRecord {
  idHash: string;
  userId: string;
  createdAt: string;
  lastSeenAt: string;
  expiresAt: string;
}

export interface InviteRecord {
  codeHash: string;
  orgId: string;
  role: MemberRole;
  createdByUserId: string | null;
  createdAt: string;
  expiresAt: string;
  usedAt: string | null;
}

export interface LoginRequestRecord {
  id: string;
  userCode: string;
  deviceCodeHash: string;
  hostname: string;
  workspaceId: string | null;
  createdAt: string;
  expiresAt: string;
  /** Where the request came from, as the server saw it (null on requests from before this was kept). */
  clientAddress: string | null;
  userAgent: string | null;
  approvedByUserId: string | null;
  approvedAt: string | null;
  completedAt: string | null;
  tokenId: string | null;
}

const toLoginRequest = (r: Selectable<LoginRequestsTable>): LoginRequestRecord => ({
  id: r.id,
  userCode: r.user_code,
  deviceCodeHash: r.device_code_hash,
  hostname: r.hostname,
  workspaceId: r.workspace_id,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  clientAddress: r.client_address,
  userAgent: r.user_agent,
  approvedByUserId: r.approved_by_user_id,
  approvedAt: r.approved_at,
  completedAt: r.completed_at,
  tokenId: r.token_id,
});

/** Failed sign-ins of one key (`account:<name>` or `address:<ip>`), as every replica sees them. */
export interface SignInFailures {
  failures: number;
  lastAt: string;
  lockedUntil: string | null;
}

export class WebAuthStore {
  constructor(private readonly db: Kysely<MetadataDatabase>) {}

  /** Entries and bytes per workspace, straight from the entries table (the stats page's fallback). */
  async entryTotals(): Promise<{ workspaceId: string; entries: number; bytes: number }[]> {
    const rows = await this.db
      .selectFrom('entries')
      .select((eb) => ['workspace_id', eb.fn.countAll<number>().as('entries'), eb.fn.sum<number>('size').as('bytes')])
      .groupBy('workspace_id')
      .execute();
    return rows.map((r) => ({ workspaceId: r.workspace_id, entries: Number(r.entries), bytes: Number(r.bytes ?? 0) }));
  }

  /** Bytes and entries written per UTC day since `since`, for the stats chart. */
  async entriesPerDay(
    since: string,
    workspaceIds: string[],
  ): Promise<{ day: string; entries: number; bytes: number }[]> {
    if (workspaceIds.length === 0) return [];
    const rows = await this.db
      .selectFrom('entries')
      .where('workspace_id', 'in', workspaceIds)
      .select((eb) => [
        sql<string>`substr(created_at, 1, 10)`.as('day'),
        eb.fn.countAll<number>().as('entries'),
        eb.fn.sum<number>('size').as('bytes'),
      ])
      .where('created_at', '>=', since)
      .groupBy('day')
      .orderBy('day')
      .execute();
    return rows.map((r) => ({ day: r.day, entries: Number(r.entries), bytes: Number(r.bytes ?? 0) }));
  }

  async findPasswordHash(userId: string): Promise<string | undefined> {
    const row = await this.db
      .selectFrom('identities')
      .select('password_hash')
      .where('provider', '=', 'local')
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return row?.password_hash ?? undefined;
  }

  async setPasswordHash(userId: string, passwordHash: string, at: string): Promise<void> {
    await this.db
      .insertInto('identities')
      .values({
        user_id: userId,
        provider: 'local',
        subject: userId,
        password_hash: passwordHash,
        created_at: at,
        updated_at: at,
      })
      .onConflict((oc) =>
        oc.columns(['provider', 'subject']).doUpdateSet({ password_hash: passwordHash, updated_at: at }),
      )
      .execute();
  }

  async insertSession(session: WebSessionRecord): Promise<void> {
    await this.db
      .insertInto('web_sessions')
      .values({
        id_hash: session.idHash,
        user_id: session.userId,
        created_at: session.createdAt,
        last_seen_at: session.lastSeenAt,
        expires_at: session.expiresAt,
      })
      .execute();
  }

  async findSession(idHash: string): Promise<WebSessionRecord | undefined> {
    const r = await this.db.selectFrom('web_sessions').selectAll().where('id_hash', '=', idHash).executeTakeFirst();
    return (
      r && {
        idHash: r.id_hash,
        userId: r.user_id,
        createdAt: r.created_at,
        lastSeenAt: r.last_seen_at,
        expiresAt: r.expires_at,
      }
    );
  }

  async touchSession(idHash: string, at: string): Promise<void> {
    await this.db.updateTable('web_sessions').set({ last_seen_at: at }).where('id_hash', '=', idHash).execute();
  }

  async deleteSession(idHash: string): Promise<void> {
    await this.db.deleteFrom('web_sessions').where('id_hash', '=', idHash).execute();
  }

  async deleteUserSessions(userId: string): Promise<void> {
    await this.db.deleteFrom('web_sessions').where('user_id', '=', userId).execute();
  }

  async insertInvite(invite: InviteRecord): Promise<void> {
    await this.db
      .insertInto('web_invites')
      .values({
        code_hash: invite.codeHash,
        org_id: invite.orgId,
        role: invite.role,
        created_by_user_id: invite.createdByUserId,
        created_at: invite.createdAt,
        expires_at: invite.expiresAt,
        used_at: null,
        used_by_user_id: null,
      })
      .execute();
  }

  async findInvite(codeHash: string): Promise<InviteRecord | undefined> {
    const r = await this.db.selectFrom('web_invites').selectAll().where('code_hash', '=', codeHash).executeTakeFirst();
    return (
      r && {
        codeHash: r.code_hash,
        orgId: r.org_id,
        role: r.role as MemberRole,
        createdByUserId: r.created_by_user_id,
        createdAt: r.created_at,
        expiresAt: r.expires_at,
        usedAt: r.used_at,
      }
    );
  }

  /** Single use: only the first caller gets true. */
  async markInviteUsed(codeHash: string, userId: string, at: string): Promise<boolean> {
    const result = await this.db
      .updateTable('web_invites')
      .set({ used_at: at, used_by_user_id: userId })
      .where('code_hash', '=', codeHash)
      .where('used_at', 'is', null)
      .executeTakeFirst();
    return result.numUpdatedRows === 1n;
  }

  async insertLoginRequest(request: LoginRequestRecord): Promise<void> {
    await this.db
      .insertInto('login_requests')
      .values({
        id: request.id,
        user_code: request.userCode,
        device_code_hash: request.deviceCodeHash,
        hostname: request.hostname,
        workspace_id: request.workspaceId,
        created_at: request.createdAt,
        expires_at: request.expiresAt,
        client_address: request.clientAddress,
        user_agent: request.userAgent,
        approved_by_user_id: null,
        approved_at: null,
        completed_at: null,
        token_id: null,
      })
      .execute();
  }

  async findLoginRequest(id: string): Promise<LoginRequestRecord | undefined> {
    const r = await this.db.selectFrom('login_requests').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toLoginRequest(r);
  }

  async findLoginRequestByUserCode(userCode: string): Promise<LoginRequestRecord | undefined> {
    const r = await this.db
      .selectFrom('login_requests')
      .selectAll()
      .where('user_code', '=', userCode)
      .executeTakeFirst();
    return r && toLoginRequest(r);
  }

  async approveLoginRequest(id: string, userId: string, at: string): Promise<boolean> {
    const result = await this.db
      .updateTable('login_requests')
      .set({ approved_by_user_id: userId, approved_at: at })
      .where('id', '=', id)
      .where('approved_at', 'is', null)
      .executeTakeFirst();
    return result.numUpdatedRows === 1n;
  }

  /** Single use: only the first poll after approval completes the request. */
  async completeLoginRequest(id: string, at: string): Promise<boolean> {
    const result = await this.db
      .updateTable('login_requests')
      .set({ completed_at: at })
      .where('id', '=', id)
      .where('completed_at', 'is', null)
      .where('approved_at', 'is not', null)
      .executeTakeFirst();
    return result.numUpdatedRows === 1n;
  }

  /** A denied request is completed without approval: it can be neither approved nor polled into a token. */
  async denyLoginRequest(id: string, at: string): Promise<boolean> {
    const result = await this.db
      .updateTable('login_requests')
      .set({ completed_at: at })
      .where('id', '=', id)
      .where('approved_at', 'is', null)
      .where('completed_at', 'is', null)
      .executeTakeFirst();
    return result.numUpdatedRows === 1n;
  }

  async setLoginRequestToken(id: string, tokenId: string): Promise<void> {
    await this.db.updateTable('login_requests').set({ token_id: tokenId }).where('id', '=', id).execute();
  }

  async findSignInFailures(key: string): Promise<SignInFailures | undefined> {
    const r = await this.db.selectFrom('sign_in_failures').selectAll().where('key', '=', key).executeTakeFirst();
    return r && { failures: Number(r.failures), lastAt: r.last_at, lockedUntil: r.locked_until };
  }

  /**
   * Counts one failure in a single statement (concurrent replicas add up, none is lost); a key whose
   * last failure is older than `forgetBefore` starts over. Answers the count after it.
   */
  async addSignInFailure(key: string, at: string, forgetBefore: string): Promise<number> {
    await this.db
      .insertInto('sign_in_failures')
      .values({ key, failures: 1, last_at: at, locked_until: null })
      .onConflict((oc) =>
        oc.column('key').doUpdateSet((eb) => ({
          failures: eb
            .case()
            .when('sign_in_failures.last_at', '<', forgetBefore)
            .then(1)
            .else(eb('sign_in_failures.failures', '+', 1))
            .end(),
          last_at: at,
        })),
      )
      .execute();
    return (await this.findSignInFailures(key))?.failures ?? 1;
  }

  /** Never shortens a lockout another replica set. */
  async lockSignIn(key: string, until: string): Promise<void> {
    await this.db
      .updateTable('sign_in_failures')
      .set({ locked_until: until })
      .where('key', '=', key)
      .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<', until)]))
      .execute();
  }

  async clearSignInFailures(key: string): Promise<void> {
    await this.db.deleteFrom('sign_in_failures').where('key', '=', key).execute();
  }

  /** True only for the first caller with this key, on any replica; forgets keys used before `forgetBefore`. */
  async useFormNonce(keyHash: string, at: string, forgetBefore: string): Promise<boolean> {
    await this.db.deleteFrom('web_form_nonces').where('used_at', '<', forgetBefore).execute();
    const result = await this.db
      .insertInto('web_form_nonces')
      .values({ key_hash: keyHash, used_at: at })
      .onConflict((oc) => oc.column('key_hash').doNothing())
      .executeTakeFirst();
    return result.numInsertedOrUpdatedRows !== 0n;
  }
}
