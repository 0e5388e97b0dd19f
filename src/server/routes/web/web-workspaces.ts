/** A workspace's settings for organisation admins: anonymous and member-default access, CI tokens. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { SealedCacheError } from '../../../errors';
import { AccessLevel, WORKSPACE_ID_PATTERN } from '../../../protocol';
import { pagePermit, resourceOf } from '../../auth/route-policy';
import type { Workspace } from '../../metadata/records';
import { tokenTable } from '../../web/pages/token-pages';
import { workspacePage, type WorkspaceMemberRow } from '../../web/pages/workspace-page';
import { changeMember } from '../../services/member-access';
import { formField, requireViewer } from '../../web/web-guards';
import { noticeFromQuery, withDone } from '../../web/web-notices';
import { parseInput } from '../../input/request-input';
import { requireOrganisation, requireUser } from '../../services/lookups';
import type { WebRouteDeps } from './web-routes';
import { requireFreshForm, sendCreated, tokenRows } from './web-tokens';

const AccessForm = z.object({ anonymousAccess: AccessLevel, memberDefaultAccess: z.enum(['read', 'read-write']) });
const CiTokenForm = z.object({ name: z.string().trim().min(1).max(100), access: z.enum(['read', 'read-write']) });
const Params = z.object({ id: z.string().regex(WORKSPACE_ID_PATTERN, 'a workspace id') });
const MemberParams = Params.extend({ user: z.string().regex(/^usr_[A-Za-z0-9]+$/, 'a user id') });
const MemberAccess = z.union([AccessLevel, z.literal('default')]);

export async function webWorkspaceRoutes(app: FastifyInstance, deps: WebRouteDeps): Promise<void> {
  const { ctx, web } = deps;
  const workspaceOf = (request: FastifyRequest): Workspace => resourceOf(request, 'workspace').workspace;
  const requireWorkspaceOfToken = async (id: string | null): Promise<Workspace> => {
    const ws = id === null ? undefined : await ctx.store.findWorkspace(id);
    if (ws === undefined) throw new SealedCacheError('ERR_WORKSPACE_NOT_FOUND', 'no such workspace');
    return ws;
  };
  const pageUrl = (ws: Workspace) => `/ui/workspaces/${ws.id}`;

  app.get('/ui/workspaces/:id', pagePermit('workspace.change', 'workspace-param'), async (request, reply) => {
    const viewer = requireViewer(request);
    const ws = workspaceOf(request);
    const org = await requireOrganisation(ctx.store, ws.orgId);
    const nonce = web.formOnce.issue();
    const ci = (await ctx.store.listTokens({ workspaceId: ws.id })).filter((t) => t.kind === 'ci');
    const table = tokenTable(await tokenRows(deps, ci), {
      viewer,
      nonce,
      back: pageUrl(ws),
      caption: 'CI access tokens of this workspace',
      now: ctx.clock(),
    });
    const users = new Map((await ctx.store.listUsers()).map((u) => [u.id, u]));
    const overrides = (await ctx.store.listWorkspaceOverrides(org.id)).filter((o) => o.workspaceId === ws.id);
    const members: WorkspaceMemberRow[] = (await ctx.store.listMemberships(org.id)).map((m) => ({
      userId: m.userId,
      name: users.get(m.userId)?.name ?? m.userId,
      bot: users.get(m.userId)?.bot ?? false,
      role: m.role,
      override: overrides.find((o) => o.userId === m.userId)?.access,
    }));
    return reply
      .type('text/html; charset=utf-8')
      .send(workspacePage(viewer, org, ws, table, nonce, noticeFromQuery(request.query), members));
  });

  app.post('/ui/workspaces/:id/access', pagePermit('workspace.change', 'workspace-param'), async (request, reply) => {
    const viewer = requireViewer(request);
    const ws = workspaceOf(request);
    const form = parseInput(AccessForm, request.body, 'access levels');
    await ctx.store.updateWorkspaceAccess(ws.id, form);
    await ctx.audit.record({
      action: 'workspace.access-changed',
      actor: { tokenId: null, userId: viewer.user.id },
      orgId: ws.orgId,
      workspaceId: ws.id,
      targetId: ws.id,
      details: {
        before: { anonymousAccess: ws.anonymousAccess, memberDefaultAccess: ws.memberDefaultAccess },
        after: form,
        via: 'web',
      },
    });
    return reply.redirect(withDone(pageUrl(ws), 'access-saved'), 303);
  });

  app.post(
    '/ui/workspaces/:id/members/:user/access',
    pagePermit('member.change', 'workspace-param'),
    async (request, reply) => {
      const viewer = requireViewer(request);
      const params = parseInput(MemberParams, request.params, 'path');
      const ws = workspaceOf(request);
      const access = parseInput(MemberAccess, formField(request, 'access'), 'access');
      const org = await requireOrganisation(ctx.store, ws.orgId);
      const user = await requireUser(ctx.store, params.user);
      await changeMember(
        ctx,
        org,
        user,
        { workspace: ws.id, access },
        { tokenId: null, userId: viewer.user.id },
        'web',
      );
      return reply.redirect(withDone(pageUrl(ws), 'member-access-saved'), 303);
    },
  );

  app.post('/ui/workspaces/:id/ci-tokens', pagePermit('token.create', 'web-ci-token'), async (request, reply) => {
    const viewer = requireViewer(request);
    const { spec } = resourceOf(request, 'new-token');
    const ws = await requireWorkspaceOfToken(spec.workspaceId);
    const form = parseInput(
      CiTokenForm,
      { name: formField(request, 'name'), access: formField(request, 'access') },
      'CI token',
    );
    await requireFreshForm(deps, viewer, request);
    const issued = await ctx.tokens.issue(
      {
        kind: 'ci',
        name: form.name,
        workspaceId: ws.id,
        userId: null,
        access: form.access,
        expiresIn: 'never',
        tier: spec.tier ?? 'isolated',
      },
      { tokenId: null, userId: viewer.user.id },
      ws.orgId,
    );
    return sendCreated(reply, request, viewer, issued, ws, false, pageUrl(ws));
  });
}
