/**
 * `nx-sealed-cache backup`: asks the serving server for a consistent backup (POST /api/v1/backup), unpacks
 * it into a new folder as it arrives, then checks every entry row against its blob (size and SHA-256)
 * before the folder gets its final name. A folder without the `.partial-` suffix is a verified backup.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Database as WasmDatabase } from 'node-sqlite3-wasm';
import { extract as tarExtract } from 'tar-stream';
import { request } from 'undici';
import { z } from 'zod';
import { SealedCacheError } from '../errors';
import { progressLine } from '../progress-line';
import { entryBlobRows, entryTotals } from '../server/metadata/sqlite-file-entries';
import { BACKUP_BYTES_HEADER, BACKUP_ENTRIES_HEADER } from '../server/routes/admin-api/admin-backup';
import {
  BACKUP_BLOBS_DIR,
  BACKUP_FORMAT,
  BACKUP_MANIFEST_FILE,
  BACKUP_METADATA_FILE,
} from '../server/services/backup-stream';
import { assertBlobKey } from '../server/storage/blob-store';
import { errorFromResponse } from './api-client';

const Manifest = z.object({
  format: z.literal(BACKUP_FORMAT),
  serverVersion: z.string(),
  createdAt: z.string(),
  entries: z.number().int().nonnegative(),
  bytes: z.number().int().nonnegative(),
  blobs: z.boolean(),
  droppedWithoutBlob: z.number().int().nonnegative(),
});
export type BackupResult = z.infer<typeof Manifest> & { to: string };

export interface BackupOptions {
  url: string;
  token: string | undefined;
  to: string;
  includeBlobs: boolean;
  /** One line each time another tenth of the backup has arrived, and at the end. */
  progress: (line: string) => void;
}

interface Received {
  size: number;
  sha256: string;
}

const verifyFailed = (message: string): SealedCacheError => new SealedCacheError('ERR_BACKUP_VERIFY_FAILED', message);

export async function runBackup(options: BackupOptions): Promise<BackupResult> {
  const to = resolve(options.to);
  if (existsSync(to))
    throw new SealedCacheError('ERR_INPUT_INVALID', `${to} already exists; a backup never overwrites`);
  const staging = `${to}.partial-${randomBytes(4).toString('hex')}`;
  await mkdir(dirname(to), { recursive: true });
  await mkdir(staging, { mode: 0o700 });
  try {
    const received = await download(options, staging);
    const manifest = await verify(staging, received);
    await rename(staging, to);
    return { ...manifest, to };
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    throw err;
  }
}

async function download(options: BackupOptions, staging: string): Promise<Map<string, Received>> {
  const base = options.url.replace(/\/+$/, '');
  let response;
  try {
    response = await request(`${base}/api/v1/backup?blobs=${options.includeBlobs ? 'include' : 'skip'}`, {
      method: 'POST',
      headers: options.token === undefined ? {} : { authorization: `Bearer ${options.token}` },
      // Copying the database happens before the first byte; a large one takes a while.
      headersTimeout: 300_000,
      bodyTimeout: 300_000,
    });
  } catch (err) {
    throw new SealedCacheError(
      'ERR_CLIENT_UNREACHABLE',
      `cannot reach the server at ${base} (${(err as NodeJS.ErrnoException).code ?? 'network error'})`,
      { cause: err },
    );
  }
  if (response.statusCode !== 200) {
    const text = await response.body.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    throw errorFromResponse(response.statusCode, parsed);
  }
  const plannedEntries = Number(response.headers[BACKUP_ENTRIES_HEADER] ?? 0);
  const plannedBytes = Number(response.headers[BACKUP_BYTES_HEADER] ?? 0);
  const progress = progressLine(options.progress, 'backup', { items: plannedEntries, bytes: plannedBytes });
  const received = new Map<string, Received>();
  const extract = tarExtract();
  const feeding = pipeline(response.body, extract as unknown as NodeJS.WritableStream);
  try {
    for await (const entry of extract) {
      const name = entry.header.name;
      const target = targetOf(name, entry.header.type);
      const hash = createHash('sha256');
      let size = 0;
      const isBlob = name.startsWith(`${BACKUP_BLOBS_DIR}/`);
      const counter = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          hash.update(chunk);
          size += chunk.length;
          done(null, chunk);
        },
      });
      await mkdir(dirname(join(staging, target)), { recursive: true, mode: 0o700 });
      await pipeline(
        entry as unknown as Readable,
        counter,
        createWriteStream(join(staging, target), { flags: 'wx', mode: 0o600 }),
      );
      if (isBlob) {
        received.set(name.slice(BACKUP_BLOBS_DIR.length + 1), { size, sha256: hash.digest('hex') });
        progress.advance(size);
      }
    }
    await feeding;
  } catch (err) {
    response.body.destroy();
    await feeding.catch(() => undefined);
    if (err instanceof SealedCacheError) throw err;
    throw new SealedCacheError(
      'ERR_CLIENT_BAD_RESPONSE',
      'the backup stream broke off before its end; nothing was kept',
      {
        cause: err,
      },
    );
  }
  progress.done();
  return received;
}

/** Only the three kinds of file a backup has, each as a plain file under the folder. */
function targetOf(name: string, type: string | null | undefined): string {
  if (type !== 'file') throw verifyFailed(`the backup holds a ${type ?? 'strange'} entry; only files are expected`);
  if (name === BACKUP_METADATA_FILE || name === BACKUP_MANIFEST_FILE) return name;
  if (name.startsWith(`${BACKUP_BLOBS_DIR}/`)) {
    try {
      assertBlobKey(name.slice(BACKUP_BLOBS_DIR.length + 1));
    } catch {
      throw verifyFailed('the backup holds a blob whose name is not a blob key');
    }
    return name;
  }
  throw verifyFailed('the backup holds a file that is not part of a backup');
}

async function verify(staging: string, received: Map<string, Received>): Promise<z.infer<typeof Manifest>> {
  const manifestFile = join(staging, BACKUP_MANIFEST_FILE);
  if (!existsSync(manifestFile) || !existsSync(join(staging, BACKUP_METADATA_FILE)))
    throw verifyFailed('the backup ended without its database or manifest');
  const manifest = Manifest.safeParse(JSON.parse(await readFile(manifestFile, 'utf8')));
  if (!manifest.success) throw verifyFailed('the backup manifest is not one this CLI reads');
  const db = new WasmDatabase(join(staging, BACKUP_METADATA_FILE), { readOnly: true });
  try {
    const totals = entryTotals(db);
    if (totals.entries !== manifest.data.entries || totals.bytes !== manifest.data.bytes)
      throw verifyFailed(
        `the database holds ${totals.entries} entries of ${totals.bytes} bytes; the manifest says ${manifest.data.entries} of ${manifest.data.bytes}`,
      );
    if (!manifest.data.blobs) return manifest.data;
    let checked = 0;
    for (const row of entryBlobRows(db)) {
      const blob = received.get(row.blobKey);
      if (blob === undefined) throw verifyFailed(`an entry's blob is missing from the backup (${row.blobKey})`);
      if (blob.size !== row.size || blob.sha256 !== row.sha256)
        throw verifyFailed(`a blob differs from its entry in size or SHA-256 (${row.blobKey})`);
      checked++;
    }
    if (checked !== received.size) throw verifyFailed(`the backup holds ${received.size} blobs for ${checked} entries`);
    return manifest.data;
  } finally {
    db.close();
  }
}
