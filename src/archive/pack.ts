/**
 * Packs files and folders under a root into a gzip'd tar stream. Small files are read
 * synchronously (far faster for thousands of small outputs), large ones are streamed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import * as tar from 'tar-stream';
import { z } from 'zod';
import { SealedCacheError } from '../errors';
import { isInside, maskedFileMode, normaliseEntryName, toArchiveName } from './archive-paths';

type EntryHeader = Parameters<tar.Pack['entry']>[0];

/** Files up to this size are read in one synchronous call; larger ones are streamed. */
const SMALL_FILE_BYTES = 1024 * 1024;
const DEFAULT_GZIP_LEVEL = 1;

export interface SkippedEntry {
  /** Archive name of what was left out. */
  readonly path: string;
  readonly reason: string;
}

export interface PackOptions {
  /** zlib level 0-9; 1 by default, since sealed payloads gain little from more. */
  gzipLevel?: number;
  /** Told about every path left out (missing, a symlink leaving the root, a socket...). */
  onSkip?: (skipped: SkippedEntry) => void;
}

const PackOptionsSchema = z.object({ gzipLevel: z.number().int().min(0).max(9).optional() });

/**
 * A gzip'd tar of `entries` (paths relative to `root`, files or folders, recursively). Symlinks
 * are kept as links only when they point inside `root`, stored with a relative target;
 * others are skipped and reported through `onSkip`. Errors surface as the stream's error.
 */
export function packDirectory(root: string, entries: readonly string[], options: PackOptions = {}): Readable {
  const parsed = PackOptionsSchema.safeParse(options);
  if (!parsed.success) throw new SealedCacheError('ERR_INPUT_INVALID', `invalid pack options: ${parsed.error.message}`);
  const pack = tar.pack();
  const gzip = createGzip({ level: parsed.data.gzipLevel ?? DEFAULT_GZIP_LEVEL });
  pack.on('error', (err: Error) => gzip.destroy(err));
  gzip.on('close', () => pack.destroy());
  pack.pipe(gzip);
  const walker = new PackWalker(path.resolve(root), pack, options.onSkip ?? (() => undefined));
  walker.addAll(entries).then(
    () => pack.finalize(),
    (err: unknown) => gzip.destroy(err instanceof Error ? err : new Error(String(err))),
  );
  return gzip;
}

class PackWalker {
  private readonly packed = new Set<string>();

  constructor(
    private readonly root: string,
    private readonly pack: tar.Pack,
    private readonly onSkip: (skipped: SkippedEntry) => void,
  ) {}

  async addAll(entries: readonly string[]): Promise<void> {
    for (const entry of entries) await this.add(normaliseEntryName(entry));
  }

  private async add(name: string): Promise<void> {
    if (this.packed.has(name)) return;
    const absolute = name === '' ? this.root : path.join(this.root, name);
    let stat: fs.Stats;
    try {
      stat = fs.lstatSync(absolute);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return this.skip(name, 'not found');
      throw err;
    }
    this.packed.add(name);
    if (stat.isDirectory()) return this.addDirectory(name, absolute, stat);
    if (stat.isFile()) return this.addFile(name, absolute, stat);
    if (stat.isSymbolicLink()) return this.addSymlink(name, absolute, stat);
    this.skip(name, 'not a file, folder or symlink');
  }

  private async addDirectory(name: string, absolute: string, stat: fs.Stats): Promise<void> {
    if (name !== '') await this.writeEntry({ name, type: 'directory', mode: 0o755, mtime: stat.mtime });
    const children = fs.readdirSync(absolute).sort();
    for (const child of children) await this.add(name === '' ? child : `${name}/${child}`);
  }

  private async addFile(name: string, absolute: string, stat: fs.Stats): Promise<void> {
    const header: EntryHeader = { name, type: 'file', mode: maskedFileMode(stat.mode), mtime: stat.mtime };
    if (stat.size <= SMALL_FILE_BYTES) {
      const content = fs.readFileSync(absolute);
      return this.writeEntry({ ...header, size: content.length }, content);
    }
    return this.streamFile({ ...header, size: stat.size }, absolute);
  }

  private async addSymlink(name: string, absolute: string, stat: fs.Stats): Promise<void> {
    const target = fs.readlinkSync(absolute);
    const resolved = path.resolve(path.dirname(absolute), target);
    if (!isInside(this.root, resolved)) return this.skip(name, 'symlink points outside the packed folder');
    // Stored relative and normalised, the only form extraction accepts.
    const linkname = toArchiveName(path.relative(path.dirname(absolute), resolved)) || '.';
    await this.writeEntry({ name, type: 'symlink', linkname, mode: 0o777, mtime: stat.mtime });
  }

  private skip(name: string, reason: string): void {
    this.onSkip({ path: name, reason });
  }

  /** Resolves once the entry's bytes are in the pack's buffer, which gives backpressure. */
  private writeEntry(header: EntryHeader, content?: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = (err?: Error | null): void => (err ? reject(err) : resolve());
      if (content === undefined) this.pack.entry(header, done);
      else this.pack.entry(header, content, done);
    });
  }

  private streamFile(header: EntryHeader, absolute: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const sink = this.pack.entry(header, (err?: Error | null) => (err ? reject(err) : resolve()));
      // end is inclusive; a file that grew is cut at the stat'ed size, one that shrank fails the tar.
      const file = fs.createReadStream(absolute, { start: 0, end: Math.max(0, (header.size ?? 0) - 1) });
      file.on('error', (err) => sink.destroy(err));
      file.pipe(sink);
    });
  }
}
