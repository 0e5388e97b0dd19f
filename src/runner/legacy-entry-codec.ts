/**
 * Moves one entry of Nx's legacy cache layout (`<hash>/outputs`, `terminalOutput`, `code`, then
 * `<hash>.commit`) to and from an archive stream. The machine-id file `source` never travels:
 * a foreign one makes Nx refuse the entry.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extractArchive, type ExtractLimits } from '../archive/extract';
import { packDirectory } from '../archive/pack';
import { SealedCacheError } from '../errors';
import { CACHE_HASH_PATTERN } from '../protocol';

export interface PackedEntry {
  stream: Readable;
  /** Exact byte length of `stream`, for Content-Length (and sealedLength). */
  length: number;
}

export interface LegacyEntryCodec {
  pack(cacheDirectory: string, hash: string): Promise<PackedEntry>;
  restore(plain: Readable, cacheDirectory: string, hash: string, limits?: ExtractLimits): Promise<void>;
}

const SHARED_ENTRIES = ['outputs', 'terminalOutput', 'code'];

export const legacyEntryCodec: LegacyEntryCodec = { pack: packLegacyEntry, restore: restoreLegacyEntry };

/** Packs into a temp file first: an upload must announce its length, and the file is removed once read. */
export async function packLegacyEntry(cacheDirectory: string, hash: string): Promise<PackedEntry> {
  assertHash(hash);
  const entryDir = join(cacheDirectory, hash);
  if (!existsSync(join(cacheDirectory, `${hash}.commit`))) {
    throw new SealedCacheError('ERR_ARCHIVE_CORRUPT', `the local cache entry ${hash} is not committed`);
  }
  const spool = join(cacheDirectory, `${hash}.nxsc-upload-${randomBytes(6).toString('hex')}`);
  try {
    await pipeline(packDirectory(entryDir, SHARED_ENTRIES.filter((name) => existsSync(join(entryDir, name)))), createWriteStream(spool, { mode: 0o600 }));
    const { size } = await stat(spool);
    const stream = createReadStream(spool);
    stream.once('close', () => void rm(spool, { force: true }));
    return { stream, length: size };
  } catch (err) {
    await rm(spool, { force: true });
    throw err;
  }
}

/**
 * Extracts into a scratch folder, and only once the whole (untrusted until its end) stream was
 * read without error moves it into place and writes `<hash>.commit` last.
 */
export async function restoreLegacyEntry(plain: Readable, cacheDirectory: string, hash: string, limits: ExtractLimits = {}): Promise<void> {
  assertHash(hash);
  const scratch = join(cacheDirectory, `${hash}.nxsc-restore-${randomBytes(6).toString('hex')}`);
  const entryDir = join(cacheDirectory, hash);
  const commit = join(cacheDirectory, `${hash}.commit`);
  await mkdir(scratch, { recursive: true });
  try {
    await extractArchive(plain, scratch, limits);
    if (!existsSync(join(scratch, 'terminalOutput'))) {
      throw new SealedCacheError('ERR_ARCHIVE_CORRUPT', `the artifact for ${hash} is not an Nx cache entry (no terminalOutput)`);
    }
    await rm(join(scratch, 'source'), { recursive: true, force: true });
    await mkdir(join(scratch, 'outputs'), { recursive: true });
    // Leftovers of a partial local write are replaced, exactly as Nx itself does before a put.
    await rm(commit, { force: true });
    await rm(entryDir, { recursive: true, force: true });
    await rename(scratch, entryDir);
    await writeFile(commit, 'true');
  } catch (err) {
    await rm(scratch, { recursive: true, force: true });
    throw err;
  }
}

function assertHash(hash: string): void {
  if (!CACHE_HASH_PATTERN.test(hash)) {
    throw new SealedCacheError('ERR_CACHE_HASH_INVALID', `cache hash must be 1-128 characters of [A-Za-z0-9_-] (got length ${hash.length})`);
  }
}
