/**
 * The HTTP client for one cache server, over undici with keep-alive. Every failure leaves here
 * as a SealedCacheError with a small, stable set of codes, and every response body is consumed
 * or destroyed so no socket is left hanging.
 */
import { type Readable, Transform, pipeline } from 'node:stream';
import { Agent, type Dispatcher } from 'undici';
import { ERROR_CODES, SealedCacheError, isSealedCacheError, type ErrorCode } from '../errors';
import { AccessResponse, ErrorBody } from '../protocol';
import type { ClientConfig } from './config';
import { buildAccessUrl, buildCacheUrl } from './server-url';

export type PutArtifactResult = 'stored' | 'exists' | 'denied';

/** What sessions need from a client; tests of one piece may hand in their own. */
export interface CacheServerPort {
  access(): Promise<AccessResponse>;
  getArtifact(hash: string): Promise<Readable | null>;
  /**
   * As getArtifact, but a body whose announced length `hold` accepts arrives whole in one buffer (exactly that many
   * bytes, or an error); any other body is getArtifact's stream. `signal` aborts the transfer. Optional for ports.
   */
  getArtifactHeld?(
    hash: string,
    hold: (length: number) => boolean,
    signal?: AbortSignal,
  ): Promise<Buffer | Readable | null>;
  putArtifact(hash: string, body: Readable, length: number): Promise<PutArtifactResult>;
  close(): Promise<void>;
}

const ERROR_BODY_LIMIT = 8 * 1024;
const KEEP_ALIVE_MS = 10_000;
/** Connections to the cache server at most, per client (the proxy: per proxy, shared by its runs). */
export const UPSTREAM_CONNECTIONS = 64;

/** The keep-alive pool a client uses unless handed one (the proxy shares one between its runs). */
export function createClientAgent(config: ClientConfig): Agent {
  return new Agent({
    // Nx 21+ asks the proxy for every task of a run at once: past this many connections to the server, requests
    // wait their turn here instead of each opening one (a server's per-address cap would close the surplus).
    connections: UPSTREAM_CONNECTIONS,
    keepAliveTimeout: KEEP_ALIVE_MS,
    connect: { timeout: config.timeouts.connectMs },
    headersTimeout: config.timeouts.requestMs,
    bodyTimeout: config.timeouts.requestMs,
  });
}

export class CacheServerClient implements CacheServerPort {
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;

  constructor(
    private readonly config: ClientConfig,
    dispatcher?: Dispatcher,
  ) {
    this.ownsDispatcher = dispatcher === undefined;
    this.dispatcher = dispatcher ?? createClientAgent(config);
  }

  async access(): Promise<AccessResponse> {
    const res = await this.send('GET', buildAccessUrl(this.config.url, this.config.workspaceId), {
      accept: 'application/json',
    });
    if (res.statusCode !== 200) throw await errorFromResponse(res, 'GET /v1/access');
    let json: unknown;
    try {
      json = await res.body.json();
    } catch (cause) {
      throw new SealedCacheError(
        'ERR_CLIENT_BAD_RESPONSE',
        'GET /v1/access: the server answered 200 with a body that is not JSON',
        { cause },
      );
    }
    const parsed = AccessResponse.safeParse(json);
    if (!parsed.success) {
      throw new SealedCacheError(
        'ERR_CLIENT_BAD_RESPONSE',
        'GET /v1/access: the answer does not match the access contract (is this an nx-sealed-cache server?)',
      );
    }
    return parsed.data;
  }

  /** The raw (possibly sealed) artifact, or null on a miss. The stream errors if it grows past maxArtifactBytes. */
  async getArtifact(hash: string): Promise<Readable | null> {
    return this.getArtifactHeld(hash, () => false) as Promise<Readable | null>;
  }

