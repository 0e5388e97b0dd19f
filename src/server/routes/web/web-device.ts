/** Approving a CLI login request in the page (session + CSRF required); the code is always typed, never taken from a link. */
import type { FastifyInstance } from 'fastify';
import { isSealedCacheError } from '../../../errors';
import { pagePermit } from '../../auth/route-policy';
import { LOGIN_TOKEN_LIFETIME } from '../../services/login-request-service';
import {
  CODE_IN_LINK_NOTICE,
  deviceApprovedPage,
  deviceConfirmPage,
  deviceDeniedPage,
  deviceEntryPage,
} from '../../web/pages/device-page';
import { formField, requireViewer } from '../../web/web-guards';
import type { WebRouteDeps } from './web-routes';

const SHOWN_ON_ENTRY_PAGE = [
  'ERR_LOGIN_REQUEST_NOT_FOUND',
  'ERR_LOGIN_REQUEST_EXPIRED',
  'ERR_LOGIN_REQUEST_DENIED',
  'ERR_AUTH_FORBIDDEN',
] as const;
const LIFETIME_TEXT = LOGIN_TOKEN_LIFETIME.replace(/^(\d+)d$/, '$1 days');

export async function webDeviceRoutes(app: FastifyInstance, { web }: WebRouteDeps): Promise<void> {
  app.get('/ui/device', pagePermit('session.self'), async (request, reply) => {
    const viewer = requireViewer(request);
    const code = (request.query as Record<string, unknown>).code;
    return reply
      .type('text/html; charset=utf-8')
      .send(deviceEntryPage(viewer, code === undefined ? undefined : CODE_IN_LINK_NOTICE));
  });

  app.post('/ui/device', pagePermit('session.self'), async (request, reply) => {
    const viewer = requireViewer(request);
    try {
      const approvable = await web.loginRequests.findApprovable(formField(request, 'code') ?? '', viewer.user);
      return reply.type('text/html; charset=utf-8').send(deviceConfirmPage(viewer, approvable, LIFETIME_TEXT));
    } catch (err) {
      if (!isSealedCacheError(err) || !(SHOWN_ON_ENTRY_PAGE as readonly string[]).includes(err.code)) throw err;
      return reply
        .code(err.status)
        .type('text/html; charset=utf-8')
        .send(deviceEntryPage(viewer, { kind: 'error', text: err.message }));
    }
  });

  app.post('/ui/device/approve', pagePermit('session.self'), async (request, reply) => {
    const viewer = requireViewer(request);
    const approved = await web.loginRequests.approve(
      formField(request, 'code') ?? '',
      viewer.user,
      await web.sso.identityOfSession(viewer.sessionHash, viewer.user.id),
    );
    return reply.type('text/html; charset=utf-8').send(deviceApprovedPage(viewer, approved.record));
  });

  app.post('/ui/device/deny', pagePermit('session.self'), async (request, reply) => {
    const viewer = requireViewer(request);
    const denied = await web.loginRequests.deny(formField(request, 'code') ?? '', viewer.user);
    return reply.type('text/html; charset=utf-8').send(deviceDeniedPage(viewer, denied));
  });
}
