import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { SealedCacheError } from '../../errors';
import { requireServerAdmin } from '../auth/admin-caller';
import { adminCallerFrom } from '../auth/route-auth';
import { newUserId } from '../ids';
import type { ServerContext } from '../server-context';
import { IdOrName, Name, parseInput } from './admin-input';
import { requireUser } from './admin-lookups';
import { presentUser } from './admin-presenters';

const CreateUserBody = z.strictObject({ name: Name, bot: z.boolean().default(false) });
const UserParams = z.object({ user: IdOrName });

export async function adminUserRoutes(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  app.post('/users', { config: { auth: 'admin' } }, async (request, reply) => {
    requireServerAdmin(adminCallerFrom(request), 'create users');
    const body = parseInput(CreateUserBody, request.body, 'user');
    const user = { id: newUserId(), name: body.name, bot: body.bot, serverAdmin: false, createdAt: ctx.clock().toISOString() };
    if ((await ctx.store.insertUser(user)) === 'exists') throw new SealedCacheError('ERR_USER_EXISTS', `a user named "${body.name}" already exists`);
    return reply.code(201).send(presentUser(user));
  });

  app.get('/users', { config: { auth: 'admin' } }, async (request) => {
    requireServerAdmin(adminCallerFrom(request), 'list users');
    return (await ctx.store.listUsers()).map(presentUser);
  });

  app.get('/users/:user', { config: { auth: 'admin' } }, async (request) => {
    const caller = adminCallerFrom(request);
    const user = await requireUser(ctx.store, parseInput(UserParams, request.params, 'path').user);
    if (!caller.serverAdmin && caller.user?.id !== user.id) requireServerAdmin(caller, 'read other users');
    return presentUser(user);
  });
}