  async getArtifactHeld(
    hash: string,
    hold: (length: number) => boolean,
    signal?: AbortSignal,
  ): Promise<Buffer | Readable | null> {
    const url = buildCacheUrl(this.config.url, this.config.workspaceId, hash);
    const res = await this.send('GET', url, { accept: 'application/octet-stream' }, undefined, signal);
    if (res.statusCode === 404) {
      await discard(res.body);
      return null;
    }
    if (res.statusCode !== 200) throw await errorFromResponse(res, 'GET /v1/cache');
    const announced = Number(res.headers['content-length']);
    if (Number.isFinite(announced) && announced > this.config.maxArtifactBytes) {
      destroyQuietly(res.body);
      throw new SealedCacheError(
        'ERR_CLIENT_BAD_RESPONSE',
        `GET /v1/cache: the artifact (${announced} bytes) is larger than maxArtifactBytes (${this.config.maxArtifactBytes})`,
      );
    }
    if (Number.isSafeInteger(announced) && announced >= 0 && hold(announced)) {
      return readWhole(res.body, announced, (err) => classifyTransportError(err, 'GET /v1/cache', this.config.url));
    }
    const limiter = createByteLimit(this.config.maxArtifactBytes);
    return pipeline(res.body, limiter, () => undefined) as Transform;
  }

  async putArtifact(hash: string, body: Readable, length: number): Promise<PutArtifactResult> {
    const url = buildCacheUrl(this.config.url, this.config.workspaceId, hash);
    try {
      const res = await this.send(
        'PUT',
        url,
        { 'content-type': 'application/octet-stream', 'content-length': String(length) },
        body,
      );
      if (res.statusCode === 200 || res.statusCode === 201 || res.statusCode === 204) {
        await discard(res.body);
        return 'stored';
      }
      if (res.statusCode === 409) {
        await discard(res.body);
        return 'exists';
      }
      if (res.statusCode === 403) {
        await discard(res.body);
        return 'denied';
      }
      throw await errorFromResponse(res, 'PUT /v1/cache');
    } finally {
      // The server may answer before reading everything; the source must not stay open.
      if (!body.readableEnded) destroyQuietly(body);
    }
  }

  async close(): Promise<void> {
    if (this.ownsDispatcher) await this.dispatcher.close();
  }

  private async send(
    method: 'GET' | 'PUT',
    url: string,
    headers: Record<string, string>,
    body?: Readable,
    signal?: AbortSignal,
  ): Promise<Dispatcher.ResponseData> {
    const target = new URL(url);
    const token = this.config.credential.token;
    try {
      return await this.dispatcher.request({
        origin: target.origin,
        path: target.pathname,
        method,
        headers: token ? { ...headers, authorization: `Bearer ${token}` } : headers,
        body: body ?? null,
        headersTimeout: this.config.timeouts.requestMs,
        bodyTimeout: this.config.timeouts.requestMs,
        ...(signal ? { signal } : {}),
      });
    } catch (err) {
      throw classifyTransportError(err, `${method} ${target.pathname}`, this.config.url);
    }
  }
}

const TIMEOUT_CODES = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ETIMEDOUT',
]);
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_DESTROYED',
]);

/** Maps undici/socket errors onto our codes; errors that are already ours (e.g. from a seal stream) pass through. */
export function classifyTransportError(err: unknown, what: string, serverUrl: string): SealedCacheError {
  if (isSealedCacheError(err)) return err;
  const code = errorCode(err);
  if (code && TIMEOUT_CODES.has(code)) {
    return new SealedCacheError('ERR_CLIENT_TIMEOUT', `${what}: ${serverUrl} did not answer in time (${code})`, {
      cause: err,
    });
  }
  if (code && UNREACHABLE_CODES.has(code)) {
    return new SealedCacheError('ERR_CLIENT_UNREACHABLE', `${what}: cannot reach ${serverUrl} (${code})`, {
      cause: err,
    });
  }
  return new SealedCacheError(
    'ERR_CLIENT_BAD_RESPONSE',
    `${what}: request to ${serverUrl} failed (${code ?? (err instanceof Error ? err.name : 'unknown error')})`,
    { cause: err },
  );
}

/** Reads the server's code from an ErrorBody (JSON) or a text/plain 401, and keeps auth and cache codes as they are. */
export async function errorFromResponse(res: Dispatcher.ResponseData, what: string): Promise<SealedCacheError> {
  const text = await readCapped(res.body, ERROR_BODY_LIMIT);
  const { code: serverCode, message: serverMessage } = parseErrorText(text);
  const status = res.statusCode;
  const detail = serverMessage ? `: ${serverMessage}` : '';
  if (serverCode && (serverCode.startsWith('ERR_AUTH_') || serverCode.startsWith('ERR_CACHE_'))) {
    return new SealedCacheError(serverCode, `${what} answered ${status} ${serverCode}${detail}`);
  }
  if (status === 401) return new SealedCacheError('ERR_AUTH_TOKEN_INVALID', `${what} answered 401${detail}`);
  if (status === 403) return new SealedCacheError('ERR_AUTH_FORBIDDEN', `${what} answered 403${detail}`);
  if (status === 429) return new SealedCacheError('ERR_AUTH_RATE_LIMITED', `${what} answered 429${detail}`);
  return new SealedCacheError(
    'ERR_CLIENT_BAD_RESPONSE',
    `${what} answered ${status}${serverCode ? ` ${serverCode}` : ''}${detail}`,
  );
}

