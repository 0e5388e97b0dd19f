/**
 * The loopback HTTP server of the sealing proxy: Nx's cache routes behind a per-run secret, and a
 * control channel behind the control secret. Factory only; `proxy-main.ts` is the process entry.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type z } from 'zod';
import { CACHE_HASH_PATTERN, RUN_REPORT_MAX_BYTES } from '../protocol';
import { answer, serveCacheGet, serveCachePut } from './cache-handlers';
import {
  CONTROL_PREFIX,
  FinishRunRequest,
  RegisterRunRequest,
  type FinishRunResponse,
  type PingResponse,
} from './control-protocol';
import type { RunRegistry } from './run-registry';
import { equalSecrets } from '../crypto/constant-time';
import { drainBody } from '../http/drain-body';
import { bearerToken } from './secrets';
import { IN_MEMORY_BUDGET, MemoryBudget } from './spool';
import { InspectionPool } from '../archive/inspection-pool';

export interface ProxyServerOptions {
  registry: RunRegistry;
  controlSecret: string;
  tempDir: string;
  requestDeadlineMs: number;
  /** Bytes restored artifacts may hold in memory together (default IN_MEMORY_BUDGET); tests lower it. */
  memoryBudget?: number;
  /** Where artifacts held in memory are checked (default: worker threads, see inspection-pool.ts). */
  inspection?: InspectionPool;
  now?: () => number;
}

export interface ProxyServer {
  listen(): Promise<number>;
  /** True when nothing is registered and nothing happened for `idleMs`. */
  isIdle(idleMs: number): boolean;
  /** Stops accepting registrations first, so a hook never registers with a proxy on its way out. */
  close(): Promise<void>;
}

const CACHE_ROUTE = /^\/v1\/cache\/([^/?#]+)$/;
const MAX_CONTROL_BODY = 4096;
/** A finish carries the run's report: as large as the server takes one, and a little more. */
const MAX_FINISH_BODY = RUN_REPORT_MAX_BYTES + 4096;
const UNAUTHORIZED_TEXT = 'nx-sealed-cache proxy: this token is not a registered run secret of this proxy.';

export function createProxyServer(options: ProxyServerOptions): ProxyServer {
  const now = options.now ?? Date.now;
  let lastActivityAt = now();
  let inFlight = 0;
  let closing = false;
  const memory = new MemoryBudget(options.memoryBudget ?? IN_MEMORY_BUDGET);
  const inspection = options.inspection ?? new InspectionPool();
  inspection.warm();

  const server = http.createServer((req, res) => {
    inFlight += 1;
    lastActivityAt = now();
    res.on('close', () => {
      inFlight -= 1;
      lastActivityAt = now();
    });
    route(req, res).catch(() => {
      if (!res.headersSent) answer(res, req.method === 'PUT' ? 403 : 404);
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 5_000;

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    if (url.startsWith(`${CONTROL_PREFIX}/`)) return routeControl(req, res, url.slice(CONTROL_PREFIX.length));
    const match = CACHE_ROUTE.exec(url);
    if (!match) return refuseUnknown(req, res, 404);
    const token = bearerToken(req.headers.authorization);
    const run = token === null ? null : options.registry.findBySecret(token);
    // A write with a secret of no current run (a finished one, a guess) is refused like any write it may not make.
    if (!run)
      return req.method === 'PUT' ? refuseUnknown(req, res, 403) : refuseUnknown(req, res, 401, UNAUTHORIZED_TEXT);
    run.lastSeenAt = now();
    const hash = decodeURIComponent(match[1]!);
    const context = { tempDir: options.tempDir, requestDeadlineMs: options.requestDeadlineMs, memory, inspection };
    if (req.method === 'GET' && CACHE_HASH_PATTERN.test(hash)) return serveCacheGet(context, run, hash, res);
    if (req.method === 'PUT' && CACHE_HASH_PATTERN.test(hash)) return serveCachePut(context, run, hash, req, res);
    return refuseUnknown(req, res, req.method === 'PUT' ? 403 : 404);
  }

  async function routeControl(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const token = bearerToken(req.headers.authorization);
    if (token === null || !equalSecrets(token, options.controlSecret))
      return refuseUnknown(req, res, 401, 'unauthorized');
    if (closing) return refuseUnknown(req, res, 503, 'closing');
    if (req.method === 'GET' && path === '/ping') {
      return sendJson(res, { pid: process.pid, runs: options.registry.size } satisfies PingResponse);
    }
    if (req.method === 'POST' && path === '/runs') {
      const body = await readJson(req, RegisterRunRequest);
      if (!body) return answer(res, 400, 'invalid body');
      options.registry.register(body.runId, body.secret, now(), body.shieldVulnerableNx);
      return sendJson(res, { registered: true, pid: process.pid });
    }
    if (req.method === 'POST' && path === '/finish') {
      const body = await readJson(req, FinishRunRequest, MAX_FINISH_BODY);
      if (!body) return answer(res, 400, 'invalid body');
      const finished = await options.registry.finish(body.runId, body.report);
      const response: FinishRunResponse = finished
        ? { known: true, ...finished }
        : { known: false, summary: '', warnings: [] };
      return sendJson(res, response);
    }
    return refuseUnknown(req, res, 404);
  }

  return {
    listen: () =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
      }),
    isIdle: (idleMs) => options.registry.size === 0 && inFlight === 0 && now() - lastActivityAt >= idleMs,
    close: async () => {
      closing = true;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Shutdown happens when idle (nothing in flight) or on a signal; keep-alive sockets must not delay it.
        server.closeAllConnections();
      });
      await options.registry.closeAll();
      await inspection.close();
    },
  };
}

async function refuseUnknown(req: IncomingMessage, res: ServerResponse, status: number, text = ''): Promise<void> {
  await drainBody(req);
  answer(res, status, text);
}

async function readJson<T>(req: IncomingMessage, schema: z.ZodType<T>, limit = MAX_CONTROL_BODY): Promise<T | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) return null;
    chunks.push(chunk);
  }
  try {
    const parsed = schema.safeParse(JSON.parse(Buffer.concat(chunks).toString('utf8')));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

function sendJson(res: ServerResponse, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(text)) });
  res.end(text);
}
