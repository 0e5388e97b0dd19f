/**
 * One reading of every Nx artifact, shared by the sealing proxy (before Nx sees it) and the server
 * (before it stores an unsealed one): a strict pass that accepts only the gzip and tar forms Nx
 * writes, then tar-stream's pass with the extraction rules (names, links, collisions, caps).
 */
import fs from 'node:fs';
import { PassThrough, Readable, Transform, type TransformCallback, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createInflateRaw, crc32, inflateRawSync } from 'node:zlib';
import { isSealedCacheError, SealedCacheError } from '../errors';
import {
  ARTIFACT_READ_CHUNK,
  DEFAULT_EXTRACT_LIMITS,
  STREAM_INFLATE_CHUNK,
  inspectInflatedBuffer,
  inspectInflatedStream,
} from './extract';
import { nonstandard } from './nx-tar-form';
import { NxTarWalker, type ArtifactPolicy } from './nx-tar-walker';

export type { ArtifactPolicy } from './nx-tar-walker';

const GZIP_HEADER = 10;
const GZIP_TRAILER = 8;

/** The rules for clients we know nothing about (the server): links may stay, pointing inside. */
export const DEFAULT_ARTIFACT_POLICY: ArtifactPolicy = {
  symlinks: 'inside',
  requireZeroExitCode: false,
  maxEntries: DEFAULT_EXTRACT_LIMITS.maxEntries,
  packerForm: false,
};

/** The server also stores what this package's Nx 17–20 runner uploads without a key (tar-stream's form). */
export const SERVER_ARTIFACT_POLICY: ArtifactPolicy = { ...DEFAULT_ARTIFACT_POLICY, packerForm: true };

export interface ArtifactReport {
  /** The task's exit code from `code`, when present. */
  exitCode: number | null;
}

/**
 * Resolves when `file` holds one gzip member of one tar in Nx's own form that is safe to extract.
 * Rejects with ERR_ARCHIVE_NONSTANDARD, ERR_ARCHIVE_UNSAFE_ENTRY, ERR_ARCHIVE_TOO_LARGE or ERR_ARCHIVE_CORRUPT.
 */
export async function inspectArtifactFile(
  file: string,
  policy: ArtifactPolicy = DEFAULT_ARTIFACT_POLICY,
): Promise<ArtifactReport> {
  return inspectArtifact(() => fs.createReadStream(file, { highWaterMark: ARTIFACT_READ_CHUNK }), policy);
}

/** The same, for an artifact that can be opened (a stored blob): read once, by both passes together. */
export async function inspectArtifact(
  open: () => Readable | Promise<Readable>,
  policy: ArtifactPolicy = DEFAULT_ARTIFACT_POLICY,
): Promise<ArtifactReport> {
  return inspectArtifactStream(await open(), policy);
}

/**
 * The same, for bytes read once as they arrive (an upload on its way to storage, a large artifact on its way to a
 * temporary file): inflated once, the inflated bytes read side by side by the strict pass and by tar-stream's pass,
 * each at its own pace within a stream buffer, so memory stays bounded whatever the size. The strict pass's failure
 * (gzip framing, inflate, checksum, Nx's tar form) is reported first, as if it ran first; once both have decided,
 * the rest of `source` is no longer read (the caller may stop feeding it).
 */
