/**
 * Moves one entry of Nx's legacy cache layout to and from an archive stream, on top of the
 * archive module's legacy helpers. Uploads are spooled to a file first: a PUT must announce its
 * length, and a packed tar's length is only known once it ends.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { packLegacyCacheEntry, restoreLegacyCacheEntry, spoolToFile, type ExtractLimits } from '../archive';

export interface PackedEntry {
  stream: Readable;
  /** Exact byte length of `stream`, for Content-Length (and sealedLength). */
  length: number;
}

export interface LegacyEntryCodec {
  /** Null when Nx has not committed the entry. */
  pack(cacheDirectory: string, hash: string): Promise<PackedEntry | null>;
  /** True when restored and committed; false when a committed entry appeared meanwhile. */
  restore(plain: Readable, cacheDirectory: string, hash: string, limits?: ExtractLimits): Promise<boolean>;
}

export const legacyEntryCodec: LegacyEntryCodec = { pack: packLegacyEntry, restore: restoreLegacyCacheEntry };

export async function packLegacyEntry(cacheDirectory: string, hash: string): Promise<PackedEntry | null> {
  const packed = await packLegacyCacheEntry(cacheDirectory, hash);
  if (packed === null) return null;
  const spool = join(cacheDirectory, `.${hash}.nxsc-upload-${randomBytes(6).toString('hex')}`);
  try {
    const length = await spoolToFile(packed.stream, spool);
    const stream = createReadStream(spool);
    // Synchronous, so the spool is gone by the time anyone else sees 'close'.
    stream.once('close', () => rmSync(spool, { force: true }));
    return { stream, length };
  } catch (err) {
    await rm(spool, { force: true });
    throw err;
  }
}

export { restoreLegacyCacheEntry as restoreLegacyEntry };
