/**
 * The two cache routes Nx calls. Every path ends in a status Nx treats as harmless: 200 or 404
 * for reads, 200, 403 or 409 for writes (after the body is drained), never 5xx.
 */
import fs from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ARTIFACT_READ_CHUNK } from '../archive/extract';
import { isSealedCacheError } from '../errors';
import { assertSafeArchiveFile, assertSafeArchiveStream } from './archive-check';
import type { InspectionPool } from '../archive/inspection-pool';
import { startDeadline } from './deadline';
import type { ProxyRun } from './run-registry';
import type { ProxyRunSession } from './run-session';
import { drainBody } from '../http/drain-body';
import {
  IN_MEMORY_ARTIFACT_LIMIT,
  type MemoryBudget,
  removeQuietly,
  spoolToFile,
  spoolToMemoryOrFile,
  tempArtifactPath,
  type Spooled,
} from './spool';

export interface CacheHandlerContext {
  tempDir: string;
  requestDeadlineMs: number;
  /** What restored artifacts may hold in memory together; the rest waits in temporary files. */
  memory: MemoryBudget;
  /** Checks an artifact held in memory, off the proxy's thread when it can. */
  inspection: InspectionPool;
}

export async function serveCacheGet(
  ctx: CacheHandlerContext,
  run: ProxyRun,
  hash: string,
  res: ServerResponse,
): Promise<void> {
  const deadline = startDeadline(ctx.requestDeadlineMs);
  const file = tempArtifactPath(ctx.tempDir, 'get');
  let upstream: Readable | null = null;
  let held: Spooled | null = null;
  // Bytes reserved for an artifact fetched whole: its stored size, held until the answer is sent.
  let reserved = 0;
  const holdInMemory = (length: number): boolean => {
    if (length > IN_MEMORY_ARTIFACT_LIMIT || !ctx.memory.reserve(length)) return false;
    reserved = length;
    return true;
  };
  // The session reports failures of the stream it handed out (tampered, wrong key); the rest are ours to report.
  let reportedBySession = false;
  try {
    const session = await deadline.race(run.session);
    if (session.mode === 'off') return answerMiss(run, hash, res);
    const fetched = session.fetchOpenedHeld
      ? await deadline.race(session.fetchOpenedHeld(hash, holdInMemory, deadline.signal))
      : await deadline.race(session.fetchOpened(hash, deadline.signal));
    if (!fetched) return answerMiss(run, hash, res);
    if (Buffer.isBuffer(fetched)) {
      // Verified and opened whole by the session (a failure there was a miss, reported by it).
      held = { kind: 'memory', data: fetched, bytes: fetched.length };
    } else {
      upstream = fetched;
      upstream.once('error', () => (reportedBySession = !deadline.signal.aborted));
      // The whole plaintext must arrive and verify before Nx sees a byte of it.
      held = await spoolToMemoryOrFile(upstream, file, deadline.signal, ctx.memory, IN_MEMORY_ARTIFACT_LIMIT, (bytes) =>
        assertSafeArchiveStream(bytes, run.policy),
      );
    }
    if (held.kind === 'memory') {
      // The bytes go to a worker thread and come back with the verdict: from here on, only the returned ones.
      // Past the deadline the pool drops the check, or stops its thread, so no abandoned check holds the bytes.
      const { data } = await deadline.race(ctx.inspection.inspect(held.data, run.policy, deadline.signal));
      held = { ...held, data };
    } else await deadline.race(held.inspection ?? assertSafeArchiveFile(held.file, run.policy));
    deadline.clear();
    await send(res, held);
    run.counters.hits += 1;
    run.counters.bytesDown += held.bytes;
  } catch (err) {
    upstream?.destroy();
    if (!reportedBySession) run.warn(describeFailure('read', err));
    if (!res.headersSent) answerMiss(run, hash, res);
    else res.destroy();
  } finally {
    deadline.clear();
    if (reserved > 0) ctx.memory.release(reserved);
    else if (held?.kind === 'memory') ctx.memory.release(held.bytes);
    else await removeQuietly(file);
  }
}

