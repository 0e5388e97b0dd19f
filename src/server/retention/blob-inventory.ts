/** What retention sees of the blob folder: every blob with its age, and stale upload files in tmp/. */
import { readdir, rm, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type { BlobInventory, InventoryFile } from '../storage/blob-store';

export type { BlobInventory, InventoryFile } from '../storage/blob-store';

/** The filesystem inventory of FsBlobStore's layout. */
export class FsBlobInventory implements BlobInventory {
  constructor(
    private readonly blobsDir: string,
    private readonly tmpDir: string,
  ) {}

  async *blobs(): AsyncIterable<InventoryFile> {
    for await (const path of walk(this.blobsDir)) {
      const info = await stat(path).catch(() => undefined);
      if (info?.isFile())
        yield { name: relative(this.blobsDir, path).split(sep).join('/'), modifiedAt: info.mtimeMs, size: info.size };
    }
  }

  async *tmpFiles(): AsyncIterable<InventoryFile> {
    for (const name of await readdir(this.tmpDir).catch(() => [] as string[])) {
      const info = await stat(join(this.tmpDir, name)).catch(() => undefined);
      if (info !== undefined) yield { name, modifiedAt: info.mtimeMs, size: info.size };
    }
  }

  async removeBlob(key: string): Promise<void> {
    await rm(join(this.blobsDir, ...key.split('/')), { force: true });
  }

  async removeTmp(name: string): Promise<void> {
    await rm(join(this.tmpDir, name), { force: true, recursive: true });
  }
}

async function* walk(dir: string): AsyncIterable<string> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(path);
    else yield path;
  }
}
