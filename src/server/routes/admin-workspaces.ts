import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { SealedCacheError } from '../../errors';
import { AccessLevel, WORKSPACE_ID_PATTERN } from '../../protocol';
import { type AdminCaller, requireOrgAdmin } from '../auth/admin-caller';
import { adminCallerFrom } from '../auth/route-auth';
import { newWorkspaceId } from '../ids';
import type { Workspace } from '../metadata/records';
import type { ServerContext } from '../server-context';
import { DEFAULT_ISOLATED_RETENTION, TierPolicyPatch, tierPolicyChange } from '../tiers/tier-policy';
import { tierStoreFor } from '../tiers/tier-store';
import { DEFAULT_WRITE_TIER, WriteTierSchema } from '../tiers/write-tier';
import { IdOrName, Name, parseInput } from './admin-input';
import { requireOrganisation, requireWorkspace } from './admin-lookups';
import { presentWorkspace } from './admin-presenters';

const MemberDefaultAccess = z.enum(['read', 'read-write']);
const CreateWorkspaceBody = z.strictObject({
  org: IdOrName,
  name: Name,
  anonymousAccess: AccessLevel.default('none'),
  memberDefaultAccess: MemberDefaultAccess.default('read'),
  personalTokenTier: WriteTierSchema.default(DEFAULT_WRITE_TIER),
});
const UpdateWorkspaceBody = z.strictObject({ anonymousAccess: AccessLevel.optional(), memberDefaultAccess: MemberDefaultAccess.optional(), ...TierPolicyPatch.shape });
const WorkspaceParams = z.object({ id: z.string().regex(WORKSPACE_ID_PATTERN, 'a workspace id (ws_ + 20 letters or digits)') });
const ListQuery = z.object({ org: IdOrName.optional() });

async function requireOrgMember(ctx: ServerContext, caller: AdminCaller, orgId: string): Promise<void> {
  if (caller.serverAdmin) return;
  if (caller.user !== undefined && (await ctx.store.findMembership(orgId, caller.user.id)) !== undefined) return;
  throw new SealedCacheError('ERR_AUTH_FORBIDDEN', `only members of organisation ${orgId} may read its workspaces`);
}

async function listVisibleWorkspaces(ctx: ServerContext, caller: AdminCaller, orgIdOrName: string | undefined): Promise<Workspace[]> {
  if (orgIdOrName !== undefined) {
    const org = await requireOrganisation(ctx.store, orgIdOrName);
    await requireOrgMember(ctx, caller, org.id);
    return ctx.store.listWorkspaces(org.id);
  }
  const all = await ctx.store.listWorkspaces();
  if (caller.serverAdmin) return all;
  const memberOf = new Set((caller.user ? await ctx.store.listUserMemberships(caller.user.id) : []).map((m) => m.orgId));
  return all.filter((ws) => memberOf.has(ws.orgId));
}

export async function adminWorkspaceRoutes(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  app.post('/workspaces', { config: { auth: 'admin' } }, async (request, reply) => {
    const caller = adminCallerFrom(request);
    const body = parseInput(CreateWorkspaceBody, request.body, 'workspace');
    const org = await requireOrganisation(ctx.store, body.org);
    await requireOrgAdmin(ctx.store, caller, org.id, 'create workspaces');
    const workspace: Workspace = {
      id: newWorkspaceId(),
      orgId: org.id,
      name: body.name,
      anonymousAccess: body.anonymousAccess,
      memberDefaultAccess: body.memberDefaultAccess,
      personalTokenTier: body.personalTokenTier,
      isolatedRetention: DEFAULT_ISOLATED_RETENTION,
      createdAt: ctx.clock().toISOString(),
    };
    if ((await ctx.store.insertWorkspace(workspace)) === 'exists') {
      throw new SealedCacheError('ERR_WORKSPACE_EXISTS', `organisation ${org.name} already has a workspace named "${body.name}"`);
    }
    await ctx.audit.record({
      action: 'workspace.created',
      actor: { tokenId: caller.token.id, userId: caller.user?.id ?? null },
      orgId: org.id,
      workspaceId: workspace.id,
      targetId: workspace.id,
      details: { anonymousAccess: workspace.anonymousAccess, memberDefaultAccess: workspace.memberDefaultAccess, personalTokenTier: workspace.personalTokenTier },
    });
    return reply.code(201).send(presentWorkspace(workspace));
  });

  app.get('/workspaces', { config: { auth: 'admin' } }, async (request) => {
    const query = parseInput(ListQuery, request.query, 'query');
    return (await listVisibleWorkspaces(ctx, adminCallerFrom(request), query.org)).map(presentWorkspace);
  });

  app.get('/workspaces/:id', { config: { auth: 'admin' } }, async (request) => {
    const workspace = await requireWorkspace(ctx.store, parseInput(WorkspaceParams, request.params, 'path').id);
    await requireOrgMember(ctx, adminCallerFrom(request), workspace.orgId);
    return presentWorkspace(workspace);
  });

  app.patch('/workspaces/:id', { config: { auth: 'admin' } }, async (request) => {
    const caller = adminCallerFrom(request);
    const workspace = await requireWorkspace(ctx.store, parseInput(WorkspaceParams, request.params, 'path').id);
    const patch = parseInput(UpdateWorkspaceBody, request.body, 'workspace settings');
    await requireOrgAdmin(ctx.store, caller, workspace.orgId, 'change workspace access levels');
    await ctx.store.updateWorkspaceAccess(workspace.id, patch);
    await tierStoreFor(ctx.store).updateTierPolicy(workspace.id, patch);
    const updated = await requireWorkspace(ctx.store, workspace.id);
    await ctx.audit.record({
      action: 'workspace.access-changed',
      actor: { tokenId: caller.token.id, userId: caller.user?.id ?? null },
      orgId: workspace.orgId,
      workspaceId: workspace.id,
      targetId: workspace.id,
      details: {
        before: { anonymousAccess: workspace.anonymousAccess, memberDefaultAccess: workspace.memberDefaultAccess },
        after: { anonymousAccess: updated.anonymousAccess, memberDefaultAccess: updated.memberDefaultAccess },
        ...tierPolicyChange(workspace, updated),
      },
    });
    return presentWorkspace(updated);
  });
}
