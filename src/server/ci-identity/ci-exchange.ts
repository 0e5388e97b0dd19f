/**
 * The token exchange: a CI job's verified identity token, judged by the workspace's trust policies, for a
 * short-lived CI cache token (trusted, isolated in a scope from the claims, or read-only). The token never
 * outlives the policy's lifetime counted from when the identity token was issued; the claims that granted
 * it are recorded with it (provenance) and in the audit log.
 */
import { z } from 'zod';
import { SealedCacheError } from '../../errors';
import { WORKSPACE_ID_PATTERN } from '../../protocol';
import type { TokenAccess, Workspace, WriteTier } from '../metadata/records';
import type { ServerContext } from '../server-context';
import type { IssuedToken } from '../services/token-service';
import type { IssuerControl } from './issuer-allowlist';
import { type JwksCache, inlineKeys } from './jwks-cache';
import { type Outcome, type PolicyDecision, type TrustPolicy, decideClaims, grantOf, lifetimeMs } from './trust-policy';
import { peekIssuerAndAudience, type VerifiedCiToken, verifyCiToken } from './verify-ci-token';

export const ExchangeBody = z.strictObject({
  workspaceId: z.string().regex(WORKSPACE_ID_PATTERN, 'a workspace id (ws_ + 20 letters or digits)'),
  token: z
    .string()
    .min(1)
    .max(16 * 1024),
});
export type ExchangeBody = z.infer<typeof ExchangeBody>;

export interface ExchangeResult {
  issued: IssuedToken;
  outcome: Exclude<Outcome, 'refused'>;
  label: string;
  summary: string;
  claims: Record<string, string>;
  reason: string;
}

const MIN_REMAINING_MS = 60_000;

const GRANTS: Record<Exclude<Outcome, 'refused'>, { access: TokenAccess; tier: WriteTier }> = {
  trusted: { access: 'read-write', tier: 'trusted' },
  isolated: { access: 'read-write', tier: 'isolated' },
  'read-only': { access: 'read', tier: 'isolated' },
};

/** The workspace's policies for the token's issuer, those naming its audience first (the audience is verified after). */
function candidatePolicies(policies: TrustPolicy[], workspace: Workspace, jwt: string): TrustPolicy[] {
  const { issuer, audiences } = peekIssuerAndAudience(jwt);
  const forIssuer = policies.filter((p) => p.issuer === issuer.replace(/\/+$/, ''));
  if (forIssuer.length === 0)
    throw new SealedCacheError(
      'ERR_CI_IDENTITY_NO_POLICY',
      `workspace ${workspace.name} has no trust policy for issuer ${issuer.slice(0, 200)}`,
    );
  const forAudience = forIssuer.filter((p) => audiences.includes(p.audience));
  return forAudience.length > 0 ? forAudience : forIssuer.slice(0, 1);
}

/** A rule whose scope the token cannot fill refuses, like any other refusal. */
function decideSafely(policy: TrustPolicy, claims: VerifiedCiToken['claims']): PolicyDecision {
  try {
    return decideClaims(policy, claims);
  } catch (err) {
    return { outcome: 'refused', reason: err instanceof Error ? err.message : 'the scope could not be derived' };
  }
}

/** Each candidate verifies with its own keys; the first that verifies and grants decides, else the first refusal. */
async function judge(
  candidates: TrustPolicy[],
  keySource: KeySource,
  jwt: string,
  now: Date,
): Promise<{ policy: TrustPolicy; claims: VerifiedCiToken['claims']; decision: PolicyDecision }[]> {
  const verified: { policy: TrustPolicy; claims: VerifiedCiToken['claims']; decision: PolicyDecision }[] = [];
  let firstError: unknown;
  for (const policy of candidates) {
    let claims: VerifiedCiToken['claims'];
    try {
      // A policy stored before the server admin took its issuer off the list fetches nothing any more.
      if (policy.jwks === null) keySource.issuers.requireIssuer(policy.issuer);
      const keys =
        policy.jwks !== null ? inlineKeys(policy.jwks as never) : keySource.jwks.keysAt(policy.jwksUrl as string);
      ({ claims } = await verifyCiToken(jwt, { issuer: policy.issuer, audience: policy.audience, keys }, now));
    } catch (err) {
      firstError ??= err;
      continue;
    }
    verified.push({ policy, claims, decision: decideSafely(policy, claims) });
  }
  if (verified.length === 0) throw firstError;
  return verified;
}

