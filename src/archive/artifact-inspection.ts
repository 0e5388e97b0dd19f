/**
 * One reading of every Nx artifact, shared by the sealing proxy (before Nx sees it) and the server
 * (before it stores an unsealed one): a strict pass that accepts only the gzip and tar forms Nx
 * writes, then tar-stream's pass with the extraction rules (names, links, collisions, caps).
 */
import fs from 'node:fs';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createInflateRaw, crc32 } from 'node:zlib';
import { isSealedCacheError, SealedCacheError } from '../errors';
import { DEFAULT_EXTRACT_LIMITS, inspectArchive } from './extract';
import { nonstandard } from './nx-tar-form';
import { NxTarWalker, type ArtifactPolicy } from './nx-tar-walker';

export type { ArtifactPolicy } from './nx-tar-walker';

const GZIP_HEADER = 10;
const GZIP_TRAILER = 8;

/** The rules for clients we know nothing about (the server): links may stay, pointing inside. */
export const DEFAULT_ARTIFACT_POLICY: ArtifactPolicy = { symlinks: 'inside', requireZeroExitCode: false, maxEntries: DEFAULT_EXTRACT_LIMITS.maxEntries };

export interface ArtifactReport {
  /** The task's exit code from `code`, when present. */
  exitCode: number | null;
}

/**
 * Resolves when `file` holds one gzip member of one tar in Nx's own form that is safe to extract.
 * Rejects with ERR_ARCHIVE_NONSTANDARD, ERR_ARCHIVE_UNSAFE_ENTRY, ERR_ARCHIVE_TOO_LARGE or ERR_ARCHIVE_CORRUPT.
 */
export async function inspectArtifactFile(file: string, policy: ArtifactPolicy = DEFAULT_ARTIFACT_POLICY): Promise<ArtifactReport> {
  const size = (await fs.promises.stat(file)).size;
  const walker = new NxTarWalker(policy);
  const header = Buffer.alloc(GZIP_HEADER);
  const handle = await fs.promises.open(file, 'r');
  let trailer: Buffer;
  let consumed: number;
  let crc = 0;
  let inflated = 0;
  try {
    await handle.read(header, 0, GZIP_HEADER, 0);
    // flate2 (Nx) and zlib write flags 0: no name, comment or extra field that readers might skip differently.
    if (size < GZIP_HEADER + GZIP_TRAILER || header[0] !== 0x1f || header[1] !== 0x8b || header[2] !== 8 || header[3] !== 0) {
      throw nonstandard('not a plain gzip stream');
    }
    const inflate = createInflateRaw();
    const checksum = new Transform({
      transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback) {
        crc = crc32(chunk, crc);
        inflated += chunk.length;
        if (inflated > DEFAULT_EXTRACT_LIMITS.maxBytes) return done(new SealedCacheError('ERR_ARCHIVE_TOO_LARGE', 'the artifact inflates beyond the cap'));
        done(null, chunk);
      },
    });
    await pipeline(fs.createReadStream(file, { start: GZIP_HEADER }), inflate, checksum, walker).catch((err: unknown) => {
      throw asArchiveError(err);
    });
    consumed = inflate.bytesWritten;
    trailer = Buffer.alloc(GZIP_TRAILER);
    await handle.read(trailer, 0, GZIP_TRAILER, GZIP_HEADER + consumed);
  } finally {
    await handle.close();
  }
  // Node would read a second gzip member, Nx's decoder stops after the first.
  if (GZIP_HEADER + consumed + GZIP_TRAILER !== size) throw nonstandard('bytes follow the first gzip member');
  if (trailer.readUInt32LE(0) !== crc >>> 0 || trailer.readUInt32LE(4) !== inflated % 2 ** 32) throw nonstandard('the gzip checksum is wrong');
  await inspectArchive(fs.createReadStream(file), { maxEntries: policy.maxEntries });
  return { exitCode: walker.exitCode };
}

function asArchiveError(err: unknown): unknown {
  if (isSealedCacheError(err)) return err;
  return new SealedCacheError('ERR_ARCHIVE_CORRUPT', 'the artifact is not a readable gzip tar', { cause: err });
}
