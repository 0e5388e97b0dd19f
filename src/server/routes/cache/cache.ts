/**
 * Nx's self-hosted cache spec: GET/PUT /v1/cache/:hash, also under /w/:workspaceId.
 * Answers are chosen for how Nx reacts (docs/operations.md, Limits): GET never 5xx, PUT refusals are 403/409
 * after the body is drained, 401 bodies are exactly text/plain so Nx prints them.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { SealedCacheError } from '../../../errors';
import { checkUploadOnTheWay } from '../../artifact-gate';
import { CACHE_HASH_PATTERN } from '../../../protocol';
import { workspaceAccessOf } from '../../auth/route-auth';
import { permit } from '../../auth/route-policy';
import { drainBody } from '../../../http/drain-body';
import { statusOf, toSealedCacheError } from '../../http-errors';
import { newUploadId } from '../../ids';
import type { ServerContext } from '../../server-context';
import { findVisibleEntry, knownEntriesOf, placementOfRequest, requireWritable } from '../../tiers/tier-lookup';
import { blobFolderOf } from '../../tiers/write-tier';

/** Artifacts up to this size are read whole and sent from memory; larger ones stream. */
const IN_MEMORY_READ_LIMIT = 64 * 1024;

/** last_access_at (retention's LRU order) is refreshed at most once a minute per entry, so most hits stay read-only. */
const ACCESS_TOUCH_INTERVAL_MS = 60 * 1000;

interface CacheParams {
  hash: string;
  workspaceId?: string;
}

function validateHash(request: FastifyRequest): void {
  const { hash } = request.params as CacheParams;
  if (!CACHE_HASH_PATTERN.test(hash)) {
    throw new SealedCacheError(
      'ERR_CACHE_HASH_INVALID',
      `the hash must be 1-128 characters of [A-Za-z0-9_-] (got ${hash.length} characters)`,
    );
  }
}

function contentLengthOf(request: FastifyRequest, maxArtifactSize: number): number {
  const header = request.headers['content-length'];
  if (header === undefined) {
    throw new SealedCacheError(
      'ERR_CACHE_LENGTH_REQUIRED',
      'a PUT must carry Content-Length (chunked uploads are not accepted)',
    );
  }
  const length = Number(header);
  if (!/^\d+$/.test(header) || !Number.isSafeInteger(length)) {
    throw new SealedCacheError('ERR_CACHE_LENGTH_REQUIRED', 'Content-Length is not a byte count');
  }
  if (length > maxArtifactSize) {
    throw new SealedCacheError(
      'ERR_CACHE_BODY_TOO_LARGE',
      `the artifact is ${length} bytes; this server accepts at most ${maxArtifactSize}`,
    );
  }
  return length;
}

async function getEntry(ctx: ServerContext, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const { hash } = request.params as CacheParams;
  const { workspace } = workspaceAccessOf(request);
  const entry = await findVisibleEntry(
    ctx.store,
    workspace.id,
    placementOfRequest(request),
    hash,
    knownEntriesOf(request),
  );
  if (entry === undefined) return reply.code(404).type('text/plain').send('not found');
  const blob = await ctx.blobs.open(entry.blobKey, { serve: true });
  if (!blob.found || blob.size !== entry.size) {
    if (blob.found) await blob.close();
    ctx.counters.storageFaultMisses++;
    request.log.warn(
      { hash, workspaceId: workspace.id, blobKey: entry.blobKey, found: blob.found },
      'cache entry has a missing or short blob; answering a miss',
    );
    return reply.code(404).type('text/plain').send('not found');
  }
  const now = ctx.clock();
  if (now.getTime() - Date.parse(entry.lastAccessAt) >= ACCESS_TOUCH_INTERVAL_MS) {
    await ctx.store
      .touchEntryAccess(workspace.id, entry.namespace, hash, now.toISOString())
      .catch((err: unknown) => request.log.warn({ err }, 'could not update last access time'));
  }
  // A small artifact in one read is cheaper than a stream (most of Nx's are a few KiB).
  const body = blob.size <= IN_MEMORY_READ_LIMIT && blob.read ? await blob.read() : blob.stream();
  return reply
    .code(200)
    .header('content-type', 'application/octet-stream')
    .header('content-length', String(blob.size))
    .send(body);
}

