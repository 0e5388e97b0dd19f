/**
 * The server's pino options: JSON lines (or pino-pretty for a terminal), a request id on every
 * line, and no secret ever written (headers redacted by path, token-like strings scrubbed everywhere).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyServerOptions } from 'fastify';
import type { ServerConfig } from '../config/server-config';
import { REDACTED, redactDeep, redactText } from './redact';

/** Where log lines go instead of stdout (tests capture them here). */
export interface LogDestination {
  write(line: string): void;
}

const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["proxy-authorization"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  'authorization',
  'cookie',
  'token',
  '*.token',
  'password',
  '*.password',
];

const REQUEST_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

/** A client's X-Request-Id is kept when it is short and harmless (so proxies can correlate); otherwise a fresh UUID. */
export function requestIdOf(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID_PATTERN.test(given) ? given : randomUUID();
}

type LoggerOptions = Exclude<FastifyServerOptions['logger'], boolean | undefined>;

export function loggerOptionsFor(
  config: Pick<ServerConfig, 'logLevel' | 'logFormat'>,
  destination?: LogDestination,
): LoggerOptions | false {
  if (config.logLevel === false) return false;
  const options: LoggerOptions & Record<string, unknown> = {
    level: config.logLevel,
    redact: { paths: REDACT_PATHS, censor: REDACTED },
    serializers: {
      req: (req: { method: string; url: string; ip?: string; socket?: { remotePort?: number } }) => ({
        method: req.method,
        url: typeof req.url === 'string' ? redactText(req.url) : undefined,
        remoteAddress: req.ip,
        remotePort: req.socket?.remotePort,
      }),
    },
    formatters: { log: (object: Record<string, unknown>) => redactDeep(object) as Record<string, unknown> },
    hooks: {
      logMethod(this: unknown, args: unknown[], method: (...a: unknown[]) => void) {
        method.apply(
          this,
          args.map((arg) => (typeof arg === 'string' ? redactText(arg) : arg)),
        );
      },
    },
  };
  if (destination !== undefined) options.stream = destination;
  else if (config.logFormat === 'pretty')
    options.transport = {
      target: 'pino-pretty',
      options: { colorize: process.stdout.isTTY === true, translateTime: 'SYS:standard' },
    };
  return options;
}
