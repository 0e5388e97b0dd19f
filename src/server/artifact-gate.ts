/**
 * The server's own look at an upload before it becomes an entry: a sealed blob is opaque and checked by
 * every sealing client when it opens it, but an unsealed one goes straight to bare Nx clients, some of
 * which extract without guards (CVE-2026-71476). Those are read by the same rules as the sealing proxy.
 */
import type { Readable } from 'node:stream';
import { SERVER_ARTIFACT_POLICY, inspectArtifact } from '../archive/artifact-inspection';
import { isSealed } from '../crypto/sealed-format';
import { SealedCacheError, isSealedCacheError } from '../errors';
import type { BlobStore } from './storage/blob-store';

const SEAL_HEAD_BYTES = 5;

/** Resolves for a sealed blob, a body that is no gzip, or a safe Nx artifact; throws ERR_CACHE_ARTIFACT_UNSAFE (403) otherwise. */
export async function assertSafeUpload(blobs: BlobStore, blobKey: string): Promise<void> {
  const open = async (): Promise<Readable> => {
    const blob = await blobs.open(blobKey);
    if (!blob.found)
      throw new SealedCacheError(
        'ERR_CACHE_STORAGE_FAILED',
        'the upload vanished from storage before it could be checked',
      );
    return blob.stream();
  };
  const head = await readHead(await open());
  // Sealed: opaque here, checked by the sealing client that opens it. Not gzip: Nx cannot extract it at all.
  if (isSealed(head) || !(head[0] === 0x1f && head[1] === 0x8b)) return;
  try {
    await inspectArtifact(open, SERVER_ARTIFACT_POLICY);
  } catch (err) {
    if (isSealedCacheError(err) && err.code === 'ERR_CACHE_STORAGE_FAILED') throw err;
    const why = isSealedCacheError(err) ? `${err.message} [${err.code}]` : 'it is not a readable gzip tar';
    throw new SealedCacheError(
      'ERR_CACHE_ARTIFACT_UNSAFE',
      `the upload is not sealed and not a safe Nx artifact: ${why}`,
      { cause: err },
    );
  }
}

async function readHead(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  let length = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      parts.push(chunk);
      length += chunk.length;
      if (length >= SEAL_HEAD_BYTES) break;
    }
  } finally {
    stream.destroy();
  }
  return Buffer.concat(parts).subarray(0, SEAL_HEAD_BYTES);
}
