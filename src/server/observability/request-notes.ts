/** What the operations hooks note on a request while it runs, read back when it is logged and counted. */
import type { FastifyInstance, FastifyRequest } from 'fastify';

declare module 'fastify' {
  interface FastifyRequest {
    /** The error code the request ended with, when it failed. */
    opsErrorCode: string | null;
    /** The limit that refused it: `rate`, `quota` or `auth-failures`. */
    opsLimited: string | null;
  }
}

export type RouteKind = 'cache-get' | 'cache-put' | 'exempt' | 'other';

const EXEMPT_ROUTES = new Set(['/healthz', '/readyz', '/metrics']);

export function routeKindOf(request: FastifyRequest): RouteKind {
  const route = request.routeOptions.url ?? '';
  if (EXEMPT_ROUTES.has(route)) return 'exempt';
  if (route.endsWith('/v1/cache/:hash'))
    return request.method === 'PUT' ? 'cache-put' : request.method === 'GET' ? 'cache-get' : 'other';
  return 'other';
}

/** The route pattern (low cardinality) for metric labels; unmatched URLs share one label. */
export function routeLabelOf(request: FastifyRequest): string {
  return request.routeOptions.url ?? 'unmatched';
}

export function registerRequestNotes(app: FastifyInstance): void {
  app.decorateRequest('opsErrorCode', null);
  app.decorateRequest('opsLimited', null);
  app.addHook('onError', async (request, _reply, error) => {
    const code = (error as { code?: unknown }).code;
    request.opsErrorCode = typeof code === 'string' ? code : 'ERR_INTERNAL';
  });
}
