import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { SealedCacheError } from '../../../errors';
import { AccessLevel } from '../../../protocol';
import { auditActorOf } from '../../auth/actors';
import { authorizedOf, permit, resourceOf } from '../../auth/route-policy';
import { newWorkspaceId } from '../../ids';
import type { Workspace } from '../../metadata/records';
import type { ServerContext } from '../../server-context';
import { DEFAULT_ISOLATED_RETENTION, TierPolicyPatch, tierPolicyChange } from '../../tiers/tier-policy';
import { DEFAULT_WRITE_TIER, WriteTierSchema } from '../../tiers/write-tier';
import { IdOrName, Name, parseInput } from '../../input/request-input';
import { requireOrganisation, requireWorkspace } from '../../services/lookups';
import { presentWorkspace } from '../support/presenters';

const MemberDefaultAccess = z.enum(['read', 'read-write']);
const CreateWorkspaceBody = z.strictObject({
  org: IdOrName,
  name: Name,
  anonymousAccess: AccessLevel.default('none'),
  memberDefaultAccess: MemberDefaultAccess.default('read'),
  personalTokenTier: WriteTierSchema.default(DEFAULT_WRITE_TIER),
});
const UpdateWorkspaceBody = z.strictObject({
  anonymousAccess: AccessLevel.optional(),
  memberDefaultAccess: MemberDefaultAccess.optional(),
  ...TierPolicyPatch.shape,
  /** Whether the workspace takes run reports (the Runs page); off: reports are answered and dropped. */
  runReports: z.boolean().optional(),
});
const ListQuery = z.object({ org: IdOrName.optional() });

export async function adminWorkspaceRoutes(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  app.post('/workspaces', permit('workspace.create', 'org-body'), async (request, reply) => {
    const { org } = resourceOf(request, 'org');
    const body = parseInput(CreateWorkspaceBody, request.body, 'workspace');
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
      throw new SealedCacheError(
        'ERR_WORKSPACE_EXISTS',
        `organisation ${org.name} already has a workspace named "${body.name}"`,
      );
    }
    await ctx.audit.record({
      action: 'workspace.created',
      actor: auditActorOf(authorizedOf(request).actor),
      orgId: org.id,
      workspaceId: workspace.id,
      targetId: workspace.id,
      details: {
        anonymousAccess: workspace.anonymousAccess,
        memberDefaultAccess: workspace.memberDefaultAccess,
        personalTokenTier: workspace.personalTokenTier,
      },
    });
    return reply.code(201).send(presentWorkspace(workspace, org.name));
  });

  /** Every workspace the caller may read; with `org`, that organisation's (members only). */
  app.get('/workspaces', permit('workspace.list'), async (request) => {
    const { may } = authorizedOf(request);
    const query = parseInput(ListQuery, request.query, 'query');
    const org = query.org === undefined ? undefined : await requireOrganisation(ctx.store, query.org);
    if (org !== undefined && !(await may('workspace.read', { kind: 'org', org })))
      throw new SealedCacheError(
        'ERR_AUTH_FORBIDDEN',
        `only members of organisation ${org.id} may read its workspaces`,
      );
    const orgId = org?.id;
    const visible: Workspace[] = [];
    for (const workspace of await ctx.store.listWorkspaces(orgId))
      if (await may('workspace.read', { kind: 'workspace', workspace })) visible.push(workspace);
    const orgNames = new Map((await ctx.store.listOrganisations()).map((o) => [o.id, o.name]));
    return visible.map((ws) => presentWorkspace(ws, orgNames.get(ws.orgId) ?? ws.orgId));
  });

  app.get('/workspaces/:id', permit('workspace.read', 'workspace-param'), async (request) => {
    const { workspace } = resourceOf(request, 'workspace');
    return presentWorkspace(workspace, (await requireOrganisation(ctx.store, workspace.orgId)).name);
  });

  app.patch('/workspaces/:id', permit('workspace.change', 'workspace-param'), async (request) => {
    const { workspace } = resourceOf(request, 'workspace');
    const patch = parseInput(UpdateWorkspaceBody, request.body, 'workspace settings');
    await ctx.store.updateWorkspaceAccess(workspace.id, patch);
    await ctx.store.tiers.updateTierPolicy(workspace.id, patch);
    const reportsBefore = await ctx.store.runs.reportsEnabled(workspace.id);
    if (patch.runReports !== undefined) await ctx.store.runs.setReportsEnabled(workspace.id, patch.runReports);
    const updated = await requireWorkspace(ctx.store, workspace.id);
    await ctx.audit.record({
      action: 'workspace.access-changed',
      actor: auditActorOf(authorizedOf(request).actor),
      orgId: workspace.orgId,
      workspaceId: workspace.id,
      targetId: workspace.id,
      details: {
        before: { anonymousAccess: workspace.anonymousAccess, memberDefaultAccess: workspace.memberDefaultAccess },
        after: { anonymousAccess: updated.anonymousAccess, memberDefaultAccess: updated.memberDefaultAccess },
        ...tierPolicyChange(workspace, updated),
        ...(patch.runReports === undefined || patch.runReports === reportsBefore
          ? {}
          : { runReports: { before: reportsBefore, after: patch.runReports } }),
      },
    });
    return presentWorkspace(updated, (await requireOrganisation(ctx.store, updated.orgId)).name);
  });
}
