import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { SealedCacheError } from '../../../errors';
import { auditActorOf, isServerAdmin, userOf } from '../../auth/actors';
import type { NewTokenSpec } from '../../auth/policy';
import { authorizedOf, permit, resourceOf } from '../../auth/route-policy';
import type { TokenRecord } from '../../metadata/records';
import type { ServerContext } from '../../server-context';
import { type TokenSpec, PERSONAL_TOKEN_DEFAULT_EXPIRY } from '../../services/token-service';
import { IdOrName, parseInput } from '../../input/request-input';
import { requireUser } from '../../services/lookups';
import { presentIssuedToken, presentToken } from '../support/presenters';
import { DEFAULT_WRITE_TIER } from '../../tiers/write-tier';
import { CreateTokenBody, TokenAccessSchema } from '../../input/token-input';

const ChangeTokenBody = z.strictObject({ access: TokenAccessSchema });
const ListQuery = z.object({ workspace: z.string().optional(), user: IdOrName.optional() });

/** The organisation a token is governed by: its workspace's, if it is bound to one. */
export async function orgIdOfToken(
  ctx: ServerContext,
  token: Pick<TokenRecord, 'workspaceId'>,
): Promise<string | null> {
  if (token.workspaceId === null) return null;
  return (await ctx.store.findWorkspace(token.workspaceId))?.orgId ?? null;
}

/** The authorized kind, owner, binding and tier, plus what the body adds (name, access, expiry). */
function specFrom(authorized: NewTokenSpec, body: CreateTokenBody): TokenSpec {
  const name = body.name ?? null;
  switch (authorized.kind) {
    case 'ci':
      if (authorized.workspaceId === null)
        throw new SealedCacheError('ERR_INPUT_INVALID', 'a CI token needs a workspace (--workspace)');
      if (body.user !== undefined)
        throw new SealedCacheError('ERR_INPUT_INVALID', 'a CI token belongs to a workspace, not to a user');
      return {
        kind: 'ci',
        name,
        workspaceId: authorized.workspaceId,
        userId: null,
        access: body.access ?? 'read',
        expiresIn: body.expiresIn ?? 'never',
        tier: body.tier ?? DEFAULT_WRITE_TIER,
      };
    case 'personal':
      if (authorized.userId === null)
        throw new SealedCacheError('ERR_INPUT_INVALID', 'a personal token needs a user (--user)');
      return {
        kind: 'personal',
        name,
        workspaceId: authorized.workspaceId,
        userId: authorized.userId,
        access: body.access ?? 'read-write',
        expiresIn: body.expiresIn ?? PERSONAL_TOKEN_DEFAULT_EXPIRY,
        tier: body.tier ?? null,
      };
    case 'admin':
      if (body.workspaceId !== undefined || body.access !== undefined || body.tier !== undefined)
        throw new SealedCacheError('ERR_INPUT_INVALID', 'an admin token has no workspace, access level or tier');
      return {
        kind: 'admin',
        name,
        workspaceId: null,
        userId: authorized.userId,
        access: null,
        expiresIn: body.expiresIn ?? 'never',
      };
  }
}

export async function adminTokenRoutes(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  const workspaceOf = async (token: TokenRecord) =>
    token.workspaceId === null ? undefined : await ctx.store.findWorkspace(token.workspaceId);
  const managed = (request: Parameters<typeof authorizedOf>[0]) => ({
    token: resourceOf(request, 'token').token,
    actor: auditActorOf(authorizedOf(request).actor),
  });

  app.post('/tokens', permit('token.create', 'token-body'), async (request, reply) => {
    const { spec: authorized } = resourceOf(request, 'new-token');
    const spec = specFrom(authorized, parseInput(CreateTokenBody, request.body, 'token'));
    const issued = await ctx.tokens.issue(
      spec,
      auditActorOf(authorizedOf(request).actor),
      await orgIdOfToken(ctx, spec),
    );
    return reply.code(201).send(presentIssuedToken(issued.record, issued.secret, await workspaceOf(issued.record)));
  });

  /** Tokens the caller may manage: by workspace or user when asked, else the caller's own (server admins: all). */
  app.get('/tokens', permit('token.list'), async (request) => {
    const { actor, may } = authorizedOf(request);
    const query = parseInput(ListQuery, request.query, 'query');
    const user = query.user === undefined ? undefined : await requireUser(ctx.store, query.user);
    const filter = {
      workspaceId: query.workspace,
      userId: user?.id ?? (isServerAdmin(actor) || query.workspace !== undefined ? undefined : userOf(actor)?.id),
    };
    if (!isServerAdmin(actor) && filter.workspaceId === undefined && filter.userId === undefined) return [];
    const visible: TokenRecord[] = [];
    for (const token of await ctx.store.listTokens(filter))
      if (await may('token.manage', { kind: 'token', token })) visible.push(token);
    const presented = [];
    const userOfToken = async (token: TokenRecord) =>
      token.userId === null ? undefined : await ctx.store.findUser(token.userId);
    for (const token of visible)
      presented.push(presentToken(token, await workspaceOf(token), await userOfToken(token)));
    return presented;
  });

  app.get('/tokens/:id', permit('token.manage', 'token-param'), async (request) => {
    const { token } = resourceOf(request, 'token');
    return presentToken(token, await workspaceOf(token));
  });

  app.post('/tokens/:id/rotate', permit('token.manage', 'token-param'), async (request) => {
    const { token, actor } = managed(request);
    const issued = await ctx.tokens.rotate(token, actor, await orgIdOfToken(ctx, token));
    return presentIssuedToken(issued.record, issued.secret, await workspaceOf(issued.record));
  });

  app.patch('/tokens/:id', permit('token.manage', 'token-param'), async (request) => {
    const { token, actor } = managed(request);
    const body = parseInput(ChangeTokenBody, request.body, 'token change');
    const changed = await ctx.tokens.changeAccess(token, body.access, actor, await orgIdOfToken(ctx, token));
    return presentToken(changed, await workspaceOf(changed));
  });

  app.post('/tokens/:id/revoke', permit('token.manage', 'token-param'), async (request) => {
    const { token, actor } = managed(request);
    return presentToken(
      await ctx.tokens.revoke(token, actor, await orgIdOfToken(ctx, token)),
      await workspaceOf(token),
    );
  });
}
