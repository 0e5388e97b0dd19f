/**
 * One line per answered request, in place of fastify's two ("incoming request" and "request completed").
 * Cache reads that hit or miss (the bulk of a busy server's traffic, and counted in /metrics) log at `debug`;
 * everything else (writes, refusals, errors, the admin API and pages) at `info`. Fastify's other request
 * lines (a handler's error, a stream cut short, an unknown route) stay as they are.
 */
import { type FastifyReply, type FastifyRequest, LogController } from 'fastify';
import { routeKindOf } from './request-notes';

function isRoutineCacheRead(request: FastifyRequest, reply: FastifyReply): boolean {
  const status = reply.statusCode;
  return (
    (status === 200 || status === 404) &&
    request.opsErrorCode === null &&
    (routeKindOf(request) === 'cache-get' || (request.method === 'HEAD' && request.url.startsWith('/v1/cache/')))
  );
}

export class AccessLogController extends LogController {
  override incomingRequest(): void {
    // The completed line says everything the incoming one did.
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const fields: Record<string, unknown> = {
      req: request,
      res: { statusCode: reply.statusCode },
      responseTime: reply.elapsedTime,
    };
    if (request.opsErrorCode !== null) fields.errorCode = request.opsErrorCode;
    if (error) {
      request.log.error({ ...fields, err: error }, 'request errored');
      return;
    }
    request.log[isRoutineCacheRead(request, reply) ? 'debug' : 'info'](fields, 'request completed');
  }
}
