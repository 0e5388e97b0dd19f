/**
 * Storage for OIDC sign-in: one-time attempts, organisation sign-in policies and join domains, and
 * the provider identities linked to users (rows of `identities` with provider `oidc:<issuer>`).
 * Tables of migration 010: the `sso` part of MetadataStore, on the store's connection.
 */
import type { Kysely } from 'kysely';
import type { MemberRole } from '../metadata/records';
import type { IdentitiesTable, MetadataDatabase } from '../metadata/schema';

export interface SsoAttempt {
  stateHash: string;
  providerId: string;
  browserHash: string;
  codeVerifier: string;
  nonce: string;
  nextPath: string;
  createdAt: string;
  expiresAt: string;
}

export interface JoinDomain {
  domain: string;
  orgId: string;
  role: MemberRole;
}

export interface OrgSignInPolicy {
  requiredProvider: string | null;
  joinDomains: { domain: string; role: MemberRole }[];
  /** Seconds between re-checks of members' SSO identities; null: the default (24 hours). */
  recheckIntervalSeconds?: number | null;
}

export const oidcProviderKey = (issuer: string): string => `oidc:${issuer}`;

/** One linked provider identity: `provider` is the key `oidc:<issuer>`, `subject` the provider's `sub`. */
export interface SsoIdentityRef {
  provider: string;
  subject: string;
}

/** A linked identity as the re-check sees it. */
export interface LinkedIdentity extends SsoIdentityRef {
  userId: string;
  refreshTokenSealed: string | null;
  /** The last sign-in or successful refresh (falls back to when the link was made). */
  checkedAt: string;
}

/** The columns of `identities` a LinkedIdentity is read from. */
export const LINKED_IDENTITY_COLUMNS = [
  'user_id',
  'provider',
  'subject',
  'refresh_token_sealed',
  'checked_at',
  'created_at',
] as const;

export const linkedIdentityOf = (
  r: Pick<IdentitiesTable, (typeof LINKED_IDENTITY_COLUMNS)[number]>,
): LinkedIdentity => ({
  userId: r.user_id,
  provider: r.provider,
  subject: r.subject,
  refreshTokenSealed: r.refresh_token_sealed,
  checkedAt: r.checked_at ?? r.created_at,
});

/** With no organisation policy saying otherwise, an identity is re-checked this often. */
export const DEFAULT_RECHECK_INTERVAL_S = 24 * 3600;

export class SsoStore {
  constructor(private readonly db: Kysely<MetadataDatabase>) {}

  async insertAttempt(attempt: SsoAttempt): Promise<void> {
    await this.db
      .insertInto('sso_attempts')
      .values({
        state_hash: attempt.stateHash,
        provider_id: attempt.providerId,
        browser_hash: attempt.browserHash,
        code_verifier: attempt.codeVerifier,
        nonce: attempt.nonce,
        next_path: attempt.nextPath,
        created_at: attempt.createdAt,
        expires_at: attempt.expiresAt,
        used_at: null,
      })
      .execute();
  }

  /** Single use: only the first caller gets the attempt; a replayed state finds nothing. */
  async takeAttempt(stateHash: string, at: string): Promise<SsoAttempt | undefined> {
    const row = await this.db
      .selectFrom('sso_attempts')
      .selectAll()
      .where('state_hash', '=', stateHash)
      .executeTakeFirst();
    if (row === undefined || row.used_at !== null) return undefined;
    const result = await this.db
      .updateTable('sso_attempts')
      .set({ used_at: at })
      .where('state_hash', '=', stateHash)
      .where('used_at', 'is', null)
      .executeTakeFirst();
    if (result.numUpdatedRows !== 1n) return undefined;
    return {
      stateHash: row.state_hash,
      providerId: row.provider_id,
      browserHash: row.browser_hash,
      codeVerifier: row.code_verifier,
      nonce: row.nonce,
      nextPath: row.next_path,
      createdAt: row.created_at,
      expiresAt: row.expires_at,
    };
  }

  /** Attempts are kept a day past expiry (so a late replay still reads "already used"), then dropped. */
  async pruneAttempts(before: string): Promise<void> {
    await this.db.deleteFrom('sso_attempts').where('expires_at', '<', before).execute();
  }

  async findLinkedUserId(issuer: string, subject: string): Promise<string | undefined> {
    const row = await this.db
      .selectFrom('identities')
      .select('user_id')
      .where('provider', '=', oidcProviderKey(issuer))
      .where('subject', '=', subject)
      .executeTakeFirst();
    return row?.user_id;
  }

