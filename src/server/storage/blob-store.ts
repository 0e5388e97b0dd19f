/**
 * Where artifact bytes live. A blob is written once under a unique key and never changed, so an
 * S3-compatible backend can implement this with plain object PUTs; which blob an entry points to is
 * decided by the metadata store, not here.
 */
import type { Readable } from 'node:stream';

export interface StoredBlob {
  size: number;
  sha256: string;
}

export interface OpenedBlob {
  found: true;
  size: number;
  /** Streams the whole blob; call at most once, or `close()` instead. */
  stream(): Readable;
  close(): Promise<void>;
}

/** Distinct from a fault: the key simply has no blob. */
export interface MissingBlob {
  found: false;
}

export interface BlobStore {
  /**
   * Streams `body` to a temporary location, requiring exactly `expectedSize` bytes, makes it durable,
   * then publishes it under `key` atomically. On any failure nothing is left under `key`.
   */
  put(key: string, body: AsyncIterable<Buffer>, expectedSize: number): Promise<StoredBlob>;
  open(key: string): Promise<OpenedBlob | MissingBlob>;
  delete(key: string): Promise<void>;
}
