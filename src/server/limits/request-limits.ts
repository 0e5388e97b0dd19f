/**
 * Per-token request rates and byte quotas, and a per-address limit on invalid tokens, counted in this
 * process's memory, or by every replica together on PostgreSQL (shared-window-counter.ts). Refusals keep
 * Nx's build going (docs/operations.md, Limits): a cache GET becomes a 404 miss, a cache PUT a 403 after its body is
 * drained, anything else a 429 ERR_AUTH_RATE_LIMITED.
 * Hand-written, not @fastify/rate-limit: that plugin answers every refusal with a 429, and counts no bytes.
 */
import { createHash } from 'node:crypto';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { SealedCacheError } from '../../errors';
import type { Clock } from '../clock';
import type { ServerConfig } from '../config/server-config';
import { drainBody } from '../../http/drain-body';
import { errorBody } from '../http-errors';
import type { ServerMetrics } from '../observability/metrics';
import { routeKindOf, routeLabelOf } from '../observability/request-notes';
import type { LimitStore } from './limit-store';
import { type LimitCounter, SharedWindowCounter } from './shared-window-counter';
import { WindowCounter } from './window-counter';

type LimitsConfig = Pick<
  ServerConfig,
  'rateLimit' | 'rateWindow' | 'byteQuota' | 'byteQuotaWindow' | 'authFailureLimit' | 'authFailureWindow' | 'drainLimit'
>;

const AUTH_FAILURE_CODES = new Set(['ERR_AUTH_TOKEN_INVALID', 'ERR_AUTH_TOKEN_MALFORMED']);

/** A token is keyed by a hash of its header (no lookup, nothing secret kept); no token by client address. */
function clientKeyOf(request: FastifyRequest): string {
  const authorization = request.headers.authorization;
  if (authorization === undefined || authorization.trim() === '') return `a:${request.ip}`;
  return `t:${createHash('sha256').update(authorization).digest('hex').slice(0, 32)}`;
}

function quotaBytesOf(request: FastifyRequest): number {
  const length = Number(request.headers['content-length'] ?? 0);
  return Number.isSafeInteger(length) && length > 0 ? length : 0;
}

export class RequestLimits {
  private readonly requests: LimitCounter;
  private readonly bytes: LimitCounter;
  private readonly authFailures: LimitCounter;
  private readonly shared: SharedWindowCounter[] = [];

  /** Where a failed read or flush of shared counts is reported (set once the server has its log). */
  log: Pick<FastifyBaseLogger, 'warn'> | undefined;

  /** `shared`: the store replicas count together in (PostgreSQL); without it, this process's memory. */
  constructor(
    private readonly config: LimitsConfig,
    private readonly clock: Clock,
    private readonly metrics: ServerMetrics,
    private readonly sharedStore?: LimitStore,
  ) {
    this.requests = this.counter('requests', config.rateWindow);
    this.bytes = this.counter('bytes', config.byteQuotaWindow);
    this.authFailures = this.counter('auth-failures', config.authFailureWindow);
  }

  /**
   * A counter named `name` (unique per server) that is shared like these limits: replicas on PostgreSQL count
   * together, flushed and closed with them; the embedded store's one process in memory.
   */
  counter(name: string, windowMs: number): LimitCounter {
    if (this.sharedStore === undefined) return new WindowCounter(windowMs, this.clock);
    // The limit then counts what this replica knows: a database fault must not refuse every request.
    const onError = (err: unknown): void => this.log?.warn({ err }, 'could not share limit counts with other replicas');
    const counted = new SharedWindowCounter(name, windowMs, this.clock, this.sharedStore, onError);
    this.shared.push(counted);
    return counted;
  }

  /** The limit a request breaks, if any; records what it uses when it breaks none. */
  async check(request: FastifyRequest): Promise<string | undefined> {
    const { rateLimit, byteQuota, authFailureLimit } = this.config;
    const kind = routeKindOf(request);
    if (
      authFailureLimit > 0 &&
      request.headers.authorization !== undefined &&
      (await this.authFailures.used(request.ip)) >= authFailureLimit
    )
      return 'auth-failures';
    if (rateLimit <= 0 && byteQuota <= 0) return undefined;
    const key = clientKeyOf(request);
    if (rateLimit > 0 && !(await this.requests.tryAdd(key, 1, rateLimit))) return 'rate';
    if (byteQuota > 0 && kind === 'cache-put' && !(await this.bytes.tryAdd(key, quotaBytesOf(request), byteQuota)))
      return 'quota';
    if (byteQuota > 0 && kind === 'cache-get' && (await this.bytes.used(key)) >= byteQuota) return 'quota';
    return undefined;
  }

  /** Shared counters: adds what this replica counted to the shared counts now (tests; shutdown). */
  async flush(): Promise<void> {
    await Promise.all(this.shared.map((c) => c.flush()));
  }

  /** Shared counters: a last flush, and their timers stop. */
  async close(): Promise<void> {
    await Promise.all(this.shared.map((c) => c.close()));
  }

  recordResponse(request: FastifyRequest, reply: FastifyReply): void {
    if (request.opsErrorCode !== null && AUTH_FAILURE_CODES.has(request.opsErrorCode))
      this.authFailures.add(request.ip, 1);
    if (this.config.byteQuota > 0 && routeKindOf(request) === 'cache-get' && reply.statusCode === 200) {
      this.bytes.add(clientKeyOf(request), Number(reply.getHeader('content-length') ?? 0));
    }
  }

  async refuse(request: FastifyRequest, reply: FastifyReply, limit: string): Promise<FastifyReply> {
    request.opsLimited = limit;
    this.metrics.limited.inc({ limit, route: routeLabelOf(request) });
    request.log.warn({ limit, route: routeLabelOf(request) }, 'request refused by a limit');
    const kind = routeKindOf(request);
    if (kind === 'cache-get') return reply.code(404).type('text/plain').send('not found');
    if (kind === 'cache-put') {
      const err = new SealedCacheError(
        'ERR_CACHE_WRITE_LIMITED',
        `the ${limit} limit of this credential is reached; nothing was stored`,
      );
      request.opsErrorCode = err.code;
      if (!(await drainBody(request.raw, this.config.drainLimit))) reply.header('connection', 'close');
      return reply.code(403).header('content-type', 'text/plain').send(`${err.code}: ${err.message}`);
    }
    const err = new SealedCacheError('ERR_AUTH_RATE_LIMITED', `the ${limit} limit is reached; retry later`);
    request.opsErrorCode = err.code;
    return reply.code(429).header('retry-after', '60').send(errorBody(err));
  }
}

export function registerRequestLimits(app: FastifyInstance, limits: RequestLimits): void {
  app.addHook('onRequest', async (request, reply) => {
    if (routeKindOf(request) === 'exempt') return;
    const limit = await limits.check(request);
    if (limit !== undefined) return limits.refuse(request, reply, limit);
  });
  // Before the answer leaves, so the client's next request already sees what this one used.
  app.addHook('onSend', async (request, reply) => limits.recordResponse(request, reply));
}
