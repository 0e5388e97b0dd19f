/**
 * `storage migrate`: copies a stopped data directory's storage to where a scaled-out server keeps it, under
 * the data dir's lock: the blobs (every blob an entry names, into an S3-compatible bucket under the same key),
 * then the metadata (every table into PostgreSQL, metadata/metadata-copy.ts). Blobs first, so the database
 * never holds a row whose object is not there yet; no metadata is copied while a blob failed.
 * Resumable: an object already there with the entry's size is not copied again. Verified: at the end every
 * entry's object is read back from the target and checked against the entry's size and SHA-256.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { Database as WasmDatabase } from 'node-sqlite3-wasm';
import { SealedCacheError } from '../../errors';
import { progressLine } from '../../progress-line';
import type { ServerConfig } from '../config/server-config';
import { acquireDataDirLock, removeStaleSqliteLock } from '../data-dir-lock';
import { dataDirLayout } from '../data-dir';
import { type MetadataMigrated, migrateMetadata } from '../metadata/metadata-copy';
import { POSTGRES_URL } from '../metadata/postgres-metadata-store';
import { type EntryBlobRow, entryBlobRows, entryTotals } from '../metadata/sqlite-file-entries';
import type { BlobBackend, BlobStore } from './blob-store';
import { FsBlobStore } from './fs-blob-store';
import { assertBlobBackendWritable, openBlobBackend } from './open-blob-backend';

export type StorageTarget = Pick<
  ServerConfig,
  'blobStore' | 's3Endpoint' | 's3Region' | 's3ForcePathStyle' | 'maxConnections'
>;

export interface MigrateInput {
  dataDir: string;
  target: StorageTarget;
  /** `postgres://…`: the database the metadata goes to (unset: the metadata stays in the data dir). */
  databaseUrl?: string;
  progress: (line: string) => void;
}

export interface BlobsMigrated {
  target: string;
  entries: number;
  bytes: number;
  copied: number;
  alreadyThere: number;
  verified: number;
  /** Keys whose entry could not be given a matching object (missing or changed at the source). */
  failed: string[];
}

export interface MigrateResult {
  blobs?: BlobsMigrated;
  metadata?: MetadataMigrated;
  /** True when a blob failed, so the metadata was left where it was. */
  metadataSkipped: boolean;
}

export async function migrateStorage(input: MigrateInput): Promise<MigrateResult> {
  if (input.target.blobStore === undefined && input.databaseUrl === undefined)
    throw new SealedCacheError(
      'ERR_INPUT_INVALID',
      'name a target: --blob-store s3://bucket/prefix, --database-url postgres://…, or both',
    );
  if (input.databaseUrl !== undefined && !POSTGRES_URL.test(input.databaseUrl))
    throw new SealedCacheError('ERR_CONFIG_INVALID', '--database-url must be a postgres:// or postgresql:// URL');
  const layout = dataDirLayout(input.dataDir);
  if (!existsSync(layout.metadataFile))
    throw new SealedCacheError('ERR_INPUT_INVALID', `${layout.root} is not a data directory (no metadata.sqlite)`);
  // The server must be stopped: it holds this lock, and entries written meanwhile would be left behind.
  const lock = acquireDataDirLock(layout.lockFile);
  let db: WasmDatabase | undefined;
  let backend: BlobBackend | undefined;
  try {
    removeStaleSqliteLock(layout.metadataFile);
    db = new WasmDatabase(layout.metadataFile, { fileMustExist: true });
    let blobs: BlobsMigrated | undefined;
    if (input.target.blobStore !== undefined) {
      backend = openBlobBackend(input.target, layout);
      await assertBlobBackendWritable(backend);
      blobs = await migrateBlobs(db, new FsBlobStore(layout.blobsDir, layout.tmpDir), backend, input.progress);
    }
    const metadataSkipped = input.databaseUrl !== undefined && (blobs?.failed.length ?? 0) > 0;
    const metadata =
      input.databaseUrl === undefined || metadataSkipped
        ? undefined
        : await migrateMetadata(db, input.databaseUrl, input.progress);
    return { ...(blobs ? { blobs } : {}), ...(metadata ? { metadata } : {}), metadataSkipped };
  } finally {
    db?.close();
    await backend?.close();
    lock.release();
  }
}

async function migrateBlobs(
  db: WasmDatabase,
  source: BlobStore,
  target: BlobBackend,
  print: (line: string) => void,
): Promise<BlobsMigrated> {
  const totals = entryTotals(db);
  const present = new Map<string, number>();
  for await (const object of target.inventory.blobs()) present.set(object.name, object.size);
  const result: BlobsMigrated = {
    target: target.description,
    ...totals,
    copied: 0,
    alreadyThere: 0,
    verified: 0,
    failed: [],
  };
  const copying = progressLine(print, 'migrate blobs', { items: totals.entries, bytes: totals.bytes });
  for (const row of entryBlobRows(db)) {
    if (present.get(row.blobKey) === row.size) result.alreadyThere++;
    else if (await copyOne(source, target.store, row)) result.copied++;
    else result.failed.push(row.blobKey);
    copying.advance(row.size);
  }
  copying.done();
  const failed = new Set(result.failed);
  const checking = progressLine(print, 'verify blobs', { items: totals.entries, bytes: totals.bytes });
  for (const row of entryBlobRows(db)) {
    if (!failed.has(row.blobKey)) {
      if (await matches(target.store, row)) result.verified++;
      else result.failed.push(row.blobKey);
    }
    checking.advance(row.size);
  }
  checking.done();
  return result;
}

/** False when the source has no blob of the entry's size and SHA-256 (then nothing is left in the target). */
async function copyOne(source: BlobStore, target: BlobStore, row: EntryBlobRow): Promise<boolean> {
  const blob = await source.open(row.blobKey);
  if (!blob.found) return false;
  if (blob.size !== row.size) {
    await blob.close();
    return false;
  }
  const stored = await target.put(row.blobKey, blob.stream(), row.size);
  if (stored.sha256 === row.sha256) return true;
  await target.delete(row.blobKey);
  return false;
}

async function matches(store: BlobStore, row: EntryBlobRow): Promise<boolean> {
  const blob = await store.open(row.blobKey);
  if (!blob.found) return false;
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of blob.stream() as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
  }
  return size === row.size && hash.digest('hex') === row.sha256;
}
