/** Counts every answered request into the server's metrics: route, status, latency, hits, misses, bytes, denied writes. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ServerMetrics } from './metrics';
import { routeKindOf, routeLabelOf } from './request-notes';

function contentLengthOf(value: unknown): number {
  const length = Number(value ?? 0);
  return Number.isSafeInteger(length) && length > 0 ? length : 0;
}

function countCacheOutcome(metrics: ServerMetrics, request: FastifyRequest, reply: FastifyReply): void {
  const kind = routeKindOf(request);
  if (kind === 'cache-get') {
    if (reply.statusCode === 200) {
      metrics.cacheHits.inc();
      metrics.bytesOut.inc(contentLengthOf(reply.getHeader('content-length')));
    } else if (reply.statusCode === 404) {
      metrics.cacheMisses.inc({ reason: request.opsLimited === null ? 'absent' : 'limited' });
    }
  } else if (kind === 'cache-put') {
    if (reply.statusCode === 200) metrics.bytesIn.inc(contentLengthOf(request.headers['content-length']));
    else metrics.deniedWrites.inc({ reason: request.opsErrorCode ?? `status-${reply.statusCode}` });
  }
}

export function registerRequestMetrics(app: FastifyInstance, metrics: ServerMetrics): void {
  app.addHook('onResponse', async (request, reply) => {
    const route = routeLabelOf(request);
    metrics.requests.inc({ route, method: request.method, status: String(reply.statusCode) });
    metrics.latency.observe({ route, method: request.method }, reply.elapsedTime / 1000);
    countCacheOutcome(metrics, request, reply);
  });
}
