/** A workspace's settings for organisation admins: anonymous and member-default access, CI tokens. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AccessLevel, WORKSPACE_ID_PATTERN } from '../../protocol';
import { requireOrgAdmin } from '../auth/admin-caller';
import type { Workspace } from '../metadata/records';
import { tokenTable } from '../web/pages/token-pages';
import { workspacePage } from '../web/pages/workspace-page';
import { formField, requirePostFromSession, requireViewer, type WebViewer } from '../web/web-guards';
import { noticeFromQuery, withDone } from '../web/web-notices';
import { parseInput } from './admin-input';
import { requireOrganisation, requireWorkspace } from './admin-lookups';
import type { WebRouteDeps } from './web';
import { requireFreshForm, sendCreated, tokenRows } from './web-tokens';

const AccessForm = z.object({ anonymousAccess: AccessLevel, memberDefaultAccess: z.enum(['read', 'read-write']) });
const CiTokenForm = z.object({ name: z.string().trim().min(1).max(100), access: z.enum(['read', 'read-write']) });
const Params = z.object({ id: z.string().regex(WORKSPACE_ID_PATTERN, 'a workspace id') });

export async function webWorkspaceRoutes(app: FastifyInstance, deps: WebRouteDeps): Promise<void> {
  const { ctx, web } = deps;
  const adminWorkspace = async (request: FastifyRequest, viewer: WebViewer, action: string): Promise<Workspace> => {
    const ws = await requireWorkspace(ctx.store, parseInput(Params, request.params, 'path').id);
    await requireOrgAdmin(ctx.store, viewer, ws.orgId, action);
    return ws;
  };
  const pageUrl = (ws: Workspace) => `/ui/workspaces/${ws.id}`;

  app.get('/ui/workspaces/:id', async (request, reply) => {
    const viewer = requireViewer(request);
    const ws = await adminWorkspace(request, viewer, 'change workspace settings');
    const org = await requireOrganisation(ctx.store, ws.orgId);
    const nonce = web.formOnce.issue();
    const ci = (await ctx.store.listTokens({ workspaceId: ws.id })).filter((t) => t.kind === 'ci');
    const table = tokenTable(await tokenRows(deps, ci), { viewer, nonce, back: pageUrl(ws), caption: 'CI access tokens of this workspace', now: ctx.clock() });
    return reply.type('text/html; charset=utf-8').send(workspacePage(viewer, org, ws, table, nonce, noticeFromQuery(request.query)));
  });

  app.post('/ui/workspaces/:id/access', async (request, reply) => {
    const viewer = requirePostFromSession(request);
    const ws = await adminWorkspace(request, viewer, 'change workspace access levels');
    const form = parseInput(AccessForm, request.body, 'access levels');
    await ctx.store.updateWorkspaceAccess(ws.id, form);
    await ctx.audit.record({
      action: 'workspace.access-changed',
      actor: { tokenId: null, userId: viewer.user.id },
      orgId: ws.orgId,
      workspaceId: ws.id,
      targetId: ws.id,
      details: { before: { anonymousAccess: ws.anonymousAccess, memberDefaultAccess: ws.memberDefaultAccess }, after: form, via: 'web' },
    });
    return reply.redirect(withDone(pageUrl(ws), 'access-saved'), 303);
  });

  app.post('/ui/workspaces/:id/ci-tokens', async (request, reply) => {
    const viewer = requirePostFromSession(request);
    const ws = await adminWorkspace(request, viewer, 'create CI tokens');
    const form = parseInput(CiTokenForm, { name: formField(request, 'name'), access: formField(request, 'access') }, 'CI token');
    requireFreshForm(deps, viewer, request);
    const issued = await ctx.tokens.issue({ kind: 'ci', name: form.name, workspaceId: ws.id, userId: null, access: form.access, expiresIn: 'never' }, { tokenId: null, userId: viewer.user.id }, ws.orgId);
    return sendCreated(reply, request, viewer, issued, ws, false, pageUrl(ws));
  });
}
