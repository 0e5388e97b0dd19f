/**
 * `GET /metrics`, Prometheus text. With a metrics token configured it needs `Authorization: Bearer
 * <token>` from anywhere; without one it answers loopback callers only (a scraper on the same host or
 * a sidecar), so counts and route names are never public by accident.
 */
import { createHash } from 'node:crypto';
import { equalSecrets } from '../../../crypto/constant-time';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { SealedCacheError } from '../../../errors';
import { openPermit } from '../../auth/route-policy';
import type { ServerMetrics } from '../../observability/metrics';

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

function isLoopback(address: string): boolean {
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}

/** Only the token's hash is kept; comparing hashes in constant time hides its length too. */
export function metricsGuard(metricsToken: string | undefined): (request: FastifyRequest) => void {
  const expected = metricsToken === undefined ? undefined : sha256(metricsToken);
  return (request) => {
    if (expected === undefined) {
      // The socket's own address: X-Forwarded-For must not make a remote caller look local.
      if (isLoopback(request.socket.remoteAddress ?? '')) return;
      throw new SealedCacheError(
        'ERR_AUTH_FORBIDDEN',
        '/metrics answers loopback callers only unless the server has a metrics token',
      );
    }
    const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
    if (match === null)
      throw new SealedCacheError('ERR_AUTH_TOKEN_MISSING', '/metrics needs the metrics token as a bearer token');
    if (!equalSecrets(sha256(match[1]), expected))
      throw new SealedCacheError('ERR_AUTH_TOKEN_INVALID', 'that is not the metrics token');
  };
}

export async function metricsRoutes(
  app: FastifyInstance,
  deps: { metrics: ServerMetrics; metricsToken: string | undefined },
): Promise<void> {
  const guard = metricsGuard(deps.metricsToken);
  // The metrics credential is its own (not a user's), so it is checked as the route's first hook.
  app.get(
    '/metrics',
    { ...openPermit('server.probe'), logLevel: 'warn', onRequest: async (request) => guard(request) },
    async (_request, reply) => {
      const { contentType, text } = await deps.metrics.exposition();
      return reply.type(contentType).send(text);
    },
  );
}
