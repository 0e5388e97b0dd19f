import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import { SealedCacheError } from '../../errors';
import { randomBase62 } from '../ids';
import { FsBlobInventory } from '../retention/blob-inventory';
import {
  type BlobBackend,
  type BlobStore,
  type MissingBlob,
  type OpenedBlob,
  type StoredBlob,
  assertBlobKey,
} from './blob-store';

/** Blobs as files under `blobsDir`; uploads land in `tmpDir` (same filesystem) and are renamed into place. */
export class FsBlobStore implements BlobStore {
  constructor(
    private readonly blobsDir: string,
    private readonly tmpDir: string,
  ) {}

  private pathOf(key: string): string {
    assertBlobKey(key);
    return join(this.blobsDir, ...key.split('/'));
  }

  async put(key: string, body: AsyncIterable<Buffer>, expectedSize: number): Promise<StoredBlob> {
    const finalPath = this.pathOf(key);
    const tmpPath = join(this.tmpDir, `${randomBase62(20)}.upload`);
    const handle = await open(tmpPath, 'wx', 0o600);
    let published = false;
    try {
      const sha256 = createHash('sha256');
      let size = 0;
      for await (const chunk of body) {
        size += chunk.length;
        if (size > expectedSize) {
          throw new SealedCacheError(
            'ERR_CACHE_BODY_INCOMPLETE',
            `more than the announced ${expectedSize} bytes arrived`,
          );
        }
        sha256.update(chunk);
        await writeAll(handle, chunk);
      }
      if (size !== expectedSize) {
        throw new SealedCacheError(
          'ERR_CACHE_BODY_INCOMPLETE',
          `${size} of the announced ${expectedSize} bytes arrived`,
        );
      }
      await handle.sync();
      await handle.close();
      await mkdir(dirname(finalPath), { recursive: true, mode: 0o700 });
      await rename(tmpPath, finalPath);
      published = true;
      await syncDirectory(dirname(finalPath));
      return { size, sha256: sha256.digest('hex') };
    } finally {
      await handle.close().catch(() => undefined);
      if (!published) await rm(tmpPath, { force: true });
    }
  }

  async open(key: string): Promise<OpenedBlob | MissingBlob> {
    const path = this.pathOf(key);
    let handle;
    try {
      handle = await open(path, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { found: false };
      throw err;
    }
    const { size } = await handle.stat();
    const opened = handle;
    return {
      found: true,
      size,
      stream: () => createReadStream(path, { fd: opened, autoClose: true, start: 0 }),
      read: async () => {
        try {
          return await readExactly(opened, size);
        } finally {
          await opened.close();
        }
      },
      close: () => opened.close(),
    };
  }

  async delete(key: string): Promise<void> {
    await rm(this.pathOf(key), { force: true });
  }
}

async function readExactly(handle: import('node:fs/promises').FileHandle, size: number): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(size);
  let offset = 0;
  while (offset < size) {
    const { bytesRead } = await handle.read(buffer, offset, size - offset, offset);
    if (bytesRead === 0) throw new Error(`the blob ended after ${offset} of ${size} bytes`);
    offset += bytesRead;
  }
  return buffer;
}

async function writeAll(handle: import('node:fs/promises').FileHandle, chunk: Buffer): Promise<void> {
  let offset = 0;
  while (offset < chunk.length) {
    const { bytesWritten } = await handle.write(chunk, offset, chunk.length - offset);
    offset += bytesWritten;
  }
}

/** fsync the directory so the rename itself survives a power loss. */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir.endsWith(sep) ? dir : dir + sep, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** The data dir's own folders: `blobs/` and, for uploads in progress, `tmp/`. */
export function folderBlobBackend(blobsDir: string, tmpDir: string): BlobBackend {
  return {
    kind: 'folder',
    description: blobsDir,
    store: new FsBlobStore(blobsDir, tmpDir),
    inventory: new FsBlobInventory(blobsDir, tmpDir),
    probe: async () => {
      const probe = join(blobsDir, `.ready-probe-${randomBytes(6).toString('hex')}`);
      await writeFile(probe, 'ok', { flag: 'wx', mode: 0o600 });
      await rm(probe, { force: true });
    },
    close: async () => undefined,
  };
}
