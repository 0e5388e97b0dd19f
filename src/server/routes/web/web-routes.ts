/**
 * The admin web pages: another front door onto the same services, store and audit log as the
 * admin API. They live in their own scope with their own error handler, cookie and form parsing,
 * and security headers; the browser-login JSON API is under /api/v1 (routes/admin-api/api-routes.ts).
 */
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { SealedCacheError } from '../../../errors';
import { pagePermit } from '../../auth/route-policy';
import { statusOf, toSealedCacheError } from '../../http-errors';
import type { ServerContext } from '../../server-context';
import { APP_CSS } from '../../web/assets/app-css';
import { APP_JS } from '../../web/assets/app-js';
import { messagePage } from '../../web/pages/sign-in-pages';
import type { WebServices } from '../../web/web-services';
import { webDeviceRoutes } from './web-device';
import { webOrgRoutes } from './web-orgs';
import { webSignInRoutes } from './web-sign-in';
import { webSsoRoutes } from './web-sso';
import { webRunRoutes } from './web-runs';
import { webStatsRoutes } from './web-stats';
import { webTokenRoutes } from './web-tokens';
import { webWorkspaceRoutes } from './web-workspaces';

export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

export interface WebRouteDeps {
  ctx: ServerContext;
  web: WebServices;
}

function securityHeaders(reply: FastifyReply): void {
  reply.header('content-security-policy', CONTENT_SECURITY_POLICY);
  reply.header('x-content-type-options', 'nosniff');
  reply.header('x-frame-options', 'DENY');
  // same-origin, not no-referrer: with no-referrer Chromium posts forms with `Origin: null`, defeating the origin check.
  reply.header('referrer-policy', 'same-origin');
  reply.header('cross-origin-opener-policy', 'same-origin');
  reply.header('cross-origin-resource-policy', 'same-origin');
  reply.header('permissions-policy', 'camera=(), microphone=(), geolocation=(), clipboard-write=(self)');
}

function onWebError(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const err = toSealedCacheError(error);
  if (err.code === 'ERR_WEB_SESSION_REQUIRED' && request.method === 'GET') {
    return reply.redirect(`/ui/sign-in?next=${encodeURIComponent(request.url)}`, 303);
  }
  const status = statusOf(err);
  if (status >= 500) request.log.error({ err: error }, 'web request failed');
  const viewer = request.webViewer ?? undefined;
  const heading =
    err.code === 'ERR_WEB_CSRF_FAILED'
      ? 'Request refused'
      : status === 404
        ? 'Not found'
        : status === 403
          ? 'Not allowed'
          : 'Something went wrong';
  return reply
    .code(status)
    .type('text/html; charset=utf-8')
    .send(
      messagePage(
        { title: heading, viewer },
        heading,
        status >= 500 ? 'An unexpected error occurred; nothing was changed.' : err.message,
        { kind: 'error', text: err.code },
      ),
    );
}

async function htmlScope(app: FastifyInstance, deps: WebRouteDeps): Promise<void> {
  await app.register(cookie);
  await app.register(formbody, { bodyLimit: 64 * 1024 });
  app.addHook('onRequest', async (_request, reply) => {
    securityHeaders(reply);
    reply.header('cache-control', 'no-store');
  });
  app.setErrorHandler(onWebError);

  const page = pagePermit('web.public');
  app.get('/', page, async (request, reply) =>
    reply.redirect(request.webViewer === null ? '/ui/sign-in' : '/ui/tokens', 303),
  );
  app.get('/ui', page, async (_request, reply) => reply.redirect('/', 303));
  app.get('/ui/assets/app.css', page, async (_request, reply) =>
    reply.header('cache-control', 'public, max-age=300').type('text/css; charset=utf-8').send(APP_CSS),
  );
  app.get('/ui/assets/app.js', page, async (_request, reply) =>
    reply.header('cache-control', 'public, max-age=300').type('text/javascript; charset=utf-8').send(APP_JS),
  );

  await webSignInRoutes(app, deps);
  await webSsoRoutes(app, deps);
  await webTokenRoutes(app, deps);
  await webDeviceRoutes(app, deps);
  await webOrgRoutes(app, deps);
  await webWorkspaceRoutes(app, deps);
  await webRunRoutes(app, deps);
  await webStatsRoutes(app, deps);
  app.get('/ui/*', page, async (request) => {
    throw new SealedCacheError('ERR_NOT_FOUND', `no page ${request.url.split('?')[0]}`);
  });
}

export async function webRoutes(app: FastifyInstance, ctx: ServerContext, web: WebServices): Promise<void> {
  const deps: WebRouteDeps = { ctx, web };
  await app.register(async (scope) => htmlScope(scope, deps));
}