function parseErrorText(text: string): { code?: ErrorCode; message?: string } {
  try {
    const parsed = ErrorBody.safeParse(JSON.parse(text));
    if (parsed.success) return { code: knownCode(parsed.data.error.code), message: oneLine(parsed.data.error.message) };
  } catch {
    // Not JSON: cache-route 401s are text/plain by design.
  }
  if (looksLikeHtml(text)) return { message: summariseHtml(text) };
  const match = /\bERR_[A-Z_]+\b/.exec(text);
  return { code: match ? knownCode(match[0]) : undefined, message: text.trim() ? oneLine(text) : undefined };
}

const looksLikeHtml = (text: string): boolean => /^\s*(<!doctype html|<html|<head|<body)/i.test(text);

/** A proxy's or load balancer's error page in a few words (its title), never the whole markup. */
export function summariseHtml(text: string): string {
  const title = /<title[^>]*>([^<]*)<\/title>/i.exec(text)?.[1] ?? /<h1[^>]*>([^<]*)<\/h1>/i.exec(text)?.[1];
  const words = title === undefined ? '' : oneLine(title.replace(/&[a-z#0-9]+;/gi, ' ')).slice(0, 120);
  return `an HTML page${words ? ` ("${words}")` : ''}, not an nx-sealed-cache server's answer (a proxy or another server at this URL?)`;
}

function knownCode(code: string): ErrorCode | undefined {
  return Object.prototype.hasOwnProperty.call(ERROR_CODES, code) ? (code as ErrorCode) : undefined;
}

function oneLine(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 300 ? `${flat.slice(0, 300)}…` : flat;
}

function errorCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const own = (err as { code?: unknown }).code;
  if (typeof own === 'string') return own;
  return errorCode((err as { cause?: unknown }).cause);
}

/** At most `limit` bytes of a body as text; the body is always consumed or destroyed. */
export async function readCapped(body: Readable, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
      chunks.push(buf);
      size += buf.length;
      if (size >= limit) break;
    }
  } catch {
    // A broken error body still leaves us the status code.
  } finally {
    destroyQuietly(body);
  }
  return Buffer.concat(chunks).subarray(0, limit).toString('utf8');
}

/** Exactly `length` bytes of `body` in one buffer, copied once; a body longer or shorter than announced is an error. */
async function readWhole(
  body: Readable,
  length: number,
  classify: (err: unknown) => SealedCacheError,
): Promise<Buffer> {
  const data = Buffer.allocUnsafe(length);
  let at = 0;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      if (at + chunk.length > length) throw badLength('longer');
      at += chunk.copy(data, at);
    }
  } catch (err) {
    destroyQuietly(body);
    throw classify(err);
  }
  if (at !== length) throw badLength('shorter');
  return data;
}

function badLength(which: 'longer' | 'shorter'): SealedCacheError {
  return new SealedCacheError('ERR_CLIENT_BAD_RESPONSE', `GET /v1/cache: the body is ${which} than its Content-Length`);
}

async function discard(body: Readable): Promise<void> {
  try {
    for await (const _chunk of body) {
      // Drained so the connection can be reused.
    }
  } catch {
    destroyQuietly(body);
  }
}

/** undici emits an abort error when a body is destroyed early; nobody else listens, so swallow it here. */
function destroyQuietly(body: Readable): void {
  body.on('error', () => undefined);
  body.destroy();
}

function createByteLimit(maxBytes: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.length;
      if (seen > maxBytes) {
        callback(
          new SealedCacheError(
            'ERR_CLIENT_BAD_RESPONSE',
            `GET /v1/cache: the artifact is larger than maxArtifactBytes (${maxBytes})`,
          ),
        );
        return;
      }
      callback(null, chunk);
    },
  });
}
