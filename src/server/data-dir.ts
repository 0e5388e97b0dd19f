import { chmodSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SealedCacheError } from '../errors';

/** Only the service user may list or read what the server keeps (hash names, the database, blobs). */
export const DATA_DIR_MODE = 0o700;

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

/**
 * Creates the folders 0700, and tightens existing ones that other local users could open (an older
 * version made them 0755); refuses to start when that is not permitted. Returns what it tightened,
 * so the caller can say so.
 */
export function ensureDataDir(layout: DataDirLayout): string[] {
  const tightened: string[] = [];
  for (const dir of [layout.root, layout.blobsDir, layout.tmpDir]) {
    mkdirSync(dir, { recursive: true, mode: DATA_DIR_MODE });
    if (process.platform === 'win32') continue;
    const mode = statSync(dir).mode & 0o777;
    if ((mode & 0o077) === 0) continue;
    try {
      chmodSync(dir, mode & 0o700);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      throw new SealedCacheError(
        'ERR_CONFIG_INVALID',
        `data dir folder ${dir} is open to other users (mode ${mode.toString(8)}) and could not be tightened (${code}); run \`chmod 700 ${dir}\` as its owner`,
        { cause: err },
      );
    }
    tightened.push(`${dir} (was ${mode.toString(8)})`);
  }
  return tightened;
}

/** Half-written uploads from a previous run are never committed; the lock holder may delete them. */
export function clearTmpDir(layout: DataDirLayout): void {
  for (const name of readdirSync(layout.tmpDir)) rmSync(join(layout.tmpDir, name), { force: true, recursive: true });
}
