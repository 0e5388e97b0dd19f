/** My tokens: list, create, rotate, delete. Rotate and delete also serve admins acting on others' tokens. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { SealedCacheError } from '../../../errors';
import type { TokenRecord, Workspace } from '../../metadata/records';
import { PERSONAL_TOKEN_DEFAULT_EXPIRY, type IssuedToken } from '../../services/token-service';
import { myTokensPage, tokenCreatedPage, type TokenRow } from '../../web/pages/token-pages';
import { pagePermit, resourceOf } from '../../auth/route-policy';
import { formField, isSecureRequest, requireViewer, type WebViewer } from '../../web/web-guards';
import { noticeFromQuery, safeBack, withDone } from '../../web/web-notices';
import { effectiveTierOf } from '../../tiers/write-tier';
import { parseInput } from '../../input/request-input';
import { orgIdOfToken } from '../admin-api/admin-tokens';
import type { WebRouteDeps } from './web-routes';

const CreateForm = z.object({
  name: z.string().trim().min(1).max(100),
  workspaceId: z
    .string()
    .trim()
    .optional()
    .transform((v) => (v === '' ? undefined : v)),
  access: z.enum(['read', 'read-write']).default('read-write'),
  expiresIn: z.enum(['30d', '90d', '1y']).default(PERSONAL_TOKEN_DEFAULT_EXPIRY),
});
const AccessForm = z.object({ access: z.enum(['read', 'read-write']) });

export const serverUrlOf = (request: FastifyRequest): string =>
  `${isSecureRequest(request) ? 'https' : 'http'}://${request.headers.host ?? request.hostname}`;

/** Rows for a token table: each token with its workspace and owner name. */
export async function tokenRows(deps: WebRouteDeps, tokens: TokenRecord[]): Promise<TokenRow[]> {
  const { store } = deps.ctx;
  const workspaces = new Map<string, Workspace | undefined>();
  const names = new Map<string, string | null>();
  const rows: TokenRow[] = [];
  for (const token of tokens) {
    if (token.workspaceId !== null && !workspaces.has(token.workspaceId))
      workspaces.set(token.workspaceId, await store.findWorkspace(token.workspaceId));
    if (token.userId !== null && !names.has(token.userId))
      names.set(token.userId, (await store.findUser(token.userId))?.name ?? null);
    const workspace = token.workspaceId === null ? undefined : workspaces.get(token.workspaceId);
    rows.push({
      token,
      workspace,
      ownerName: token.userId === null ? null : (names.get(token.userId) ?? null),
      tier: effectiveTierOf(token, workspace),
    });
  }
  return rows;
}

/** Forms that answer with a secret carry a one-time nonce, so a reload neither shows nor mints it again. */
export async function requireFreshForm(deps: WebRouteDeps, viewer: WebViewer, request: FastifyRequest): Promise<void> {
  if (!(await deps.web.formOnce.consume(viewer.sessionHash, formField(request, 'once')))) {
    throw new SealedCacheError(
      'ERR_WEB_CSRF_FAILED',
      'this form was already submitted (a reload?). A token value is shown only once; nothing new was created',
    );
  }
}

export function sendCreated(
  reply: FastifyReply,
  request: FastifyRequest,
  viewer: WebViewer,
  issued: IssuedToken,
  workspace: Workspace | undefined,
  rotated: boolean,
  back: string,
): FastifyReply {
  return reply
    .header('cache-control', 'no-store')
    .type('text/html; charset=utf-8')
    .send(
      tokenCreatedPage(viewer, {
        record: issued.record,
        secret: issued.secret,
        serverUrl: serverUrlOf(request),
        workspace,
        tier: effectiveTierOf(issued.record, workspace),
        rotated,
        back,
      }),
    );
}

export async function webTokenRoutes(app: FastifyInstance, deps: WebRouteDeps): Promise<void> {
  const { ctx, web } = deps;
  const actorOf = (viewer: WebViewer) => ({ tokenId: null, userId: viewer.user.id });

  app.get('/ui/tokens', pagePermit('session.self'), async (request, reply) => {
    const viewer = requireViewer(request);
    const tokens = (await ctx.store.listTokens({ userId: viewer.user.id })).filter((t) => t.kind === 'personal');
    const workspaces: { workspace: Workspace; orgName: string }[] = [];
    for (const m of await ctx.store.listUserMemberships(viewer.user.id)) {
      const org = await ctx.store.findOrganisation(m.orgId);
      for (const workspace of await ctx.store.listWorkspaces(m.orgId))
        workspaces.push({ workspace, orgName: org?.name ?? m.orgId });
    }
    const page = myTokensPage(
      viewer,
      await tokenRows(deps, tokens),
      workspaces,
      web.formOnce.issue(),
      ctx.clock(),
      noticeFromQuery(request.query),
    );
    return reply.type('text/html; charset=utf-8').send(page);
  });

  app.post('/ui/tokens', pagePermit('token.create', 'web-own-token'), async (request, reply) => {
    const viewer = requireViewer(request);
    const form = parseInput(CreateForm, request.body, 'token');
    await requireFreshForm(deps, viewer, request);
    const { spec: authorized } = resourceOf(request, 'new-token');
    const workspace =
      authorized.workspaceId === null ? undefined : await ctx.store.findWorkspace(authorized.workspaceId);
    const spec = {
      kind: 'personal' as const,
      name: form.name,
      workspaceId: authorized.workspaceId,
      userId: viewer.user.id,
      access: form.access,
      expiresIn: form.expiresIn,
      tier: authorized.tier,
      ssoIdentity: await web.sso.identityOfSession(viewer.sessionHash, viewer.user.id),
    };
    const issued = await ctx.tokens.issue(spec, actorOf(viewer), workspace?.orgId ?? null);
    return sendCreated(reply, request, viewer, issued, workspace, false, '/ui/tokens');
  });

  app.post('/ui/tokens/:id/rotate', pagePermit('token.manage', 'token-param'), async (request, reply) => {
    const viewer = requireViewer(request);
    const { token } = resourceOf(request, 'token');
    await requireFreshForm(deps, viewer, request);
    const issued = await ctx.tokens.rotate(token, actorOf(viewer), await orgIdOfToken(ctx, token));
    const workspace = token.workspaceId === null ? undefined : await ctx.store.findWorkspace(token.workspaceId);
    return sendCreated(
      reply,
      request,
      viewer,
      issued,
      workspace,
      true,
      safeBack(formField(request, 'back'), '/ui/tokens'),
    );
  });

  app.post('/ui/tokens/:id/access', pagePermit('token.manage', 'token-param'), async (request, reply) => {
    const viewer = requireViewer(request);
    const { token } = resourceOf(request, 'token');
    const form = parseInput(AccessForm, { access: formField(request, 'access') }, 'token access');
    await ctx.tokens.changeAccess(token, form.access, actorOf(viewer), await orgIdOfToken(ctx, token));
    return reply.redirect(withDone(safeBack(formField(request, 'back'), '/ui/tokens'), 'token-access-changed'), 303);
  });

  app.post('/ui/tokens/:id/revoke', pagePermit('token.manage', 'token-param'), async (request, reply) => {
    const viewer = requireViewer(request);
    const { token } = resourceOf(request, 'token');
    await ctx.tokens.revoke(token, actorOf(viewer), await orgIdOfToken(ctx, token));
    return reply.redirect(withDone(safeBack(formField(request, 'back'), '/ui/tokens'), 'revoked'), 303);
  });
}