export async function inspectArtifactStream(
  source: AsyncIterable<Buffer> & { destroy?(): void },
  policy: ArtifactPolicy = DEFAULT_ARTIFACT_POLICY,
): Promise<ArtifactReport> {
  const looseInput = new PassThrough({ highWaterMark: INSPECTION_PIECE });
  // A pass that has decided reads no more: its input goes, so feeding the other never waits on it.
  const loose = inspectInflatedStream(looseInput, { maxEntries: policy.maxEntries }).finally(() =>
    looseInput.destroy(),
  );
  const framing = new GzipFraming();
  const inflate = createInflateRaw({ chunkSize: STREAM_INFLATE_CHUNK });
  const checksum = new InflatedChecksum();
  const walker = new NxTarWalker(policy);
  const strict = pipeline(
    Readable.from(inPiecesOf(source, INSPECTION_PIECE)),
    framing,
    inflate,
    checksum,
    new CopyTo(looseInput),
    walker,
  ).then(
    (): ArtifactReport => {
      // Node would read on into a second gzip member; Nx's decoder stops after the first.
      if (framing.body !== inflate.bytesWritten + GZIP_TRAILER) throw nonstandard('bytes follow the first gzip member');
      assertGzipTrailer(framing.tail, checksum.crc, checksum.length);
      return { exitCode: walker.exitCode };
    },
    (err: unknown) => {
      looseInput.destroy();
      throw asArchiveError(err);
    },
  );
  const [strictResult, looseResult] = await Promise.allSettled([strict, loose]);
  source.destroy?.();
  if (strictResult.status === 'rejected') throw strictResult.reason;
  if (looseResult.status === 'rejected') throw looseResult.reason;
  return strictResult.value;
}

/**
 * Passes every chunk on, and writes it to `copy` too while `copy` is open, waiting when `copy` is full; ends `copy`
 * at the end. The two readers share each chunk: neither changes it.
 */
class CopyTo extends Transform {
  constructor(private readonly copy: Writable) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    if (this.copy.destroyed || this.copy.write(chunk)) return done(null, chunk);
    void whenDrained(this.copy).then(() => done(null, chunk));
  }

  override _flush(done: TransformCallback): void {
    if (!this.copy.destroyed) this.copy.end();
    done();
  }
}

/**
 * What the inflate is handed at a time (and tar-stream's pass, in the streams the inflate fills). Network and cipher
 * chunks are 16–64 KiB; each costs a round of stream callbacks and a native inflate call, and fed whole MiBs the
 * passes took 0.76 s instead of 1.19 s over a 286 MiB artifact here (when each still inflated on its own).
 */
const INSPECTION_PIECE = 1024 * 1024;

/** The bytes of `source` in pieces of `size` (the last one shorter), copied only when chunks must be joined. */
async function* inPiecesOf(source: AsyncIterable<Buffer>, size: number): AsyncGenerator<Buffer> {
  let held: Buffer[] = [];
  let heldBytes = 0;
  for await (const chunk of source) {
    if (heldBytes === 0 && chunk.length >= size) {
      yield chunk;
      continue;
    }
    held.push(chunk);
    heldBytes += chunk.length;
    if (heldBytes >= size) {
      yield Buffer.concat(held, heldBytes);
      held = [];
      heldBytes = 0;
    }
  }
  if (heldBytes > 0) yield Buffer.concat(held, heldBytes);
}

/** Resolves when `input` takes more, or is gone (destroyed or closed). */
export function whenDrained(input: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      input.off('drain', done);
      input.off('close', done);
      resolve();
    };
    input.on('drain', done);
    input.on('close', done);
  });
}

/** Above this, an artifact held in memory is inspected as a stream after all (the caps apply there). */
export const IN_MEMORY_INFLATE_LIMIT = 64 * 1024 * 1024;

/**
 * The same rules for an artifact held in memory: one synchronous inflate instead of two streaming ones (the
 * streaming form costs a callback per 16 KiB chunk, the bulk of the proxy's CPU per restored artifact).
 */
export async function inspectArtifactBuffer(
  gz: Buffer,
  policy: ArtifactPolicy = DEFAULT_ARTIFACT_POLICY,
): Promise<ArtifactReport> {
  if (gz.length < GZIP_HEADER + GZIP_TRAILER || !isPlainGzipHeader(gz)) {
    throw nonstandard('not a plain gzip stream');
  }
  const body = gz.subarray(GZIP_HEADER);
  let inflated: Buffer;
  let consumed: number;
  try {
    const result = inflateRawSync(body, {
      info: true,
      maxOutputLength: IN_MEMORY_INFLATE_LIMIT,
      chunkSize: inflateChunkSize(gz),
    }) as unknown as {
      buffer: Buffer;
      engine: { bytesWritten: number };
    };
    inflated = result.buffer;
    consumed = result.engine.bytesWritten;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      return inspectArtifact(() => Readable.from([gz]), policy);
    }
    throw asArchiveError(err);
  }
  // Node would read on into a second gzip member; Nx's decoder stops after the first.
  if (body.length !== consumed + GZIP_TRAILER) throw nonstandard('bytes follow the first gzip member');
  const trailer = body.subarray(body.length - GZIP_TRAILER);
  assertGzipTrailer(trailer, crc32(inflated), inflated.length);
  const walker = new NxTarWalker(policy);
  await endWith(walker, inflated).catch((err: unknown) => {
    throw asArchiveError(err);
  });
  await inspectInflatedBuffer(inflated, { maxEntries: policy.maxEntries });
  return { exitCode: walker.exitCode };
}

