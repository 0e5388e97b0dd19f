/**
 * The CLI side of browser login, under /api/v1 (no credential: the device code is the secret).
 *   POST /login/requests            {hostname, workspaceId} -> {requestId, userCode, deviceCode, verificationUrl, expiresAt, intervalSeconds}
 * No link with the code filled in: the person approving types the code their terminal shows.
 *   POST /login/requests/:id/poll   {deviceCode} -> {status: 'pending'} | {status: 'approved', token, tokenId, user}
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { SealedCacheError } from '../../../errors';
import { openPermit } from '../../auth/route-policy';
import { WORKSPACE_ID_PATTERN } from '../../../protocol';
import { clientAddress } from '../../web/web-guards';
import { parseInput } from '../../input/request-input';
import { requireWorkspace } from '../../services/lookups';
import type { WebRouteDeps } from '../web/web-routes';
import { serverUrlOf } from '../web/web-tokens';

export const LOGIN_POLL_INTERVAL_SECONDS = 2;
/** Login requests one address may start per window (an hour). */
export const LOGIN_STARTS_PER_WINDOW = 60;
export const LOGIN_START_WINDOW_MS = 60 * 60_000;
const StartBody = z.strictObject({
  hostname: z
    .string()
    .trim()
    .min(1)
    .max(100)
    .regex(/^[\x20-\x7e]+$/, 'printable ASCII'),
  workspaceId: z
    .string()
    .regex(WORKSPACE_ID_PATTERN, 'a workspace id (ws_...): the token a login yields is bound to one workspace'),
});
const PollBody = z.strictObject({ deviceCode: z.string().min(1).max(200) });

export async function loginRequestRoutes(app: FastifyInstance, { ctx, web }: WebRouteDeps): Promise<void> {
  // Starting requests is free of credentials, so bound it per address, counted by every replica together.
  const starts = ctx.ops.limits.counter('login-starts', LOGIN_START_WINDOW_MS);

  app.post('/login/requests', openPermit('login.device'), async (request, reply) => {
    if (!(await starts.tryAdd(request.ip, 1, LOGIN_STARTS_PER_WINDOW)))
      throw new SealedCacheError(
        'ERR_AUTH_RATE_LIMITED',
        'too many login requests from this address; try again within the hour',
      );
    const body = parseInput(StartBody, request.body, 'login request');
    const workspace = await requireWorkspace(ctx.store, body.workspaceId);
    const { record, deviceCode } = await web.loginRequests.start(body.hostname, workspace, {
      clientAddress: clientAddress(request),
      userAgent: request.headers['user-agent'],
    });
    return reply
      .code(201)
      .header('cache-control', 'no-store')
      .send({
        requestId: record.id,
        userCode: record.userCode,
        deviceCode,
        verificationUrl: `${serverUrlOf(request)}/ui/device`,
        expiresAt: record.expiresAt,
        intervalSeconds: LOGIN_POLL_INTERVAL_SECONDS,
      });
  });

  app.post('/login/requests/:id/poll', openPermit('login.device'), async (request, reply) => {
    const { id } = request.params as { id: string };
    const body = parseInput(PollBody, request.body, 'poll');
    const result = await web.loginRequests.poll(id, body.deviceCode);
    reply.header('cache-control', 'no-store');
    if (result.status === 'pending') return { status: 'pending', expiresAt: result.record.expiresAt };
    return {
      status: 'approved',
      token: result.token,
      tokenId: result.tokenId,
      user: { id: result.user.id, name: result.user.name },
      workspaceId: result.record.workspaceId,
    };
  });
}
