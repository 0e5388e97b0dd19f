import type { FastifyInstance, FastifyRequest } from 'fastify';
import { SealedCacheError } from '../../../errors';
import type { AccessResponse } from '../../../protocol';
import { workspaceAccessOf } from '../../auth/route-auth';
import { permit } from '../../auth/route-policy';
import type { ServerContext } from '../../server-context';
import { describeNamespace, placementOf } from '../../tiers/write-tier';

function tierOf(...args: Parameters<typeof placementOf>): Pick<AccessResponse, 'tier' | 'namespace'> {
  const placement = placementOf(...args);
  return {
    tier: placement.tier,
    namespace: placement.writeNamespace === null ? null : describeNamespace(placement.writeNamespace),
  };
}

function describeAccess(ctx: ServerContext, request: FastifyRequest): AccessResponse {
  const { principal, workspace, organisation, access } = workspaceAccessOf(request);
  // A caller who may not read learns no names: refused with the cache route's own code (anonymous `none`, non-members).
  if (!access.read)
    throw new SealedCacheError(
      access.denyCode ?? 'ERR_AUTH_READ_DENIED',
      access.denyReason ?? 'this credential may not read this workspace',
    );
  const token = principal.kind === 'token' ? principal.token : undefined;
  const user = principal.kind === 'token' ? principal.user : undefined;
  return {
    server: { version: ctx.version },
    workspace: {
      id: workspace.id,
      name: workspace.name,
      organisation: { id: organisation.id, name: organisation.name },
    },
    principal: {
      kind: token?.kind ?? 'anonymous',
      tokenId: token?.id ?? null,
      tokenName: token?.name ?? null,
      user: user ? { id: user.id, name: user.name, bot: user.bot } : null,
    },
    access: { read: access.read, write: access.write },
    expiresAt: token?.expiresAt ?? null,
    ...tierOf(principal, workspace, access),
  };
}

/** What the calling credential may do in a workspace; our client asks before it talks to the cache. */
export async function accessRoutes(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  for (const prefix of ['', '/w/:workspaceId']) {
    app.get(`${prefix}/v1/access`, permit('cache.identify', 'cache'), async (request) => describeAccess(ctx, request));
  }
}