/** Where keys come from: the cache of fetched JWKS, and which issuers it may fetch from. */
export interface KeySource {
  jwks: JwksCache;
  issuers: IssuerControl;
}

export async function exchangeCiToken(
  ctx: ServerContext,
  keySource: KeySource,
  workspace: Workspace,
  jwt: string,
): Promise<ExchangeResult> {
  const identity = ctx.store.ciIdentity;
  const candidates = candidatePolicies(await identity.listPolicies(workspace.id), workspace, jwt);
  const now = ctx.clock();
  const judged = await judge(candidates, keySource, jwt, now);
  const { policy, claims, decision } = judged.find((j) => j.decision.outcome !== 'refused') ?? judged[0];

  // Every verified token is spent once, whatever the policy then says of it.
  const spentUntil = new Date(Math.max(claims.exp * 1000, now.getTime()) + 60_000).toISOString();
  if (!(await identity.claimJti(policy.issuer, claims.jti, spentUntil, now.toISOString())))
    throw new SealedCacheError('ERR_CI_IDENTITY_REPLAYED', 'this identity token was already exchanged (replayed jti)');

  const grant = grantOf(policy.provider, claims);
  if (decision.outcome === 'refused') {
    await ctx.audit.recordDenied({
      action: 'ci-identity.refused',
      actor: { tokenId: null, userId: null },
      orgId: workspace.orgId,
      workspaceId: workspace.id,
      targetId: policy.id,
      details: {
        action: 'ci-identity.exchange',
        reason: decision.reason,
        identity: grant.summary,
        claims: grant.claims,
      },
    });
    throw new SealedCacheError('ERR_CI_IDENTITY_REFUSED', `${grant.summary}: ${decision.reason}`);
  }

  const expiresAt = Math.min(now.getTime(), claims.iat * 1000) + lifetimeMs(policy.tokenLifetime);
  const remainingMs = expiresAt - now.getTime();
  if (remainingMs < MIN_REMAINING_MS)
    throw new SealedCacheError(
      'ERR_CI_IDENTITY_EXPIRED',
      `the identity token was issued more than the policy's ${policy.tokenLifetime} ago`,
    );
  const { access, tier } = GRANTS[decision.outcome];
  const issued = await ctx.tokens.issue(
    {
      kind: 'ci',
      name: `${grant.label}: ${grant.summary}`.slice(0, 200),
      workspaceId: workspace.id,
      userId: null,
      access,
      expiresIn: `${Math.floor(remainingMs / 60_000)}m`,
      tier,
      scope: decision.scope ?? null,
    },
    { tokenId: null, userId: null },
    workspace.orgId,
  );
  await identity.insertGrant({
    tokenId: issued.record.id,
    workspaceId: workspace.id,
    policyId: policy.id,
    issuer: policy.issuer,
    subject: claims.sub.slice(0, 300),
    summary: grant.summary,
    claims: grant.claims,
    createdAt: now.toISOString(),
  });
  await ctx.audit.record({
    action: 'ci-identity.exchanged',
    actor: { tokenId: issued.record.id, userId: null },
    orgId: workspace.orgId,
    workspaceId: workspace.id,
    targetId: issued.record.id,
    details: {
      policy: policy.name,
      rule: decision.reason,
      outcome: decision.outcome,
      scope: decision.scope ?? null,
      claims: grant.claims,
    },
  });
  return {
    issued,
    outcome: decision.outcome,
    label: grant.label,
    summary: grant.summary,
    claims: grant.claims,
    reason: decision.reason,
  };
}
