/**
 * The CI identity tables: trust policies, exchanged `jti`s (until they expire) and the claims behind
 * each exchanged token. Plain kysely on the metadata connection, like the tier store.
 */
import type { Kysely, Selectable } from 'kysely';
import type { CiTrustPoliciesTable, MetadataDatabase } from '../metadata/schema';
import type { CiProvider, TrustPolicy } from './trust-policy';

const SWEEP_BATCH = 500;

export interface CiGrant {
  tokenId: string;
  workspaceId: string;
  policyId: string;
  issuer: string;
  subject: string;
  summary: string;
  claims: Record<string, string>;
  createdAt: string;
}

/** A policy as stored, with who created it (the audit actor of the request that added it). */
export interface StoredTrustPolicy extends TrustPolicy {
  createdByTokenId: string | null;
  createdByUserId: string | null;
}

const toPolicy = (r: Selectable<CiTrustPoliciesTable>): StoredTrustPolicy => ({
  id: r.id,
  workspaceId: r.workspace_id,
  name: r.name,
  provider: r.provider as CiProvider,
  issuer: r.issuer,
  audience: r.audience,
  jwksUrl: r.jwks_url,
  jwks: r.jwks === null ? null : (JSON.parse(r.jwks) as TrustPolicy['jwks']),
  rules: JSON.parse(r.rules) as TrustPolicy['rules'],
  tokenLifetime: r.token_lifetime,
  createdAt: r.created_at,
  createdByTokenId: r.created_by_token_id,
  createdByUserId: r.created_by_user_id,
});

export class CiIdentityStore {
  constructor(private readonly db: Kysely<MetadataDatabase>) {}

  /** 'exists' when the workspace already has a policy of that name. */
  async insertPolicy(
    policy: TrustPolicy,
    createdBy: { tokenId: string | null; userId: string | null },
  ): Promise<'inserted' | 'exists'> {
    const taken = await this.db
      .selectFrom('ci_trust_policies')
      .select('id')
      .where('workspace_id', '=', policy.workspaceId)
      .where('name', '=', policy.name)
      .executeTakeFirst();
    if (taken !== undefined) return 'exists';
    await this.db
      .insertInto('ci_trust_policies')
      .values({
        id: policy.id,
        workspace_id: policy.workspaceId,
        name: policy.name,
        provider: policy.provider,
        issuer: policy.issuer,
        audience: policy.audience,
        jwks_url: policy.jwksUrl,
        jwks: policy.jwks === null ? null : JSON.stringify(policy.jwks),
        rules: JSON.stringify(policy.rules),
        token_lifetime: policy.tokenLifetime,
        created_at: policy.createdAt,
        created_by_token_id: createdBy.tokenId,
        created_by_user_id: createdBy.userId,
      })
      .execute();
    return 'inserted';
  }

  async listPolicies(workspaceId: string): Promise<StoredTrustPolicy[]> {
    const rows = await this.db
      .selectFrom('ci_trust_policies')
      .selectAll()
      .where('workspace_id', '=', workspaceId)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    return rows.map(toPolicy);
  }

  /** A policy by id or name, only within the workspace. */
  async findPolicy(workspaceId: string, idOrName: string): Promise<StoredTrustPolicy | undefined> {
    const row = await this.db
      .selectFrom('ci_trust_policies')
      .selectAll()
      .where('workspace_id', '=', workspaceId)
      .where((eb) => eb.or([eb('id', '=', idOrName), eb('name', '=', idOrName)]))
      .executeTakeFirst();
    return row && toPolicy(row);
  }

  async deletePolicy(id: string): Promise<void> {
    await this.db.deleteFrom('ci_trust_policies').where('id', '=', id).execute();
  }

  /** Records a token's `jti` until it expires; false when it was already recorded (a replay). */
  async claimJti(issuer: string, jti: string, expiresAt: string, now: string): Promise<boolean> {
    await this.forgetExpiredJtis(now);
    const result = await this.db
      .insertInto('ci_identity_jtis')
      .values({ issuer, jti, expires_at: expiresAt })
      .onConflict((oc) => oc.columns(['issuer', 'jti']).doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0n) === 1;
  }