async function storeBlob(
  ctx: ServerContext,
  request: FastifyRequest,
  blobKey: string,
  length: number,
  body: AsyncIterable<Buffer>,
): Promise<{ size: number; sha256: string }> {
  try {
    return await ctx.blobs.put(blobKey, body, length);
  } catch (err) {
    if (err instanceof SealedCacheError) throw err;
    // Only a body cut short by the client is incomplete; a write failing after the body ended (fsync) is storage.
    if (request.raw.destroyed && !request.raw.complete) {
      throw new SealedCacheError(
        'ERR_CACHE_BODY_INCOMPLETE',
        'the client closed the connection before the whole body arrived; nothing was stored',
        { cause: err },
      );
    }
    throw new SealedCacheError('ERR_CACHE_STORAGE_FAILED', 'storage refused the write; nothing was stored', {
      cause: err,
    });
  }
}

async function putEntry(ctx: ServerContext, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const { hash } = request.params as CacheParams;
  const { workspace, principal } = workspaceAccessOf(request);
  const length = contentLengthOf(request, ctx.config.maxArtifactSize);
  const namespace = await requireWritable(
    ctx.store,
    workspace.id,
    placementOfRequest(request),
    hash,
    knownEntriesOf(request),
  );
  const blobKey = `${workspace.id}/${blobFolderOf(namespace)}/${hash}.${newUploadId()}`;
  // Not destroyed when storage fails mid-body (a full disk), so the rest can be drained and Nx reads our 403.
  const check = checkUploadOnTheWay(request.raw.iterator({ destroyOnReturn: false }));
  const stored = await storeBlob(ctx, request, blobKey, length, check.body);
  // The blob is not an entry yet, so no reader can see it before the check's verdict.
  try {
    await check.verdict();
  } catch (err) {
    await ctx.blobs.delete(blobKey);
    throw err;
  }
  const now = ctx.clock().toISOString();
  const token = principal.kind === 'token' ? principal.token : undefined;
  let inserted;
  try {
    inserted = await ctx.store.insertEntry({
      workspaceId: workspace.id,
      namespace,
      hash,
      blobKey,
      size: stored.size,
      sha256: stored.sha256,
      writerTokenId: token?.id ?? null,
      writerUserId: token?.userId ?? null,
      createdAt: now,
      lastAccessAt: now,
    });
  } catch (err) {
    await ctx.blobs.delete(blobKey);
    throw new SealedCacheError('ERR_CACHE_STORAGE_FAILED', 'recording the entry failed; nothing was stored', {
      cause: err,
    });
  }
  if (inserted === 'exists') {
    await ctx.blobs.delete(blobKey);
    throw new SealedCacheError('ERR_CACHE_ENTRY_EXISTS', `an entry for hash ${hash} already exists`);
  }
  return reply.code(200).type('text/plain').send('stored');
}

/** Cache-route errors: drain PUT bodies, never 5xx, plain-text one-line reasons. */
async function answerCacheError(
  ctx: ServerContext,
  error: unknown,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply> {
  let err = toSealedCacheError(error);
  const status = statusOf(err);
  if (status >= 500) request.log.error({ err: error }, 'cache request failed');
  if (request.method === 'GET' && status >= 500) {
    return reply.code(404).type('text/plain').send('not found');
  }
  if (status >= 500)
    err = new SealedCacheError(
      'ERR_CACHE_STORAGE_FAILED',
      'the server could not store this artifact; nothing was stored',
    );
  if (request.method === 'PUT' && !(await drainBody(request.raw, ctx.config.drainLimit))) {
    reply.header('connection', 'close');
  }
  return reply.code(statusOf(err)).header('content-type', 'text/plain').send(`${err.code}: ${err.message}`);
}

export async function cacheRoutes(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  // PUT bodies are streamed to storage by the handler; no parser may consume them first.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null));
  app.setErrorHandler((error, request, reply) => answerCacheError(ctx, error, request, reply));
  for (const prefix of ['', '/w/:workspaceId']) {
    app.get(
      `${prefix}/v1/cache/:hash`,
      { ...permit('cache.read', 'cache'), onRequest: async (request) => validateHash(request) },
      (request, reply) => getEntry(ctx, request, reply),
    );
    app.put(
      `${prefix}/v1/cache/:hash`,
      { ...permit('cache.write', 'cache'), onRequest: async (request) => validateHash(request) },
      (request, reply) => putEntry(ctx, request, reply),
    );
  }
}
