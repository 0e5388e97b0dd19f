/**
 * Walks a tar stream block by block and refuses, as early as it can, any entry outside the form Nx
 * writes (see nx-tar-form.ts) or unsafe for the Nx clients the cache serves: reserved root names,
 * a `code` that is not 4 bytes, climbing or absolute names, duplicates, links when asked.
 */
import { Writable } from 'node:stream';
import { normaliseEntryName, unsafeEntry } from './archive-paths';
import {
  BLOCK,
  MAX_NAME_BYTES,
  decodeName,
  isZeroBlock,
  longNameFromPayload,
  nonstandard,
  parseHeader,
  parsePaxPayload,
  type ParsedHeader,
} from './nx-tar-form';

export interface ArtifactPolicy {
  /** `inside`: symlinks whose target stays in the archive (Nx 24 writes them). `refuse`: for clients that follow links on restore. */
  symlinks: 'inside' | 'refuse';
  /** Refuse a `code` other than 0: affected Nx reads 2 of its 4 bytes, so a cached failure restores as success. */
  requireZeroExitCode: boolean;
  maxEntries: number;
  /** Also accept tar-stream's form (POSIX ustar, pax path/linkpath) that this package's runner uploads; never mixed with GNU names. */
  packerForm: boolean;
}

export const RESERVED_ROOT_NAMES = ['code', 'terminalOutput'] as const;

type State =
  | { at: 'header' }
  | { at: 'data'; left: number; padding: number; keep?: Buffer[]; onDone?: (data: Buffer) => void }
  | { at: 'end' };

export class NxTarWalker extends Writable {
  private state: State = { at: 'header' };
  private pending: Buffer = Buffer.alloc(0);
  private longName: Buffer | null = null;
  private longLink: Buffer | null = null;
  private pax: Map<string, Buffer> | null = null;
  private sawGnuNames = false;
  private sawPax = false;
  private readonly seen = new Set<string>();
  private entries = 0;
  exitCode: number | null = null;

  constructor(private readonly policy: ArtifactPolicy) {
    super();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    try {
      this.consume(chunk);
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (this.state.at === 'data' || this.pending.length > 0)
      return callback(nonstandard('the tar ends inside an entry'));
    if (this.longName || this.longLink) return callback(nonstandard('a GNU long-name record is the last entry'));
    callback();
  }

  private consume(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length) {
      const state = this.state;
      if (state.at === 'end') {
        // Nx's extractor stops at the first zero block, tar-stream reads on: nothing may hide behind it.
        if (!isZeroBlock(chunk.subarray(offset))) throw nonstandard('data follows the end-of-archive block');
        return;
      }
      if (state.at === 'data') {
        const take = Math.min(state.left + state.padding, chunk.length - offset);
        const dataPart = Math.min(take, state.left);
        if (state.keep && dataPart > 0) state.keep.push(chunk.subarray(offset, offset + dataPart));
        state.left -= dataPart;
        state.padding -= take - dataPart;
        offset += take;
        if (state.left === 0 && state.padding === 0) {
          this.state = { at: 'header' };
          state.onDone?.(Buffer.concat(state.keep ?? []));
        }
        continue;
      }
      const need = BLOCK - this.pending.length;
      const piece = chunk.subarray(offset, offset + need);
      offset += piece.length;
      this.pending = this.pending.length === 0 && piece.length === BLOCK ? piece : Buffer.concat([this.pending, piece]);
      if (this.pending.length < BLOCK) continue;
      const block = this.pending;
      this.pending = Buffer.alloc(0);
      this.onHeader(block);
    }
  }

  private onHeader(block: Buffer): void {
    if (isZeroBlock(block)) {
      if (this.longName || this.longLink || this.pax) throw nonstandard('an extended-name record is the last entry');
      this.state = { at: 'end' };
      return;
    }
    const header = parseHeader(block, { packerForm: this.policy.packerForm });
    if (header.kind === 'long-name' || header.kind === 'long-link') return this.expectLongName(header);
    if (header.kind === 'pax') return this.expectPax(header);
    this.entries += 1;
    if (this.entries > this.policy.maxEntries) throw nonstandard(`more than ${this.policy.maxEntries} entries`);
    const name = this.effectiveName(header);
    const link = this.effectiveLink(header);
    this.checkEntry(header, name, link);
    this.skipData(header.size, name === 'code' ? (data) => this.onCode(data) : undefined);
  }

