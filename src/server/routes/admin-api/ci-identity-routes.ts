/**
 * CI identity: `POST /ci-identity/exchange` (the job's identity token is the credential, so the route reads
 * no other) and the trust policies of a workspace, which its organisation's admins manage.
 */
import type { FastifyInstance } from 'fastify';
import { auditActorOf } from '../../auth/actors';
import { authorizedOf, openPermit, permit, resourceOf } from '../../auth/route-policy';
import { exchangeCiToken, ExchangeBody } from '../../ci-identity/ci-exchange';
import { issuerControl } from '../../ci-identity/issuer-allowlist';
import { httpJwksFetcher, JwksCache } from '../../ci-identity/jwks-cache';
import { addTrustPolicy, removeTrustPolicy } from '../../ci-identity/policy-admin';
import type { TrustPolicy } from '../../ci-identity/trust-policy';
import type { ServerContext } from '../../server-context';
import { describeNamespace } from '../../tiers/write-tier';
import { requireWorkspace } from '../../services/lookups';
import { presentIssuedToken } from '../support/presenters';
import { parseInput } from '../../input/request-input';

export function presentTrustPolicy(policy: TrustPolicy): Record<string, unknown> {
  return {
    id: policy.id,
    workspaceId: policy.workspaceId,
    name: policy.name,
    provider: policy.provider,
    issuer: policy.issuer,
    audience: policy.audience,
    jwksUrl: policy.jwksUrl,
    inlineKeys: policy.jwks === null ? 0 : policy.jwks.keys.length,
    rules: policy.rules,
    tokenLifetime: policy.tokenLifetime,
    createdAt: policy.createdAt,
  };
}

export async function ciIdentityRoutes(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  const issuers = issuerControl(ctx.config);
  const keySource = { issuers, jwks: new JwksCache(httpJwksFetcher(issuers.allowsFetch), ctx.clock) };
  const identity = () => ctx.store.ciIdentity;

  app.post('/ci-identity/exchange', openPermit('ci-identity.exchange'), async (request, reply) => {
    const body = parseInput(ExchangeBody, request.body, 'exchange request');
    const workspace = await requireWorkspace(ctx.store, body.workspaceId);
    const result = await exchangeCiToken(ctx, keySource, workspace, body.token);
    const { record, secret } = result.issued;
    return reply.code(201).send({
      ...presentIssuedToken(record, secret),
      namespace:
        record.access === 'read' ? null : describeNamespace(record.scope === null ? 'shared' : `s:${record.scope}`),
      identity: {
        provider: result.label,
        summary: result.summary,
        outcome: result.outcome,
        reason: result.reason,
        claims: result.claims,
      },
    });
  });

  app.get('/workspaces/:id/trust-policies', permit('trust-policy.manage', 'workspace-param'), async (request) => {
    const { workspace } = resourceOf(request, 'workspace');
    return (await identity().listPolicies(workspace.id)).map(presentTrustPolicy);
  });

  app.post(
    '/workspaces/:id/trust-policies',
    permit('trust-policy.manage', 'workspace-param'),
    async (request, reply) => {
      const { workspace } = resourceOf(request, 'workspace');
      const actor = auditActorOf(authorizedOf(request).actor);
      const policy = await addTrustPolicy(ctx, issuers, workspace, request.body, actor);
      return reply.code(201).send(presentTrustPolicy(policy));
    },
  );

  app.delete(
    '/workspaces/:id/trust-policies/:policy',
    permit('trust-policy.manage', 'workspace-param'),
    async (request) => {
      const { workspace } = resourceOf(request, 'workspace');
      const actor = auditActorOf(authorizedOf(request).actor);
      const policy = await removeTrustPolicy(ctx, workspace, (request.params as { policy?: string }).policy, actor);
      return { deleted: policy.id };
    },
  );
}
