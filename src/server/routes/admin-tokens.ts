import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { SealedCacheError } from '../../errors';
import { TokenKind } from '../../protocol';
import { type AdminCaller, type CallerIdentity, isOrgAdmin, requireServerAdmin } from '../auth/admin-caller';
import { adminCallerFrom } from '../auth/route-auth';
import type { TokenRecord } from '../metadata/records';
import type { ServerContext } from '../server-context';
import { type TokenSpec, PERSONAL_TOKEN_DEFAULT_EXPIRY } from '../services/token-service';
import { IdOrName, parseInput } from './admin-input';
import { requireToken, requireUser, requireWorkspace } from './admin-lookups';
import { presentIssuedToken, presentToken } from './admin-presenters';
import { requireTierGrant } from '../tiers/token-tier-rules';
import { DEFAULT_WRITE_TIER, WriteTierSchema } from '../tiers/write-tier';

const TokenAccess = z.enum(['read', 'read-write']);
const ExpiresIn = z.string().regex(/^(never|[1-9]\d{0,5}[mhdwy])$/, 'like 30m, 2h, 30d, 4w, 1y or never');
const CreateTokenBody = z.strictObject({
  kind: TokenKind,
  workspaceId: z.string().optional(),
  user: IdOrName.optional(),
  access: TokenAccess.optional(),
  name: z.string().trim().min(1).max(100).optional(),
  expiresIn: ExpiresIn.optional(),
  tier: WriteTierSchema.optional(),
});
type CreateTokenBody = z.infer<typeof CreateTokenBody>;
const TokenParams = z.object({ id: z.string().regex(/^tok_[A-Za-z0-9]{16}$/, 'a token id (tok_...)') });
const ChangeTokenBody = z.strictObject({ access: TokenAccess });
const ListQuery = z.object({ workspace: z.string().optional(), user: IdOrName.optional() });

/** The organisation a token is governed by: its workspace's, if it is bound to one. */
export async function orgIdOfToken(ctx: ServerContext, token: Pick<TokenRecord, 'workspaceId'>): Promise<string | null> {
  if (token.workspaceId === null) return null;
  return (await ctx.store.findWorkspace(token.workspaceId))?.orgId ?? null;
}

/** Server admins manage every token; users their own personal tokens; org admins their org's workspace tokens and its bots' tokens. */
export async function canManageToken(ctx: ServerContext, caller: CallerIdentity, token: Pick<TokenRecord, 'kind' | 'userId' | 'workspaceId'>): Promise<boolean> {
  if (caller.serverAdmin) return true;
  if (token.kind === 'admin') return false;
  if (token.kind === 'personal' && token.userId !== null && token.userId === caller.user?.id) return true;
  const orgId = await orgIdOfToken(ctx, token);
  if (orgId !== null && (await isOrgAdmin(ctx.store, caller, orgId))) return true;
  if (token.kind === 'personal' && token.userId !== null && caller.user !== undefined) {
    const owner = await ctx.store.findUser(token.userId);
    if (owner?.bot) {
      for (const m of await ctx.store.listUserMemberships(owner.id)) if (await isOrgAdmin(ctx.store, caller, m.orgId)) return true;
    }
  }
  return false;
}

