/**
 * Extracts a gzip'd tar from an untrusted source into a fresh, empty folder, refusing anything
 * that could write outside it. Contract with the caller: create `destDir` empty, rename it into
 * place only when this resolves, and on failure remove it with one `rm -rf destDir` (everything
 * written is inside it, with owner-writable modes).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import * as tar from 'tar-stream';
import { z } from 'zod';
import { isSealedCacheError, SealedCacheError } from '../errors';
import { normaliseEntryName, unsafeEntry } from './archive-paths';
import { checkSymlinkTarget, writeEntryFile, writeHardlink, writeSymlink, type EntryStream } from './extract-entries';

/**
 * zlib's output buffer for a streamed inflate. Its default, 16 KiB, costs a native call and a callback per 16 KiB:
 * inflating a 286 MiB artifact (130 MB stored) took 1.3 s with it and 0.47 s with 256 KiB here.
 */
export const STREAM_INFLATE_CHUNK = 256 * 1024;
/** Read size for an artifact read from a file (Node's default is 64 KiB): with 1 MiB, the same inflate took 0.41 s. */
export const ARTIFACT_READ_CHUNK = 1024 * 1024;

export interface ExtractLimits {
  /** Cap on the uncompressed tar stream, headers included; a decompression bomb stops here. */
  maxBytes?: number;
  maxEntries?: number;
}

export interface ExtractResult {
  /** Regular files and hard links written. */
  files: number;
  /** Bytes of file content written. */
  bytes: number;
}

export const DEFAULT_EXTRACT_LIMITS = { maxBytes: 4 * 1024 ** 3, maxEntries: 200_000 } as const;

const LimitsSchema = z.object({
  maxBytes: z.number().int().positive().optional(),
  maxEntries: z.number().int().positive().optional(),
});

/** File system errors that mean two entries collide (a duplicate, or a file where a folder must be). */
const CONFLICT_CODES = new Set(['EEXIST', 'ENOTDIR', 'EISDIR', 'ENOTEMPTY']);

export async function extractArchive(
  source: Readable,
  destDir: string,
  limits: ExtractLimits = {},
): Promise<ExtractResult> {
  const { maxBytes, maxEntries } = parseLimits(limits);
  return runExtraction(source, new ExtractionState(resolveEmptyDestination(destDir), maxBytes, maxEntries), maxBytes);
}

/**
 * Applies every rule of extractArchive (names, links, types, collisions, caps) while writing nothing:
 * for a caller that hands the archive to another extractor (the proxy serves it to Nx) and only needs
 * to know it is safe. Resolves with what an extraction would write; rejects with the same errors.
 */
export async function inspectArchive(source: Readable, limits: ExtractLimits = {}): Promise<ExtractResult> {
  const { maxBytes, maxEntries } = parseLimits(limits);
  return runExtraction(source, new ExtractionState(undefined, maxBytes, maxEntries), maxBytes);
}

/**
 * The same rules over a tar that is already inflated (the caller checked its gzip framing) and held in memory, written straight into tar-stream: no source stream, byte
 * counter or pipeline (their setup cost as much as the parsing of a 20-file artifact). The byte cap applies to the
 * whole buffer at once, which is where the counter would stop it.
 */
export async function inspectInflatedBuffer(tarBytes: Buffer, limits: ExtractLimits = {}): Promise<ExtractResult> {
  const { maxBytes, maxEntries } = parseLimits(limits);
  if (tarBytes.length > maxBytes) throw tooLarge(maxBytes);
  const state = new ExtractionState(undefined, maxBytes, maxEntries);
  const extract = createExtract(state);
  try {
    await new Promise<void>((resolve, reject) => {
      extract.once('error', reject);
      extract.once('finish', () => resolve());
      extract.end(tarBytes);
    });
  } catch (err) {
    if (isSealedCacheError(err) || err === state.ownError) throw err;
    throw new SealedCacheError('ERR_ARCHIVE_CORRUPT', 'archive is not a readable gzip tar', { cause: err });
  }
  return { files: state.files, bytes: state.bytes };
}

/**
 * The same rules over a tar stream that is already inflated (the caller inflates it once for both of its passes
 * and checks the gzip framing and checksum itself).
 */
