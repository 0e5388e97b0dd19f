/**
 * A BlobStore wrapper that knows which blobs are being read right now, so retention never deletes
 * one mid-stream: a delete of a blob in use is deferred until its last reader finishes.
 */
import type { Readable } from 'node:stream';
import type { BlobStore, MissingBlob, OpenOptions, OpenedBlob, StoredBlob } from '../storage/blob-store';

export class ReadTrackingBlobStore implements BlobStore {
  private readonly readers = new Map<string, number>();
  private readonly deferred = new Set<string>();

  constructor(
    private readonly inner: BlobStore,
    private readonly onDeferredDeleteError: (key: string, err: unknown) => void = () => undefined,
  ) {}

  put(key: string, body: AsyncIterable<Buffer>, expectedSize: number): Promise<StoredBlob> {
    return this.inner.put(key, body, expectedSize);
  }

  async open(key: string, options?: OpenOptions): Promise<OpenedBlob | MissingBlob> {
    this.acquire(key);
    let opened: OpenedBlob | MissingBlob;
    try {
      opened = await this.inner.open(key, options);
    } catch (err) {
      this.release(key);
      throw err;
    }
    if (!opened.found) {
      this.release(key);
      return opened;
    }
    return this.tracked(key, opened);
  }

  delete(key: string): Promise<void> {
    return this.inner.delete(key);
  }

  isReading(key: string): boolean {
    return this.readers.has(key);
  }

  /** Deletes now when nobody reads the blob, else when its last reader is done. */
  async deleteWhenIdle(key: string): Promise<'deleted' | 'deferred'> {
    if (this.readers.has(key)) {
      this.deferred.add(key);
      return 'deferred';
    }
    await this.inner.delete(key);
    return 'deleted';
  }

  private tracked(key: string, opened: OpenedBlob): OpenedBlob {
    let released = false;
    const releaseOnce = (): void => {
      if (released) return;
      released = true;
      this.release(key);
    };
    const tracked: OpenedBlob = {
      found: true,
      size: opened.size,
      stream: (): Readable => {
        const stream = opened.stream();
        stream.once('close', releaseOnce);
        return stream;
      },
      close: async () => {
        try {
          await opened.close();
        } finally {
          releaseOnce();
        }
      },
    };
    const read = opened.read?.bind(opened);
    if (read !== undefined)
      tracked.read = async () => {
        try {
          return await read();
        } finally {
          releaseOnce();
        }
      };
    return tracked;
  }

  private acquire(key: string): void {
    this.readers.set(key, (this.readers.get(key) ?? 0) + 1);
  }

  private release(key: string): void {
    const left = (this.readers.get(key) ?? 1) - 1;
    if (left > 0) {
      this.readers.set(key, left);
      return;
    }
    this.readers.delete(key);
    if (this.deferred.delete(key)) this.inner.delete(key).catch((err: unknown) => this.onDeferredDeleteError(key, err));
  }
}