async function specFrom(ctx: ServerContext, caller: AdminCaller, body: CreateTokenBody): Promise<TokenSpec> {
  const name = body.name ?? null;
  switch (body.kind) {
    case 'ci': {
      if (body.workspaceId === undefined) throw new SealedCacheError('ERR_INPUT_INVALID', 'a CI token needs a workspace (--workspace)');
      if (body.user !== undefined) throw new SealedCacheError('ERR_INPUT_INVALID', 'a CI token belongs to a workspace, not to a user');
      const ws = await requireWorkspace(ctx.store, body.workspaceId);
      return { kind: 'ci', name, workspaceId: ws.id, userId: null, access: body.access ?? 'read', expiresIn: body.expiresIn ?? 'never', tier: body.tier ?? DEFAULT_WRITE_TIER };
    }
    case 'personal': {
      const user = body.user !== undefined ? await requireUser(ctx.store, body.user) : caller.user;
      if (user === undefined) throw new SealedCacheError('ERR_INPUT_INVALID', 'a personal token needs a user (--user)');
      const ws = body.workspaceId === undefined ? undefined : await requireWorkspace(ctx.store, body.workspaceId);
      await requireTierGrant(ctx.store, caller, body.tier, ws);
      return { kind: 'personal', name, workspaceId: ws?.id ?? null, userId: user.id, access: body.access ?? 'read-write', expiresIn: body.expiresIn ?? PERSONAL_TOKEN_DEFAULT_EXPIRY, tier: body.tier ?? null };
    }
    case 'admin': {
      requireServerAdmin(caller, 'create admin tokens');
      if (body.workspaceId !== undefined || body.access !== undefined || body.tier !== undefined) throw new SealedCacheError('ERR_INPUT_INVALID', 'an admin token has no workspace, access level or tier');
      const user = body.user !== undefined ? await requireUser(ctx.store, body.user) : caller.user;
      return { kind: 'admin', name, workspaceId: null, userId: user?.id ?? null, access: null, expiresIn: body.expiresIn ?? 'never' };
    }
  }
}

export async function adminTokenRoutes(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  const loadManageable = async (request: Parameters<typeof adminCallerFrom>[0]) => {
    const caller = adminCallerFrom(request);
    const token = await requireToken(ctx.store, parseInput(TokenParams, request.params, 'path').id);
    if (!(await canManageToken(ctx, caller, token))) throw new SealedCacheError('ERR_AUTH_FORBIDDEN', `you may not manage token ${token.id}`);
    return { caller, token, actor: { tokenId: caller.token.id, userId: caller.user?.id ?? null } };
  };

  app.post('/tokens', { config: { auth: 'admin' } }, async (request, reply) => {
    const caller = adminCallerFrom(request);
    const spec = await specFrom(ctx, caller, parseInput(CreateTokenBody, request.body, 'token'));
    if (!(await canManageToken(ctx, caller, spec))) throw new SealedCacheError('ERR_AUTH_FORBIDDEN', `you may not create this ${spec.kind} token`);
    const issued = await ctx.tokens.issue(spec, { tokenId: caller.token.id, userId: caller.user?.id ?? null }, await orgIdOfToken(ctx, spec));
    return reply.code(201).send(presentIssuedToken(issued.record, issued.secret));
  });

  app.get('/tokens', { config: { auth: 'admin' } }, async (request) => {
    const caller = adminCallerFrom(request);
    const query = parseInput(ListQuery, request.query, 'query');
    const user = query.user === undefined ? undefined : await requireUser(ctx.store, query.user);
    const filter = { workspaceId: query.workspace, userId: user?.id ?? (caller.serverAdmin || query.workspace !== undefined ? undefined : caller.user?.id) };
    if (!caller.serverAdmin && filter.workspaceId === undefined && filter.userId === undefined) return [];
    const tokens = await ctx.store.listTokens(filter);
    const visible: TokenRecord[] = [];
    for (const token of tokens) if (await canManageToken(ctx, caller, token)) visible.push(token);
    return visible.map(presentToken);
  });

  app.get('/tokens/:id', { config: { auth: 'admin' } }, async (request) => presentToken((await loadManageable(request)).token));

  app.post('/tokens/:id/rotate', { config: { auth: 'admin' } }, async (request) => {
    const { token, actor } = await loadManageable(request);
    const issued = await ctx.tokens.rotate(token, actor, await orgIdOfToken(ctx, token));
    return presentIssuedToken(issued.record, issued.secret);
  });

  app.patch('/tokens/:id', { config: { auth: 'admin' } }, async (request) => {
    const { token, actor } = await loadManageable(request);
    const body = parseInput(ChangeTokenBody, request.body, 'token change');
    return presentToken(await ctx.tokens.changeAccess(token, body.access, actor, await orgIdOfToken(ctx, token)));
  });

  app.post('/tokens/:id/revoke', { config: { auth: 'admin' } }, async (request) => {
    const { token, actor } = await loadManageable(request);
    return presentToken(await ctx.tokens.revoke(token, actor, await orgIdOfToken(ctx, token)));
  });
}