export async function serveCachePut(
  ctx: CacheHandlerContext,
  run: ProxyRun,
  hash: string,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const length = parseContentLength(req.headers['content-length']);
  // The run secret is visible to every task: it may only store what Nx itself just missed, once.
  if (!run.claimUpload(hash)) {
    await drainBody(req);
    run.warn(
      'nx-sealed-cache: refused an upload for a hash this run did not miss (or already uploaded); a task may be misusing the run secret.',
    );
    return answerRefused(run, res, 403);
  }
  const deadline = startDeadline(ctx.requestDeadlineMs);
  const file = tempArtifactPath(ctx.tempDir, 'put');
  try {
    const session = await deadline.race(run.session).catch(() => null);
    if (length === null || !session || session.mode !== 'read-write') {
      await drainBody(req);
      return answerRefused(run, res, 403);
    }
    const received = await spoolToFile(req, file, AbortSignal.timeout(ctx.requestDeadlineMs));
    if (received !== length) {
      return answerRefused(run, res, 403);
    }
    const outcome = await deadline.race(storeFromFile(session, hash, file, length, deadline.signal));
    if (outcome === 'stored') {
      run.counters.uploads += 1;
      run.counters.bytesUp += length;
      return answer(res, 200);
    }
    return answerRefused(run, res, outcome === 'exists' ? 409 : 403);
  } catch (err) {
    run.warn(describeFailure('write', err));
    if (!req.readableEnded) await drainBody(req);
    if (!res.headersSent) answerRefused(run, res, 403);
  } finally {
    deadline.clear();
    await removeQuietly(file);
  }
}

async function storeFromFile(
  session: ProxyRunSession,
  hash: string,
  file: string,
  length: number,
  signal: AbortSignal,
) {
  const plain = fs.createReadStream(file);
  try {
    return await session.storeSealed(hash, plain, length, signal);
  } finally {
    plain.destroy();
  }
}

async function send(res: ServerResponse, held: Spooled): Promise<void> {
  res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': String(held.bytes) });
  if (held.kind === 'file') {
    return pipeline(fs.createReadStream(held.file, { highWaterMark: ARTIFACT_READ_CHUNK }), res);
  }
  await new Promise<void>((resolve, reject) => {
    res.once('error', reject);
    res.end(held.data, () => resolve());
  });
}

function answerMiss(run: ProxyRun, hash: string, res: ServerResponse): void {
  run.recordMiss(hash);
  answer(res, 404);
}

function answerRefused(run: ProxyRun, res: ServerResponse, status: 403 | 409): void {
  run.counters.refusedUploads += 1;
  answer(res, status);
}

export function answer(res: ServerResponse, status: number, text = ''): void {
  // Nx shows a 401 body only when Content-Type is exactly text/plain (no charset).
  res.writeHead(status, { 'Content-Type': 'text/plain', 'Content-Length': String(Buffer.byteLength(text)) });
  res.end(text);
}

function parseContentLength(header: string | undefined): number | null {
  if (header === undefined || !/^\d{1,16}$/.test(header)) return null;
  const length = Number(header);
  return Number.isSafeInteger(length) ? length : null;
}

/** One line per kind of failure (the run's warnings are de-duplicated), never a secret. */
function describeFailure(direction: 'read' | 'write', err: unknown): string {
  const what = direction === 'read' ? 'treated as cache misses' : 'not uploaded';
  if (isSealedCacheError(err))
    return `nx-sealed-cache: remote cache ${direction} failed (${err.code}: ${err.message}); artifacts ${what}.`;
  const name = err instanceof Error ? err.name : 'unknown error';
  return `nx-sealed-cache: remote cache ${direction} failed (${name}); artifacts ${what}.`;
}
