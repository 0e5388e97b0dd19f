import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** Where everything lives inside `--data-dir`; tmp/ shares the filesystem with blobs/ so renames are atomic. */
export interface DataDirLayout {
  root: string;
  metadataFile: string;
  blobsDir: string;
  tmpDir: string;
  lockFile: string;
}

export function dataDirLayout(dataDir: string): DataDirLayout {
  const root = resolve(dataDir);
  return {
    root,
    metadataFile: join(root, 'metadata.sqlite'),
    blobsDir: join(root, 'blobs'),
    tmpDir: join(root, 'tmp'),
    lockFile: join(root, 'server.lock'),
  };
}

export function ensureDataDir(layout: DataDirLayout): void {
  for (const dir of [layout.root, layout.blobsDir, layout.tmpDir]) mkdirSync(dir, { recursive: true });
}

/** Half-written uploads from a previous run are never committed; the lock holder may delete them. */
export function clearTmpDir(layout: DataDirLayout): void {
  for (const name of readdirSync(layout.tmpDir)) rmSync(join(layout.tmpDir, name), { force: true, recursive: true });
}
