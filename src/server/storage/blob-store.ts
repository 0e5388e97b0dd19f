/**
 * Where artifact bytes live. A blob is written once under a unique key and never changed, so an
 * S3-compatible backend implements this with plain object PUTs (no conditional writes); which blob an
 * entry points to is decided by the metadata store, not here: the entry row is the commit point.
 */
import type { Readable } from 'node:stream';
import { SealedCacheError } from '../../errors';

export interface StoredBlob {
  size: number;
  sha256: string;
}

export interface OpenedBlob {
  found: true;
  size: number;
  /** Streams the whole blob; call at most once, or `close()` instead. */
  stream(): Readable;
  /**
   * Where a store can, the whole blob in memory, closed afterwards (for small blobs: cheaper than a stream);
   * call at most once, instead of `stream()` or `close()`. Fails if the blob is shorter than `size`.
   */
  read?(): Promise<Buffer>;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** A cache hit being answered: a store may serve it from a short-lived memory (small-blob-cache.ts). */
  serve?: boolean;
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
  open(key: string, options?: OpenOptions): Promise<OpenedBlob | MissingBlob>;
  delete(key: string): Promise<void>;
}

export interface InventoryFile {
  /** Blob key (`workspace/folder/hash.upload`) or the name of an unfinished upload. */
  name: string;
  modifiedAt: number;
  size: number;
}

/** What retention needs to see of a blob store: every blob with its age, and unfinished uploads. */
export interface BlobInventory {
  blobs(): AsyncIterable<InventoryFile>;
  tmpFiles(): AsyncIterable<InventoryFile>;
  removeBlob(key: string): Promise<void>;
  removeTmp(name: string): Promise<void>;
}

/** One configured place for blobs, opened once per server: the store, its inventory and a readiness probe. */
export interface BlobBackend {
  kind: 'folder' | 's3';
  /** For logs and progress lines: never carries a credential. */
  description: string;
  store: BlobStore;
  inventory: BlobInventory;
  /** Resolves when the backend takes a write right now (readiness); rejects with the fault otherwise. */
  probe(): Promise<void>;
  close(): Promise<void>;
}

const BLOB_KEY_PATTERN = /^[A-Za-z0-9_-]+(\/[A-Za-z0-9_.-]+)*$/;

/** Keys are built by the server from validated parts; this guards against a future caller's mistake. */
export function assertBlobKey(key: string): void {
  if (!BLOB_KEY_PATTERN.test(key) || key.split('/').some((part) => part === '.' || part === '..')) {
    throw new SealedCacheError('ERR_INTERNAL', `refusing blob key of unexpected shape (${key.length} characters)`);
  }
}
