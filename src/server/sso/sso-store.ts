/**
 * Storage for OIDC sign-in: one-time attempts, organisation sign-in policies and join domains, and
 * the provider identities linked to users (rows of `identities` with provider `oidc:<issuer>`).
 * Tables of migration 010: the `sso` part of MetadataStore, on the store's connection.
 */
import type { Kysely } from 'kysely';
import type { MemberRole } from '../metadata/records';
import type { MetadataDatabase } from '../metadata/schema';

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
}

export const oidcProviderKey = (issuer: string): string => `oidc:${issuer}`;

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
      .select('required_provider')
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
        .values({ org_id: orgId, required_provider: policy.requiredProvider, updated_at: at })
        .onConflict((oc) =>
          oc.column('org_id').doUpdateSet({ required_provider: policy.requiredProvider, updated_at: at }),
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
