import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { SealedCacheError } from '../../../errors';
import { permit, resourceOf } from '../../auth/route-policy';
import { newUserId } from '../../ids';
import type { User } from '../../metadata/records';
import type { ServerContext } from '../../server-context';
import { IdOrName, Name, parseInput } from '../../input/request-input';
import { requireOrganisation } from '../../services/lookups';
import { presentUser } from '../support/presenters';

/** A bot may name the one organisation that owns it now; otherwise it is placed by its first `member add`. */
const CreateUserBody = z
  .strictObject({ name: Name, bot: z.boolean().default(false), org: IdOrName.optional() })
  .refine((b) => b.bot || b.org === undefined, 'only a bot belongs to an organisation');

export async function adminUserRoutes(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  app.post('/users', permit('user.create'), async (request, reply) => {
    const body = parseInput(CreateUserBody, request.body, 'user');
    const owner = body.org === undefined ? undefined : await requireOrganisation(ctx.store, body.org);
    const user: User = {
      id: newUserId(),
      name: body.name,
      bot: body.bot,
      serverAdmin: false,
      ownerOrgId: owner?.id ?? null,
      createdAt: ctx.clock().toISOString(),
    };
    if ((await ctx.store.insertUser(user)) === 'exists')
      throw new SealedCacheError('ERR_USER_EXISTS', `a user named "${body.name}" already exists`);
    if (owner !== undefined)
      await ctx.store.insertMembership({ orgId: owner.id, userId: user.id, role: 'member', createdAt: user.createdAt });
    return reply.code(201).send(presentUser(user));
  });

  app.get('/users', permit('user.list'), async () => (await ctx.store.listUsers()).map(presentUser));

  app.get('/users/:user', permit('account.read', 'user-param'), async (request) =>
    presentUser(resourceOf(request, 'user').user),
  );
}
