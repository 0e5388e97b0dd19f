/**
 * Small blobs of a remote blob store (S3) that cache hits served, kept in memory for a few seconds. Needs
 * no invalidation across replicas: a blob is written once under a unique upload key and never changed, and
 * which blob is served is decided by the metadata row read on every request, so a quarantined, purged or
 * evicted entry is not served from here either. Only an object deleted from outside the server (not through
 * it) can still be served, until its few seconds are over. Saves a bucket round trip per hit on the
 * artifacts many runners restore at once.
 */
import { Readable } from 'node:stream';
import { SealedCacheError } from '../../errors';
import type { Clock } from '../clock';
import type { BlobStore, MissingBlob, OpenOptions, OpenedBlob } from './blob-store';

/** Blobs up to this size are kept (the cache route reads them whole anyway). */
export const SMALL_BLOB_LIMIT = 64 * 1024;
/** At most this many bytes are kept per process; the least recently used go first. */
export const SMALL_BLOB_CACHE_BYTES = 32 * 1024 * 1024;
/** How long a kept blob is served from memory after it was read from the store. */
export const SMALL_BLOB_TTL_MS = 10_000;

function fromMemory(bytes: Buffer): OpenedBlob {
  return {
    found: true,
    size: bytes.length,
    stream: () => Readable.from([bytes]),
    read: async () => bytes,
    close: async () => undefined,
  };
}

async function readWhole(blob: OpenedBlob): Promise<Buffer> {
  if (blob.read) return blob.read();
  const chunks: Buffer[] = [];
  for await (const chunk of blob.stream()) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export class SmallBlobCache implements BlobStore {
  private readonly blobs = new Map<string, { bytes: Buffer; readAt: number }>();
  private bytes = 0;

  constructor(
    private readonly inner: BlobStore,
    private readonly clock: Clock,
    private readonly capacity = SMALL_BLOB_CACHE_BYTES,
  ) {}

  put: BlobStore['put'] = (key, body, expectedSize) => this.inner.put(key, body, expectedSize);

  /** Only `{ serve: true }` opens (cache hits) use and fill the memory; an upload's inspection does not. */
  async open(key: string, options: OpenOptions = {}): Promise<OpenedBlob | MissingBlob> {
    if (options.serve !== true) return this.inner.open(key, options);
    const known = this.blobs.get(key);
    if (known !== undefined && this.clock().getTime() - known.readAt < SMALL_BLOB_TTL_MS) {
      this.blobs.delete(key);
      this.blobs.set(key, known);
      return fromMemory(known.bytes);
    }
    this.forget(key);
    const blob = await this.inner.open(key, options);
    if (!blob.found || blob.size > SMALL_BLOB_LIMIT) return blob;
    const bytes = await readWhole(blob);
    if (bytes.length !== blob.size)
      throw new SealedCacheError(
        'ERR_BLOB_STORE_UNAVAILABLE',
        `the blob store answered ${bytes.length} of ${blob.size} bytes`,
      );
    this.remember(key, bytes);
    return fromMemory(bytes);
  }

  async delete(key: string): Promise<void> {
    this.forget(key);
    await this.inner.delete(key);
  }

  private remember(key: string, bytes: Buffer): void {
    this.blobs.set(key, { bytes, readAt: this.clock().getTime() });
    this.bytes += bytes.length;
    for (const [oldest, value] of this.blobs) {
      if (this.bytes <= this.capacity) break;
      this.blobs.delete(oldest);
      this.bytes -= value.bytes.length;
    }
  }

  private forget(key: string): void {
    const known = this.blobs.get(key);
    if (known === undefined) return;
    this.blobs.delete(key);
    this.bytes -= known.bytes.length;
  }
}
