/**
 * Adding and removing a workspace's trust policies: one place for the admin API and the workspace page, so
 * both check a policy with the same schema and rules (issuer allow-list included) and audit it the same way.
 * The caller has already been authorized for `trust-policy.manage` on the workspace.
 */
import { SealedCacheError } from '../../errors';
import { IdOrName, parseInput } from '../input/request-input';
import { randomBase62 } from '../ids';
import type { Workspace } from '../metadata/records';
import type { ServerContext } from '../server-context';
import type { AuditActor } from '../services/audit-log';
import type { IssuerControl } from './issuer-allowlist';
import { checkNewPolicy, NewTrustPolicyBody, type TrustPolicy } from './trust-policy';

type PolicyContext = Pick<ServerContext, 'store' | 'audit' | 'clock'>;

/** Validates `body` as the API's POST body, stores the policy and records `trust-policy.created`. */
export async function addTrustPolicy(
  ctx: PolicyContext,
  issuers: IssuerControl,
  workspace: Workspace,
  body: unknown,
  actor: AuditActor,
  via?: 'web',
): Promise<TrustPolicy> {
  const checked = checkNewPolicy(parseInput(NewTrustPolicyBody, body, 'trust policy'), issuers);
  const policy: TrustPolicy = {
    ...checked,
    id: `tp_${randomBase62(16)}`,
    workspaceId: workspace.id,
    createdAt: ctx.clock().toISOString(),
  };
  if ((await ctx.store.ciIdentity.insertPolicy(policy, actor)) === 'exists')
    throw new SealedCacheError(
      'ERR_INPUT_INVALID',
      `workspace ${workspace.name} already has a trust policy named ${policy.name}`,
    );
  await ctx.audit.record({
    action: 'trust-policy.created',
    actor,
    orgId: workspace.orgId,
    workspaceId: workspace.id,
    targetId: policy.id,
    details: {
      name: policy.name,
      provider: policy.provider,
      issuer: policy.issuer,
      audience: policy.audience,
      rules: policy.rules,
      ...(via === undefined ? {} : { via }),
    },
  });
  return policy;
}

/** Removes the workspace's policy named (or with the id) `idOrName` and records `trust-policy.deleted`. */
export async function removeTrustPolicy(
  ctx: PolicyContext,
  workspace: Workspace,
  idOrName: unknown,
  actor: AuditActor,
  via?: 'web',
): Promise<TrustPolicy> {
  const name = parseInput(IdOrName, idOrName, 'trust policy');
  const policy = await ctx.store.ciIdentity.findPolicy(workspace.id, name);
  if (policy === undefined)
    throw new SealedCacheError(
      'ERR_TRUST_POLICY_NOT_FOUND',
      `workspace ${workspace.name} has no trust policy "${name}"`,
    );
  await ctx.store.ciIdentity.deletePolicy(policy.id);
  await ctx.audit.record({
    action: 'trust-policy.deleted',
    actor,
    orgId: workspace.orgId,
    workspaceId: workspace.id,
    targetId: policy.id,
    details: { name: policy.name, ...(via === undefined ? {} : { via }) },
  });
  return policy;
}