  /** Readers disagree only when pax and GNU names meet, so one archive may carry one kind, never both. */
  private expectPax(header: ParsedHeader): void {
    if (this.pax || this.longName || this.longLink) throw nonstandard('two extended-name records in a row');
    if (this.sawGnuNames) throw nonstandard('pax records and GNU long names in one archive');
    this.sawPax = true;
    if (header.size > 2 * (MAX_NAME_BYTES + 32)) throw nonstandard('a pax record is longer than any path');
    this.skipData(header.size, (payload) => (this.pax = parsePaxPayload(payload)));
  }

  private expectLongName(header: ParsedHeader): void {
    if (this.longName || this.longLink || this.pax) throw nonstandard('two extended-name records in a row');
    if (this.sawPax) throw nonstandard('pax records and GNU long names in one archive');
    this.sawGnuNames = true;
    if (header.size > MAX_NAME_BYTES + 1) throw nonstandard('a GNU long name is longer than any path');
    this.skipData(header.size, (payload) => {
      const name = longNameFromPayload(payload);
      if (header.kind === 'long-name') this.longName = name;
      else this.longLink = name;
    });
  }

  /** With a GNU long name, the header's own field must be its first 100 bytes, as Nx writes it. */
  private effectiveName(header: ParsedHeader): string {
    const paxPath = this.pax?.get('path');
    if (paxPath) return decodeName(paxPath, 'name');
    const long = this.longName;
    this.longName = null;
    if (long && !header.nameField.equals(long.subarray(0, 100)))
      throw nonstandard('a header name disagrees with its GNU long name');
    return decodeName(long ?? header.nameField, 'name');
  }

  private effectiveLink(header: ParsedHeader): string {
    const paxLink = this.pax?.get('linkpath');
    this.pax = null;
    if (paxLink && header.kind !== 'symlink') throw nonstandard('a pax link path on an entry that is not a link');
    if (paxLink) return decodeName(paxLink, 'link name');
    const long = this.longLink;
    this.longLink = null;
    if (long && header.kind !== 'symlink') throw nonstandard('a GNU long link name on an entry that is not a link');
    if (long && !header.linkField.equals(long.subarray(0, 100)))
      throw nonstandard('a link name disagrees with its GNU long link name');
    return decodeName(long ?? header.linkField, 'link name');
  }

  private checkEntry(header: ParsedHeader, name: string, link: string): void {
    const normal = normaliseEntryName(name);
    // Nx writes `a/b`: a `./`, a `//` or a trailing `/` is read differently by different extractors.
    if (normal !== name || name === '') throw unsafeEntry(name, 'is not a plain relative name');
    if (this.seen.has(name)) throw unsafeEntry(name, 'appears twice');
    this.seen.add(name);
    const root = name.split('/')[0]!;
    if ((RESERVED_ROOT_NAMES as readonly string[]).includes(root)) {
      if (root !== name || header.kind !== 'file')
        throw unsafeEntry(name, `the root name ${root} is reserved for a plain file (affected Nx panics)`);
      // The runner's legacy entries hold the exit code as text; Nx 20.8+ as 4 bytes.
      const textCode = this.policy.packerForm && header.posix && header.size >= 1 && header.size <= 11;
      if (name === 'code' && header.size !== 4 && !textCode)
        throw unsafeEntry(name, `the exit code must be exactly 4 bytes, not ${header.size}`);
    }
    if (header.kind === 'symlink') {
      if (this.policy.symlinks === 'refuse') throw unsafeEntry(name, 'is a link (this Nx follows links on restore)');
      if (link === '' || link.startsWith('/') || link.includes('\\') || link.includes('\0'))
        throw unsafeEntry(name, 'has an absolute or empty link target');
    }
  }

  private onCode(data: Buffer): void {
    if (data.length !== 4) {
      if (!/^-?\d+$/.test(data.toString('latin1'))) throw unsafeEntry('code', 'a text exit code that is not a number');
      this.exitCode = Number(data.toString('latin1'));
      return;
    }
    this.exitCode = data.readUInt32BE(0);
    if (this.policy.requireZeroExitCode && this.exitCode !== 0) {
      throw unsafeEntry('code', `the task failed (exit code ${this.exitCode}); this Nx would restore it as a success`);
    }
  }

  private skipData(size: number, onDone?: (data: Buffer) => void): void {
    const padding = (BLOCK - (size % BLOCK)) % BLOCK;
    if (size === 0) {
      onDone?.(Buffer.alloc(0));
      return;
    }
    this.state = { at: 'data', left: size, padding, ...(onDone ? { keep: [], onDone } : {}) };
  }
}
