/** Approving a CLI login request in the page (session + CSRF required). */
import type { FastifyInstance } from 'fastify';
import { isSealedCacheError } from '../../errors';
import { deviceApprovedPage, deviceConfirmPage, deviceDeniedPage, deviceEntryPage } from '../web/pages/device-page';
import { pagePermit } from '../auth/route-policy';
import { formField, requireViewer } from '../web/web-guards';
import type { WebRouteDeps } from './web';

export async function webDeviceRoutes(app: FastifyInstance, { ctx, web }: WebRouteDeps): Promise<void> {
  app.get('/ui/device', pagePermit('session.self'), async (request, reply) => {
    const viewer = requireViewer(request);
    const code = (request.query as Record<string, unknown>).code;
    if (typeof code !== 'string' || code.trim() === '') return reply.type('text/html; charset=utf-8').send(deviceEntryPage(viewer, ''));
    try {
      const pending = await web.loginRequests.findPending(code);
      const workspace = pending.workspaceId === null ? undefined : await ctx.store.findWorkspace(pending.workspaceId);
      return reply.type('text/html; charset=utf-8').send(deviceConfirmPage(viewer, pending, workspace));
    } catch (err) {
      if (!isSealedCacheError(err, 'ERR_LOGIN_REQUEST_NOT_FOUND') && !isSealedCacheError(err, 'ERR_LOGIN_REQUEST_EXPIRED') && !isSealedCacheError(err, 'ERR_LOGIN_REQUEST_DENIED')) throw err;
      return reply.code(err.status).type('text/html; charset=utf-8').send(deviceEntryPage(viewer, code.slice(0, 20), { kind: 'error', text: err.message }));
    }
  });

  app.post('/ui/device/approve', pagePermit('session.self'), async (request, reply) => {
    const viewer = requireViewer(request);
    const approved = await web.loginRequests.approve(formField(request, 'code') ?? '', viewer.user);
    return reply.type('text/html; charset=utf-8').send(deviceApprovedPage(viewer, approved));
  });

  app.post('/ui/device/deny', pagePermit('session.self'), async (request, reply) => {
    const viewer = requireViewer(request);
    const denied = await web.loginRequests.deny(formField(request, 'code') ?? '', viewer.user);
    return reply.type('text/html; charset=utf-8').send(deviceDeniedPage(viewer, denied));
  });
}