/**
 * zlib's sync inflate fills chunkSize-byte buffers (16 KiB by default) and concatenates them at the end: one call
 * and one copy per 16 KiB. The trailer's length (untrusted, only a size hint; the real length is checked against it
 * below) sizes one buffer for the whole output, one byte over so zlib sees the end without asking for another.
 */
function inflateChunkSize(gz: Buffer): number {
  const announced = gz.readUInt32LE(gz.length - 4);
  return Math.min(Math.max(announced + 1, 64 * 1024), INFLATE_CHUNK_LIMIT);
}

/** A hostile trailer can ask for no more than this up front; a larger output grows chunk by chunk. */
const INFLATE_CHUNK_LIMIT = 16 * 1024 * 1024;

/** Writes the whole of `data` into `sink` and waits for it to finish: what a pipeline from one buffer does, minus its setup. */
function endWith(sink: Writable, data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    sink.once('error', reject);
    sink.once('finish', () => resolve());
    sink.end(data);
  });
}

/** flate2 (Nx) and zlib write flags 0: no name, comment or extra field that readers might skip differently. */
function isPlainGzipHeader(h: Buffer): boolean {
  return h[0] === 0x1f && h[1] === 0x8b && h[2] === 8 && h[3] === 0;
}

/** The trailer's CRC-32 and length (mod 2^32) must be those of the inflated bytes. */
function assertGzipTrailer(trailer: Buffer, crc: number, length: number): void {
  if (trailer.readUInt32LE(0) !== crc >>> 0 || trailer.readUInt32LE(4) !== length % 2 ** 32) {
    throw nonstandard('the gzip checksum is wrong');
  }
}

/** Checks the 10-byte gzip header, passes the rest on, and keeps the last 8 bytes (the trailer). */
class GzipFraming extends Transform {
  private head = Buffer.alloc(0);
  tail = Buffer.alloc(0);
  /** Bytes after the header. */
  body = 0;

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    let rest = chunk;
    if (this.head.length < GZIP_HEADER) {
      const take = Math.min(GZIP_HEADER - this.head.length, rest.length);
      this.head = Buffer.concat([this.head, rest.subarray(0, take)]);
      rest = rest.subarray(take);
      if (this.head.length === GZIP_HEADER) {
        if (!isPlainGzipHeader(this.head)) return done(nonstandard('not a plain gzip stream'));
      }
    }
    if (rest.length === 0) return done();
    this.body += rest.length;
    this.tail = Buffer.concat([this.tail, rest]).subarray(-GZIP_TRAILER);
    done(null, rest);
  }

  override _flush(done: TransformCallback): void {
    done(this.head.length < GZIP_HEADER || this.body < GZIP_TRAILER ? nonstandard('not a plain gzip stream') : null);
  }
}

/** CRC-32 and length of the inflated bytes, with the size cap of a decompression bomb. */
class InflatedChecksum extends Transform {
  crc = 0;
  length = 0;

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.crc = crc32(chunk, this.crc);
    this.length += chunk.length;
    if (this.length > DEFAULT_EXTRACT_LIMITS.maxBytes)
      return done(new SealedCacheError('ERR_ARCHIVE_TOO_LARGE', 'the artifact inflates beyond the cap'));
    done(null, chunk);
  }
}

function asArchiveError(err: unknown): unknown {
  if (isSealedCacheError(err)) return err;
  return new SealedCacheError('ERR_ARCHIVE_CORRUPT', 'the artifact is not a readable gzip tar', { cause: err });
}
