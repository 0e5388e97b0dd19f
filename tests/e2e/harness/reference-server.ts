/**
 * A minimal, correct server for Nx's self-hosted cache spec, in-process: the yardstick for harness self-tests and
 * benchmarks. GET 200/404, PUT 200/409 (write-once), Content-Length enforced, entries committed atomically.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync } from 'node:fs';
import { link, stat, unlink } from 'node:fs/promises';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { CACHE_HASH_PATTERN } from '../../../src/protocol';

export type ReferenceAccess = 'read' | 'read-write';

export interface ReferenceServerOptions {
  dataDir: string;
  host?: string;
  port?: number;
  /** When set, only these bearer tokens are accepted (401 text/plain otherwise); when absent, anyone may read and write. */
  tokens?: Record<string, ReferenceAccess>;
  /** Bodies larger than this are refused with 413. Default 1 GiB. */
  maxBodyBytes?: number;
  /** Awaited before each request is handled (the benchmark's floor: one database round trip a request). */
  beforeEachRequest?: () => Promise<void>;
}

export interface ReferenceRequest {
  method: string;
  url: string;
  status: number;
}

export interface ReferenceServer {
  url: string;
  dataDir: string;
  /** Every request answered so far, in order. */
  requests: ReferenceRequest[];
  close(): Promise<void>;
}

const CACHE_PATH = /^(?:\/w\/([A-Za-z0-9_-]{1,64}))?\/v1\/cache\/([^/]+)$/;
const DEFAULT_MAX_BODY_BYTES = 1024 ** 3;

interface CacheRequest {
  namespace: string;
  hash: string;
}

function parseCachePath(url: string | undefined): CacheRequest | undefined {
  const match = CACHE_PATH.exec((url ?? '').split('?')[0] ?? '');
  if (!match || !CACHE_HASH_PATTERN.test(match[2] ?? '')) return undefined;
  return { namespace: match[1] ?? '_default', hash: match[2] ?? '' };
}

function bearerToken(req: IncomingMessage): string | undefined {
  const match = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
  return match?.[1];
}

/** Reads and discards the rest of a body before answering, so the client never sees a reset mid-upload. */
function drainThen(req: IncomingMessage, answer: () => void): void {
  if (req.readableEnded) return answer();
  req.on('end', answer);
  req.on('error', answer);
  req.resume();
}

function sendText(res: ServerResponse, status: number, text: string): void {
  // Exactly text/plain without charset: Nx prints a 401 body only then.
  res.writeHead(status, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

function serveEntry(res: ServerResponse, entryPath: string): void {
  stat(entryPath).then(
    (info) => {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': info.size });
      createReadStream(entryPath).pipe(res);
    },
    () => sendText(res, 404, 'not found'),
  );
}

/** Streams the body to a temp file and links it into place only if exactly Content-Length bytes arrived. */
function storeEntry(
  req: IncomingMessage,
  res: ServerResponse,
  entryPath: string,
  tempDir: string,
  expectedBytes: number,
): void {
  const tempPath = join(tempDir, randomBytes(12).toString('hex'));
  const file = createWriteStream(tempPath);
  let receivedBytes = 0;
  let settled = false;
  const finish = (status: number, text: string): void => {
    if (settled) return;
    settled = true;
    file.destroy();
    unlink(tempPath).catch(() => undefined);
    if (!res.headersSent && !res.destroyed) sendText(res, status, text);
  };
  req.on('data', (chunk: Buffer) => {
    receivedBytes += chunk.length;
  });
  req.on('aborted', () => finish(400, 'body incomplete'));
  req.on('error', () => finish(400, 'body incomplete'));
  file.on('error', () => finish(403, 'storage failed'));
  file.on('finish', () => {
    if (settled) return;
    if (receivedBytes !== expectedBytes) return finish(400, 'body length differs from Content-Length');
    // link() fails with EEXIST if another PUT committed first: write-once without a race.
    link(tempPath, entryPath).then(
      () => finish(200, 'stored'),
      (err: NodeJS.ErrnoException) =>
        finish(err.code === 'EEXIST' ? 409 : 403, err.code === 'EEXIST' ? 'already exists' : 'storage failed'),
    );
  });
  req.pipe(file);
}

function handleCacheRequest(
  req: IncomingMessage,
  res: ServerResponse,
  options: ReferenceServerOptions,
  tempDir: string,
): void {
  const target = parseCachePath(req.url);
  if (!target)
    return drainThen(req, () => sendText(res, req.url?.includes('/v1/cache/') ? 400 : 404, 'bad cache path'));
  const access = options.tokens ? options.tokens[bearerToken(req) ?? ''] : 'read-write';
  if (!access) return drainThen(req, () => sendText(res, 401, 'missing or unknown access token'));
  const namespaceDir = join(options.dataDir, target.namespace);
  mkdirSync(namespaceDir, { recursive: true });
  const entryPath = join(namespaceDir, target.hash);
  if (req.method === 'GET') return drainThen(req, () => serveEntry(res, entryPath));
  if (req.method !== 'PUT') return drainThen(req, () => sendText(res, 405, 'method not allowed'));
  if (access !== 'read-write') return drainThen(req, () => sendText(res, 403, 'read-only token'));
  const lengthHeader = req.headers['content-length'];
  if (lengthHeader === undefined || !/^\d+$/.test(lengthHeader))
    return drainThen(req, () => sendText(res, 411, 'length required'));
  const expectedBytes = Number(lengthHeader);
  if (expectedBytes > (options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES))
    return drainThen(req, () => sendText(res, 413, 'too large'));
  // exists() never rejects (a failed stat is `false`), so nothing is left unhandled.
  void exists(entryPath).then((found) => {
    if (found) drainThen(req, () => sendText(res, 409, 'already exists'));
    else storeEntry(req, res, entryPath, tempDir, expectedBytes);
  });
}

export async function startReferenceServer(options: ReferenceServerOptions): Promise<ReferenceServer> {
  const tempDir = join(options.dataDir, '.incoming');
  mkdirSync(tempDir, { recursive: true });
  const requests: ReferenceRequest[] = [];
  const server: Server = createServer((req, res) => {
    res.on('finish', () => requests.push({ method: req.method ?? '', url: req.url ?? '', status: res.statusCode }));
    const before = options.beforeEachRequest;
    if (!before) return handleCacheRequest(req, res, options, tempDir);
    before().then(
      () => handleCacheRequest(req, res, options, tempDir),
      () => {
        res.statusCode = 500;
        res.end();
      },
    );
  });
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolveListen());
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${address.address}:${address.port}`,
    dataDir: options.dataDir,
    requests,
    close: () =>
      new Promise<void>((resolveClose) => {
        server.closeAllConnections();
        server.close(() => resolveClose());
      }),
  };
}