export async function inspectInflatedStream(tarBytes: Readable, limits: ExtractLimits = {}): Promise<ExtractResult> {
  const { maxBytes, maxEntries } = parseLimits(limits);
  return runExtraction(tarBytes, new ExtractionState(undefined, maxBytes, maxEntries), maxBytes, false);
}

function parseLimits(limits: ExtractLimits): { maxBytes: number; maxEntries: number } {
  const parsed = LimitsSchema.safeParse(limits);
  if (!parsed.success)
    throw new SealedCacheError('ERR_INPUT_INVALID', `invalid extract limits: ${parsed.error.message}`);
  return {
    maxBytes: parsed.data.maxBytes ?? DEFAULT_EXTRACT_LIMITS.maxBytes,
    maxEntries: parsed.data.maxEntries ?? DEFAULT_EXTRACT_LIMITS.maxEntries,
  };
}

/** `gzipped`: the source is a gzip tar (inflated here); else a tar. */
async function runExtraction(
  source: Readable,
  state: ExtractionState,
  maxBytes: number,
  gzipped = true,
): Promise<ExtractResult> {
  let sourceError: unknown;
  source.once('error', (err) => (sourceError ??= err));
  const extract = createExtract(state);
  try {
    if (gzipped)
      await pipeline(source, createGunzip({ chunkSize: STREAM_INFLATE_CHUNK }), new ByteCap(maxBytes), extract);
    else await pipeline(source, new ByteCap(maxBytes), extract);
  } catch (err) {
    if (isSealedCacheError(err) || err === sourceError || err === state.ownError) throw err;
    throw new SealedCacheError('ERR_ARCHIVE_CORRUPT', 'archive is not a readable gzip tar', { cause: err });
  }
  return { files: state.files, bytes: state.bytes };
}

/** tar-stream's extractor with every entry handed to `state`, which applies the rules (and writes, when extracting). */
function createExtract(state: ExtractionState): tar.Extract {
  // Nx 24 writes `terminalOutput` and `code` with old-style (v7) tar headers, which carry no ustar magic.
  // (@types/tar-stream does not list tar-stream 3's allowUnknownFormat option.)
  const extract = tar.extract({ allowUnknownFormat: true } as unknown as Parameters<typeof tar.extract>[0]);
  extract.on('entry', (header, stream, next) => {
    // The entry stream is destroyed with the extraction's error, which the caller already reports.
    stream.on('error', () => undefined);
    state.handle(header, stream).then(
      () => next(),
      (err: unknown) => next(state.classify(err)),
    );
  });
  return extract;
}

function resolveEmptyDestination(destDir: string): string {
  let real: string;
  try {
    real = fs.realpathSync(destDir);
  } catch (err) {
    throw new SealedCacheError('ERR_INPUT_INVALID', 'extraction folder does not exist', { cause: err });
  }
  if (!fs.statSync(real).isDirectory() || fs.readdirSync(real).length > 0) {
    throw new SealedCacheError('ERR_INPUT_INVALID', 'extraction folder must be an existing, empty folder');
  }
  return real;
}

class ExtractionState {
  files = 0;
  bytes = 0;
  /** An unexpected local error (say, a full disk), passed through rather than called corruption. */
  ownError: unknown;
  private entries = 0;
  private readonly symlinks = new Set<string>();
  private readonly folders = new Set<string>(['']);
  /** Inspection only: what each written name would be, to refuse what the file system would refuse. */
  private readonly kinds = new Map<string, 'file' | 'symlink'>();

  /** `dest` undefined: inspect only, writing nothing. */
  constructor(
    private readonly dest: string | undefined,
    private readonly maxBytes: number,
    private readonly maxEntries: number,
  ) {}

