/**
 * A backup of a serving server as one tar stream: every blob an entry points to (`blobs/<key>`), then the
 * metadata database as it was when the backup began (`metadata.sqlite`), then `backup.json`. Blobs are
 * read through the read tracker, so retention defers deleting one being copied; an entry whose blob is
 * gone by the time it is reached is dropped from the copied database, so the backup has no row without
 * its blob. Unpacked, the folder is a data directory `serve --data-dir` starts on.
 */
import { createReadStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Database as WasmDatabase } from 'node-sqlite3-wasm';
import { pack as tarPack } from 'tar-stream';
import type { BlobStore } from '../storage/blob-store';
import type { MetadataStore } from '../metadata/metadata-store';
import { type EntryBlobRow, entryBlobRows, entryTotals } from '../metadata/sqlite-file-entries';
import { randomBase62 } from '../ids';

export const BACKUP_FORMAT = 1;
export const BACKUP_METADATA_FILE = 'metadata.sqlite';
export const BACKUP_MANIFEST_FILE = 'backup.json';
export const BACKUP_BLOBS_DIR = 'blobs';

export interface BackupManifest {
  format: typeof BACKUP_FORMAT;
  serverVersion: string;
  createdAt: string;
  /** Entry rows in the copied database, and the bytes of their blobs. */
  entries: number;
  bytes: number;
  /** false when only the database was asked for (blobs kept by the bucket's own means). */
  blobs: boolean;
  /** Rows dropped because their blob was removed (retention) while the backup ran. */
  droppedWithoutBlob: number;
}

export interface BackupInput {
  store: MetadataStore;
  blobs: BlobStore;
  tmpDir: string;
  includeBlobs: boolean;
  serverVersion: string;
  now: () => Date;
}

export interface BackupStream {
  /** Entries and bytes in the database copy, before any is dropped: for the client's progress line. */
  planned: { entries: number; bytes: number };
  stream: Readable;
}

export async function startBackup(input: BackupInput): Promise<BackupStream> {
  const snapshotFile = join(input.tmpDir, `backup-${randomBase62(16)}.sqlite`);
  let snapshot: WasmDatabase | undefined;
  try {
    await input.store.snapshotInto(snapshotFile);
    snapshot = new WasmDatabase(snapshotFile);
    const planned = entryTotals(snapshot);
    const tar = tarPack();
    const db = snapshot;
    void writeBackup(input, db, snapshotFile, tar).then(
      () => tar.finalize(),
      (err: unknown) => tar.destroy(err instanceof Error ? err : new Error(String(err))),
    );
    // tar-stream's streams are streamx ones; the route and fastify get a Node stream.
    const stream = Readable.from(tar as AsyncIterable<Buffer>, { objectMode: false });
    stream.once('close', () => tar.destroy());
    return { planned, stream };
  } catch (err) {
    snapshot?.close();
    await rm(snapshotFile, { force: true });
    throw err;
  }
}

async function writeBackup(
  input: BackupInput,
  db: WasmDatabase,
  snapshotFile: string,
  tar: ReturnType<typeof tarPack>,
): Promise<void> {
  let closed = false;
  try {
    let dropped = 0;
    if (input.includeBlobs) {
      const gone: string[] = [];
      for (const row of entryBlobRows(db)) {
        if (!(await copyBlob(input.blobs, row, tar))) gone.push(row.blobKey);
      }
      for (const key of gone) db.run('DELETE FROM entries WHERE blob_key = ?', [key]);
      dropped = gone.length;
    }
    const kept = entryTotals(db);
    db.close();
    closed = true;
    const { size } = await stat(snapshotFile);
    await addEntry(tar, BACKUP_METADATA_FILE, size, createReadStream(snapshotFile));
    const manifest: BackupManifest = {
      format: BACKUP_FORMAT,
      serverVersion: input.serverVersion,
      createdAt: input.now().toISOString(),
      entries: kept.entries,
      bytes: kept.bytes,
      blobs: input.includeBlobs,
      droppedWithoutBlob: dropped,
    };
    const text = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`);
    await addEntry(tar, BACKUP_MANIFEST_FILE, text.length, Readable.from([text]));
  } finally {
    if (!closed) db.close();
    await rm(snapshotFile, { force: true });
  }
}

/** False when the blob is gone or not the size its row says (then it is left out with its row). */
async function copyBlob(blobs: BlobStore, row: EntryBlobRow, tar: ReturnType<typeof tarPack>): Promise<boolean> {
  const blob = await blobs.open(row.blobKey);
  if (!blob.found) return false;
  if (blob.size !== row.size) {
    await blob.close();
    return false;
  }
  await addEntry(tar, `${BACKUP_BLOBS_DIR}/${row.blobKey}`, blob.size, blob.stream());
  return true;
}

/** Resolves once the entry's bytes are in the pack, which gives backpressure from the client down to the blob. */
function addEntry(tar: ReturnType<typeof tarPack>, name: string, size: number, body: Readable): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const sink = tar.entry({ name, size, mode: 0o600, mtime: new Date() }, (err?: Error | null) => {
      if (err) {
        body.destroy();
        reject(err);
      } else resolve();
    });
    body.on('error', (err) => sink.destroy(err));
    body.pipe(sink);
  });
}
