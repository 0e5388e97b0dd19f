/** Fastify's options from the configuration: logger, request ids, TLS, proxy trust and every timeout. */
import { readFileSync } from 'node:fs';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { SealedCacheError } from '../../errors';
import type { ServerConfig } from '../config/server-config';
import { AccessLogController } from '../observability/access-log';
import { type LogDestination, loggerOptionsFor, requestIdOf } from '../observability/logger';

function readPem(option: 'tlsCert' | 'tlsKey', path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new SealedCacheError(
      'ERR_CONFIG_INVALID',
      `${option}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      { cause: err },
    );
  }
}

/** Node's own socket timeouts; it checks them every `connectionsCheckingInterval`, so that follows the smallest. */
function nodeTimeouts(config: ServerConfig): {
  headersTimeout: number;
  requestTimeout: number;
  connectionsCheckingInterval: number;
} {
  const requestTimeout = config.requestTimeout;
  // Node refuses a headers timeout longer than the request timeout.
  const headersTimeout = requestTimeout > 0 ? Math.min(config.headersTimeout, requestTimeout) : config.headersTimeout;
  const smallest = Math.min(...[headersTimeout, requestTimeout].filter((t) => t > 0), 2000);
  return { headersTimeout, requestTimeout, connectionsCheckingInterval: Math.max(50, Math.floor(smallest / 2)) };
}

export function createFastify(config: ServerConfig, logDestination?: LogDestination): FastifyInstance {
  const timeouts = nodeTimeouts(config);
  const tls =
    config.tlsCert !== undefined && config.tlsKey !== undefined
      ? { cert: readPem('tlsCert', config.tlsCert), key: readPem('tlsKey', config.tlsKey) }
      : undefined;
  const options: FastifyServerOptions & { https?: object; http?: object } = {
    logger: loggerOptionsFor(config, logDestination),
    genReqId: requestIdOf,
    // One access line per request instead of fastify's two (observability/access-log.ts).
    logController: new AccessLogController(),
    trustProxy: config.trustProxy,
    connectionTimeout: config.idleTimeout,
    keepAliveTimeout: config.keepAliveTimeout,
    requestTimeout: timeouts.requestTimeout,
    // Shutdown lets in-flight requests finish, then cuts what is left (lifecycle/graceful-close.ts).
    forceCloseConnections: false,
    return503OnClosing: false,
    // Hashes may be 128 characters (fastify's default cap is 100).
    routerOptions: { maxParamLength: 256 },
  };
  if (tls !== undefined) options.https = { ...tls, ...timeouts };
  else options.http = timeouts;
  return Fastify(options) as unknown as FastifyInstance;
}