  async linkIdentity(userId: string, issuer: string, subject: string, at: string): Promise<void> {
    await this.db
      .insertInto('identities')
      .values({
        user_id: userId,
        provider: oidcProviderKey(issuer),
        subject,
        password_hash: null,
        created_at: at,
        updated_at: at,
      })
      .execute();
  }

  /** The providers (`oidc:<issuer>`) a user has a linked identity with. */
  async linkedProviders(userId: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('identities')
      .select('provider')
      .where('user_id', '=', userId)
      .where('provider', '!=', 'local')
      .execute();
    return rows.map((r) => r.provider);
  }

  /**
   * After a sign-in: confirmed now, a failed re-check forgotten, the refresh token (or none) replaced,
   * and the verified email (or none) remembered for SCIM matching by address.
   */
  async confirmIdentity(
    ref: SsoIdentityRef,
    refreshTokenSealed: string | null,
    verifiedEmail: string | null,
    at: string,
  ): Promise<void> {
    await this.db
      .updateTable('identities')
      .set({
        checked_at: at,
        recheck_failed_at: null,
        refresh_token_sealed: refreshTokenSealed,
        email: verifiedEmail,
        updated_at: at,
      })
      .where('provider', '=', ref.provider)
      .where('subject', '=', ref.subject)
      .execute();
  }

  /** After a successful refresh; a provider that rotates refresh tokens gives a new one. */
  async refreshedIdentity(ref: SsoIdentityRef, refreshTokenSealed: string | null, at: string): Promise<void> {
    await this.db
      .updateTable('identities')
      .set({ checked_at: at, ...(refreshTokenSealed === null ? {} : { refresh_token_sealed: refreshTokenSealed }) })
      .where('provider', '=', ref.provider)
      .where('subject', '=', ref.subject)
      .execute();
  }

  /** A failed re-check: the refresh token is dropped, and the identity waits for a new sign-in. */
  async failIdentity(ref: SsoIdentityRef, at: string): Promise<void> {
    await this.db
      .updateTable('identities')
      .set({ recheck_failed_at: at, refresh_token_sealed: null })
      .where('provider', '=', ref.provider)
      .where('subject', '=', ref.subject)
      .execute();
  }

  /** Linked provider identities not already stopped by a failed re-check. */
  async identitiesToRecheck(): Promise<LinkedIdentity[]> {
    const rows = await this.db
      .selectFrom('identities')
      .select(LINKED_IDENTITY_COLUMNS)
      .where('provider', 'like', 'oidc:%')
      .where('recheck_failed_at', 'is', null)
      .orderBy('provider')
      .orderBy('subject')
      .execute();
    return rows.map(linkedIdentityOf);
  }

  /** The shortest re-check interval among the organisations the user belongs to (the default when none sets one). */
  async recheckIntervalFor(userId: string): Promise<number> {
    const rows = await this.db
      .selectFrom('memberships')
      .innerJoin('org_sign_in_policies', 'org_sign_in_policies.org_id', 'memberships.org_id')
      .select('org_sign_in_policies.recheck_interval_s')
      .where('memberships.user_id', '=', userId)
      .where('org_sign_in_policies.recheck_interval_s', 'is not', null)
      .execute();
    return Math.min(DEFAULT_RECHECK_INTERVAL_S, ...rows.map((r) => Number(r.recheck_interval_s)));
  }

  async linkToken(tokenId: string, ref: SsoIdentityRef, at: string): Promise<void> {
    await this.db
      .insertInto('sso_token_links')
      .values({ token_id: tokenId, provider: ref.provider, subject: ref.subject, created_at: at })
      .execute();
  }

  /** Tokens made through the identity that are neither revoked nor expired. */
  async activeLinkedTokens(
    ref: SsoIdentityRef,
    now: string,
  ): Promise<{ id: string; workspaceId: string | null; userId: string | null }[]> {
    return this.db
      .selectFrom('sso_token_links')
      .innerJoin('tokens', 'tokens.id', 'sso_token_links.token_id')
      .select(['tokens.id as id', 'tokens.workspace_id as workspaceId', 'tokens.user_id as userId'])
      .where('sso_token_links.provider', '=', ref.provider)
      .where('sso_token_links.subject', '=', ref.subject)
      .where('tokens.revoked_at', 'is', null)
      .where((eb) => eb.or([eb('tokens.expires_at', 'is', null), eb('tokens.expires_at', '>', now)]))
      .orderBy('tokens.id')
      .execute();
  }