  async handle(header: tar.Header, stream: EntryStream): Promise<void> {
    if (++this.entries > this.maxEntries) {
      throw new SealedCacheError('ERR_ARCHIVE_TOO_LARGE', `archive has more than ${this.maxEntries} entries`);
    }
    const name = normaliseEntryName(header.name);
    this.refuseThroughSymlink(name, header.name);
    const dest = this.dest;
    const absolute = dest === undefined ? '' : path.join(dest, name);
    switch (header.type) {
      case 'directory':
        if (this.symlinks.has(name)) throw unsafeEntry(header.name, 'a folder where a symlink already is');
        this.ensureFolder(name);
        return drain(stream);
      case 'file':
      case 'contiguous-file': {
        const size = header.size;
        if (this.bytes + size > this.maxBytes) throw tooLarge(this.maxBytes);
        this.ensureFolder(parentName(name));
        if (dest === undefined) {
          this.claim(name, 'file');
          await drain(stream);
        } else {
          await writeEntryFile(stream, absolute, size, header.mode);
        }
        this.files++;
        this.bytes += size;
        return;
      }
      case 'symlink':
        this.ensureFolder(parentName(name));
        if (dest === undefined) {
          checkSymlinkTarget(header.name, name, header.linkname ?? '');
          this.claim(name, 'symlink');
        } else {
          writeSymlink(header.name, name, header.linkname ?? '', absolute);
        }
        this.symlinks.add(name);
        return drain(stream);
      case 'link': {
        const target = normaliseEntryName(header.linkname ?? '');
        this.refuseThroughSymlink(target, header.name);
        this.ensureFolder(parentName(name));
        if (dest === undefined) {
          if (this.kinds.get(target) !== 'file')
            throw unsafeEntry(header.name, 'hard link target is not a regular file of this archive');
          this.claim(name, 'file');
        } else {
          writeHardlink(header.name, path.join(dest, target), absolute);
        }
        this.files++;
        return drain(stream);
      }
      default:
        throw unsafeEntry(header.name, `entries of type ${String(header.type)} are not allowed`);
    }
  }

  classify(err: unknown): Error {
    if (isSealedCacheError(err)) return err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== undefined && CONFLICT_CODES.has(code)) return collision(err);
    this.ownError = err;
    return err instanceof Error ? err : new Error(String(err));
  }

  /** Refuses a name whose parent folders include a symlink made by this archive. */
  private refuseThroughSymlink(name: string, shownName: string): void {
    let prefix = '';
    for (const part of parentName(name).split('/')) {
      if (part === '') break;
      prefix = prefix === '' ? part : `${prefix}/${part}`;
      if (this.symlinks.has(prefix)) throw unsafeEntry(shownName, 'its path goes through a symlink');
    }
  }

  private ensureFolder(name: string): void {
    if (this.folders.has(name)) return;
    if (this.dest === undefined) {
      // mkdir -p fails where any part of the path is already a file or a symlink.
      for (let prefix = name; prefix !== ''; prefix = parentName(prefix)) {
        if (this.kinds.has(prefix)) throw collision();
        this.folders.add(prefix);
      }
      return;
    }
    fs.mkdirSync(path.join(this.dest, name), { recursive: true, mode: 0o755 });
    this.folders.add(name);
  }

  /** Inspection: a name is written once, and never where a folder is (the exclusive create would fail). */
  private claim(name: string, kind: 'file' | 'symlink'): void {
    if (this.kinds.has(name) || this.folders.has(name)) throw collision();
    this.kinds.set(name, kind);
  }
}

function collision(cause?: unknown): SealedCacheError {
  return new SealedCacheError(
    'ERR_ARCHIVE_UNSAFE_ENTRY',
    'archive entries collide (a duplicate, or a file where a folder is)',
    { cause },
  );
}

function parentName(name: string): string {
  const slash = name.lastIndexOf('/');
  return slash < 0 ? '' : name.slice(0, slash);
}

async function drain(stream: EntryStream): Promise<void> {
  for await (const _ of stream) {
    // Links and folders carry no body; this only consumes the (empty) entry stream.
  }
}

function tooLarge(maxBytes: number): SealedCacheError {
  return new SealedCacheError('ERR_ARCHIVE_TOO_LARGE', `archive expands to more than ${maxBytes} bytes`);
}

/** Counts uncompressed bytes and fails as soon as the cap is passed, before the rest is inflated. */
class ByteCap extends Transform {
  private seen = 0;

  constructor(private readonly maxBytes: number) {
    super();
  }

  override _transform(data: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.seen += data.length;
    if (this.seen > this.maxBytes) return done(tooLarge(this.maxBytes));
    done(null, data);
  }
}
