/**
 * The operations part of the server configuration: logs, TLS, proxies, retention, limits, timeouts
 * and shutdown. Times are milliseconds and sizes bytes here; `config-file.ts` parses `30d` or `2GiB`.
 */
import { z } from 'zod';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const ms = (fallback: number) => z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).default(fallback);
const positiveMs = (fallback: number) => z.number().int().positive().max(Number.MAX_SAFE_INTEGER).default(fallback);
const count = (fallback: number) => z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).default(fallback);

export const OPS_DEFAULTS = {
  retentionMaxAge: 30 * DAY,
  retentionInterval: 10 * MINUTE,
  ciIdentityTokenRetention: 7 * DAY,
  runReportRetention: 30 * DAY,
  rateLimit: 10_000,
  rateWindow: MINUTE,
  byteQuotaWindow: HOUR,
  authFailureLimit: 50,
  authFailureWindow: 15 * MINUTE,
  headersTimeout: 30_000,
  requestTimeout: 15 * MINUTE,
  idleTimeout: 60_000,
  keepAliveTimeout: 65_000,
  shutdownGrace: 8_000,
  minBodyRate: 1024,
  bodyRateWindow: 10_000,
  bodyRateGrace: 10_000,
  maxConnections: 10_000,
  // Nx 21+ looks up every task of a run at once, one connection each: a cap below a run's task count fails the build.
  maxConnectionsPerAddress: 2000,
} as const;

export const opsConfigFields = {
  logFormat: z.enum(['json', 'pretty']).default('json'),
  trustProxy: z.boolean().default(false),
  tlsCert: z.string().min(1).optional(),
  tlsKey: z.string().min(1).optional(),
  /** When set, /metrics needs `Authorization: Bearer <it>` from anywhere; when not, only loopback callers get it. */
  metricsToken: z.string().min(16, 'at least 16 characters').optional(),
  /** Total stored bytes above which least recently used entries are evicted; 0 = no cap. */
  retentionMaxBytes: count(0),
  /** Entries not read for this long are removed; 0 = never. */
  retentionMaxAge: ms(OPS_DEFAULTS.retentionMaxAge),
  /** How often the retention sweep runs; 0 = never (only on demand). */
  retentionInterval: ms(OPS_DEFAULTS.retentionInterval),
  /** Tokens from a CI identity exchange are deleted this long after they expired (audit keeps the claims); 0 = never. */
  ciIdentityTokenRetention: ms(OPS_DEFAULTS.ciIdentityTokenRetention),
  /** Run reports (the Runs page) older than this are deleted; 0 = never. */
  runReportRetention: ms(OPS_DEFAULTS.runReportRetention),
  /** Requests per token (anonymous: per client address) per rateWindow; 0 = unlimited. */
  rateLimit: count(OPS_DEFAULTS.rateLimit),
  rateWindow: positiveMs(OPS_DEFAULTS.rateWindow),
  /** Bytes uploaded plus downloaded per token (anonymous: per address) per byteQuotaWindow; 0 = unlimited. */
  byteQuota: count(0),
  byteQuotaWindow: positiveMs(OPS_DEFAULTS.byteQuotaWindow),
  /** Invalid or malformed tokens per client address per authFailureWindow before that address is refused; 0 = unlimited. */
  authFailureLimit: count(OPS_DEFAULTS.authFailureLimit),
  authFailureWindow: positiveMs(OPS_DEFAULTS.authFailureWindow),
  headersTimeout: ms(OPS_DEFAULTS.headersTimeout),
  /** The whole request, body included, must arrive within this. */
  requestTimeout: ms(OPS_DEFAULTS.requestTimeout),
  /** A connection silent for this long is closed (a stalled upload stores nothing). */
  idleTimeout: ms(OPS_DEFAULTS.idleTimeout),
  keepAliveTimeout: ms(OPS_DEFAULTS.keepAliveTimeout),
  /** On SIGTERM, in-flight requests get this long to finish before their connections are cut. */
  shutdownGrace: ms(OPS_DEFAULTS.shutdownGrace),
  /** A request body arriving slower than this many bytes per second (over bodyRateWindow, after bodyRateGrace) has its connection closed; 0 = no minimum. */
  minBodyRate: count(OPS_DEFAULTS.minBodyRate),
  bodyRateWindow: positiveMs(OPS_DEFAULTS.bodyRateWindow),
  bodyRateGrace: ms(OPS_DEFAULTS.bodyRateGrace),
  /** Open connections in all, and from one client address (the socket's peer, even behind a proxy); 0 = unlimited. */
  maxConnections: count(OPS_DEFAULTS.maxConnections),
  maxConnectionsPerAddress: count(OPS_DEFAULTS.maxConnectionsPerAddress),
};
