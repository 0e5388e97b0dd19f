/**
 * `POST /api/v1/users/:user/password {currentPassword, password}`: a person changes their own password,
 * proving they know the current one; a token alone never sets a password. Server admins reset a
 * password on the server itself (`user set-password --data-dir`, offline-password.ts).
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { clientAddress } from '../../web/web-guards';
import { auditActorOf } from '../../auth/actors';
import { authorizedOf, permit, resourceOf } from '../../auth/route-policy';
import { parseInput } from '../../input/request-input';
import type { WebRouteDeps } from '../web/web-routes';

const PasswordBody = z.strictObject({
  currentPassword: z.string().min(1).max(4096),
  password: z.string().min(1).max(4096),
});

export async function webPasswordApiRoutes(app: FastifyInstance, { web }: WebRouteDeps): Promise<void> {
  app.post('/users/:user/password', permit('account.set-password', 'user-param'), async (request) => {
    const { user } = resourceOf(request, 'user');
    const { currentPassword, password } = parseInput(PasswordBody, request.body, 'password');
    // Checked like a sign-in, so a stolen token cannot guess the password faster than the sign-in page allows.
    await web.accounts.verifyCurrentPassword(user, currentPassword, clientAddress(request));
    await web.accounts.setPassword(user, password, auditActorOf(authorizedOf(request).actor));
    return { userId: user.id, name: user.name, passwordSet: true, sessionsEnded: true };
  });
}
