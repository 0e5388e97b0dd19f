/** `POST /api/v1/users/:user/password {password}`: server admins for anyone, users for themselves (CLI `user set-password`). */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { requireServerAdmin } from '../auth/admin-caller';
import { adminCallerFrom } from '../auth/route-auth';
import { IdOrName, parseInput } from './admin-input';
import { requireUser } from './admin-lookups';
import type { WebRouteDeps } from './web';

const PasswordBody = z.strictObject({ password: z.string().min(1).max(4096) });

export async function webPasswordApiRoutes(app: FastifyInstance, { ctx, web }: WebRouteDeps): Promise<void> {
  app.post('/users/:user/password', { config: { auth: 'admin' } }, async (request) => {
    const caller = adminCallerFrom(request);
    const user = await requireUser(ctx.store, parseInput(z.object({ user: IdOrName }), request.params, 'path').user);
    if (caller.user?.id !== user.id) requireServerAdmin(caller, "set other users' passwords");
    const { password } = parseInput(PasswordBody, request.body, 'password');
    await web.accounts.setPassword(user, password, { tokenId: caller.token.id, userId: caller.user?.id ?? null });
    return { userId: user.id, name: user.name, passwordSet: true, sessionsEnded: true };
  });
}