  async setLoginRequestIdentity(requestId: string, ref: SsoIdentityRef): Promise<void> {
    await this.db
      .updateTable('login_requests')
      .set({ sso_provider: ref.provider, sso_subject: ref.subject })
      .where('id', '=', requestId)
      .execute();
  }

  async loginRequestIdentity(requestId: string): Promise<SsoIdentityRef | undefined> {
    const row = await this.db
      .selectFrom('login_requests')
      .select(['sso_provider', 'sso_subject'])
      .where('id', '=', requestId)
      .executeTakeFirst();
    return row?.sso_provider && row.sso_subject ? { provider: row.sso_provider, subject: row.sso_subject } : undefined;
  }

  /** The identity a user has with a provider, by its key `oidc:<issuer>`. */
  async identityOf(userId: string, provider: string): Promise<SsoIdentityRef | undefined> {
    const row = await this.db
      .selectFrom('identities')
      .select(['provider', 'subject'])
      .where('user_id', '=', userId)
      .where('provider', '=', provider)
      .executeTakeFirst();
    return row && { provider: row.provider, subject: row.subject };
  }

  /** Ends the user's sessions that signed in through this configured provider; returns how many. */
  async endProviderSessions(userId: string, providerId: string): Promise<number> {
    const result = await this.db
      .deleteFrom('web_sessions')
      .where('user_id', '=', userId)
      .where('provider', '=', providerId)
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  async findJoinDomain(domain: string): Promise<JoinDomain | undefined> {
    const row = await this.db
      .selectFrom('org_join_domains')
      .selectAll()
      .where('domain', '=', domain)
      .executeTakeFirst();
    return row && { domain: row.domain, orgId: row.org_id, role: row.role as MemberRole };
  }

  async policyOf(orgId: string): Promise<OrgSignInPolicy> {
    const policy = await this.db
      .selectFrom('org_sign_in_policies')
      .select(['required_provider', 'recheck_interval_s'])
      .where('org_id', '=', orgId)
      .executeTakeFirst();
    const domains = await this.db
      .selectFrom('org_join_domains')
      .select(['domain', 'role'])
      .where('org_id', '=', orgId)
      .orderBy('domain')
      .execute();
    return {
      requiredProvider: policy?.required_provider ?? null,
      joinDomains: domains.map((d) => ({ domain: d.domain, role: d.role as MemberRole })),
      recheckIntervalSeconds: policy?.recheck_interval_s == null ? null : Number(policy.recheck_interval_s),
    };
  }

  /** Replaces the organisation's policy; false when a domain already belongs to another organisation. */
  async setPolicy(orgId: string, policy: OrgSignInPolicy, at: string): Promise<{ takenDomain?: string }> {
    return this.db.transaction().execute(async (trx) => {
      for (const { domain } of policy.joinDomains) {
        const owner = await trx
          .selectFrom('org_join_domains')
          .select('org_id')
          .where('domain', '=', domain)
          .executeTakeFirst();
        if (owner !== undefined && owner.org_id !== orgId) return { takenDomain: domain };
      }
      await trx.deleteFrom('org_join_domains').where('org_id', '=', orgId).execute();
      for (const { domain, role } of policy.joinDomains)
        await trx.insertInto('org_join_domains').values({ domain, org_id: orgId, role, created_at: at }).execute();
      await trx
        .insertInto('org_sign_in_policies')
        .values({
          org_id: orgId,
          required_provider: policy.requiredProvider,
          recheck_interval_s: policy.recheckIntervalSeconds ?? null,
          updated_at: at,
        })
        .onConflict((oc) =>
          oc.column('org_id').doUpdateSet({
            required_provider: policy.requiredProvider,
            recheck_interval_s: policy.recheckIntervalSeconds ?? null,
            updated_at: at,
          }),
        )
        .execute();
      return {};
    });
  }

  async sessionProvider(idHash: string): Promise<string | null> {
    const row = await this.db
      .selectFrom('web_sessions')
      .select('provider')
      .where('id_hash', '=', idHash)
      .executeTakeFirst();
    return row?.provider ?? null;
  }

  async setSessionProvider(idHash: string, providerId: string): Promise<void> {
    await this.db.updateTable('web_sessions').set({ provider: providerId }).where('id_hash', '=', idHash).execute();
  }
}