  /** An expired `jti` can no longer be replayed (the token is refused as expired): nothing to remember. */
  async forgetExpiredJtis(now: string): Promise<number> {
    const result = await this.db.deleteFrom('ci_identity_jtis').where('expires_at', '<', now).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  /**
   * Deletes the tokens exchanged for CI identities that expired before `expiredBefore`, and then every grant
   * whose token is gone and that no entry names as its writer; a grant an entry still names stays, so
   * `writerIdentity` reads until the entry goes. Tokens first: a live token never loses its grant (which is
   * what keeps it from minting). Other tokens are never touched. Returns how many tokens went.
   */
  async removeExpiredExchangedTokens(expiredBefore: string): Promise<number> {
    let removed = 0;
    for (;;) {
      const batch = await this.db
        .selectFrom('tokens')
        .innerJoin('ci_identity_grants', 'ci_identity_grants.token_id', 'tokens.id')
        .select('tokens.id')
        .where('tokens.expires_at', 'is not', null)
        .where('tokens.expires_at', '<', expiredBefore)
        .limit(SWEEP_BATCH)
        .execute();
      if (batch.length === 0) break;
      const result = await this.db
        .deleteFrom('tokens')
        .where(
          'id',
          'in',
          batch.map((row) => row.id),
        )
        .executeTakeFirst();
      removed += Number(result.numDeletedRows);
      if (batch.length < SWEEP_BATCH) break;
    }
    // Only grants older than the cut-off: a fresh exchange's rows are never judged half-written.
    await this.db
      .deleteFrom('ci_identity_grants')
      .where('created_at', '<', expiredBefore)
      .where(({ exists, not, selectFrom }) =>
        not(exists(selectFrom('tokens').select('tokens.id').whereRef('tokens.id', '=', 'ci_identity_grants.token_id'))),
      )
      .where(({ exists, not, selectFrom }) =>
        not(
          exists(
            selectFrom('entries')
              .select('entries.id')
              .whereRef('entries.writer_token_id', '=', 'ci_identity_grants.token_id'),
          ),
        ),
      )
      .execute();
    return removed;
  }

  async insertGrant(grant: CiGrant): Promise<void> {
    await this.db
      .insertInto('ci_identity_grants')
      .values({
        token_id: grant.tokenId,
        workspace_id: grant.workspaceId,
        policy_id: grant.policyId,
        issuer: grant.issuer,
        subject: grant.subject,
        summary: grant.summary,
        claims: JSON.stringify(grant.claims),
        created_at: grant.createdAt,
      })
      .execute();
  }

  /** `token id -> <repo>@<ref> (run <id>, <actor>)` for the tokens that came from an exchange. */
  async describeGrants(tokenIds: string[]): Promise<Map<string, string>> {
    const described = new Map<string, string>();
    if (tokenIds.length === 0) return described;
    const rows = await this.db
      .selectFrom('ci_identity_grants')
      .select(['token_id', 'summary', 'claims'])
      .where('token_id', 'in', tokenIds)
      .execute();
    for (const row of rows) {
      const claims = JSON.parse(row.claims) as Record<string, string>;
      const run = claims.run_id ?? claims.pipeline_id;
      const actor = claims.actor ?? claims.user_login;
      const extra = [run && `run ${run}`, actor].filter(Boolean).join(', ');
      described.set(row.token_id, extra ? `${row.summary} (${extra})` : row.summary);
    }
    return described;
  }

  async findGrant(tokenId: string): Promise<CiGrant | undefined> {
    const r = await this.db
      .selectFrom('ci_identity_grants')
      .selectAll()
      .where('token_id', '=', tokenId)
      .executeTakeFirst();
    return (
      r && {
        tokenId: r.token_id,
        workspaceId: r.workspace_id,
        policyId: r.policy_id,
        issuer: r.issuer,
        subject: r.subject,
        summary: r.summary,
        claims: JSON.parse(r.claims) as Record<string, string>,
        createdAt: r.created_at,
      }
    );
  }
}
