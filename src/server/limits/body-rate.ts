/**
 * A minimum rate for request bodies. A body trickled a byte at a time resets the idle timer with each
 * byte and would hold its connection for the whole request timeout; here, after a grace period, a body
 * that brings fewer than `minBodyRate` bytes per second over a window has its connection closed (an
 * upload cut off like this stores nothing: the cache route only commits complete bodies).
 */
import type { Socket } from 'node:net';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ServerConfig } from '../config/server-config';
import type { ServerMetrics } from '../observability/metrics';
import { routeLabelOf } from '../observability/request-notes';

export type BodyRateConfig = Pick<ServerConfig, 'minBodyRate' | 'bodyRateWindow' | 'bodyRateGrace'>;

const hasBody = (request: FastifyRequest): boolean => {
  const length = request.headers['content-length'];
  return request.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
};

/**
 * Watches one request's socket until its body is complete or the exchange ends; calls `tooSlow` once when
 * a window brings too few bytes. Counted on the socket, so a slow disk downstream is not blamed on the client
 * until the socket itself stalls.
 */
export function watchBodyRate(
  socket: Pick<Socket, 'bytesRead'>,
  isComplete: () => boolean,
  config: BodyRateConfig,
  tooSlow: (receivedInWindow: number) => void,
): () => void {
  const needed = Math.ceil((config.minBodyRate * config.bodyRateWindow) / 1000);
  let last = socket.bytesRead;
  let interval: NodeJS.Timeout | undefined;
  const check = (): void => {
    if (isComplete()) return stop();
    const received = socket.bytesRead - last;
    last = socket.bytesRead;
    if (received < needed) {
      stop();
      tooSlow(received);
    }
  };
  const grace = setTimeout(() => {
    last = socket.bytesRead;
    interval = setInterval(check, config.bodyRateWindow);
    interval.unref();
  }, config.bodyRateGrace);
  grace.unref();
  function stop(): void {
    clearTimeout(grace);
    clearInterval(interval);
  }
  return stop;
}

export function registerBodyRate(app: FastifyInstance, config: BodyRateConfig, metrics: ServerMetrics): void {
  if (config.minBodyRate <= 0) return;
  app.addHook('onRequest', async (request, reply) => {
    if (!hasBody(request)) return;
    const socket = request.raw.socket;
    const stop = watchBodyRate(
      socket,
      () => request.raw.complete,
      config,
      (received) => {
        request.opsLimited = 'body-rate';
        metrics.limited.inc({ limit: 'body-rate', route: routeLabelOf(request) });
        request.log.warn(
          {
            limit: 'body-rate',
            route: routeLabelOf(request),
            receivedInWindow: received,
            minBodyRate: config.minBodyRate,
          },
          'request body too slow; closing the connection',
        );
        socket.destroy();
      },
    );
    // Keep-alive sockets carry many requests: each one's listener goes when its exchange ends.
    const end = (): void => {
      stop();
      socket.removeListener('close', end);
      reply.raw.removeListener('close', end);
    };
    reply.raw.once('close', end);
    socket.once('close', end);
  });
}
