/**
 * Packing and restoring one entry of Nx's legacy file cache (Nx 17-20 with custom runners).
 * Nx writes, per hash, in its cache directory (nx/src/tasks-runner/cache.js `put`):
 *   <hash>/terminalOutput   the task's output text ('no terminal output' when none)
 *   <hash>/outputs/...      the task outputs, at their workspace-relative paths
 *   <hash>/code             the exit code as decimal text, e.g. "0"
 *   <hash>/source           this machine's id; Nx refuses a local entry whose id is foreign
 *   <hash>.commit           'true', written last; Nx only reads entries that have it
 * We carry terminalOutput, outputs and code, never source, and write <hash>.commit last.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type Readable } from 'node:stream';
import { SealedCacheError } from '../errors';
import { CACHE_HASH_PATTERN } from '../protocol';
import { extractArchive, type ExtractLimits } from './extract';
import { packDirectory, type PackOptions, type SkippedEntry } from './pack';

export const LEGACY_TERMINAL_OUTPUT = 'terminalOutput';
export const LEGACY_CODE = 'code';
export const LEGACY_OUTPUTS = 'outputs';
const LEGACY_ENTRIES = [LEGACY_TERMINAL_OUTPUT, LEGACY_CODE, LEGACY_OUTPUTS] as const;
const EXIT_CODE_PATTERN = /^-?\d{1,10}$/;
const MAX_CODE_BYTES = 32;

export interface PackedLegacyEntry {
  /** gzip'd tar of terminalOutput, code and outputs/**; its length is unknown until it ends. */
  readonly stream: Readable;
  /** Filled while `stream` is read: outputs left out (say, a symlink leaving the entry). */
  readonly skipped: SkippedEntry[];
}

/** Packs `<cacheDirectory>/<hash>`; null when Nx has not committed that entry. */
export async function packLegacyCacheEntry(
  cacheDirectory: string,
  hash: string,
  options: Omit<PackOptions, 'onSkip'> = {},
): Promise<PackedLegacyEntry | null> {
  const entryDir = path.join(cacheDirectory, assertHash(hash));
  if (!isFile(`${entryDir}.commit`) || !isFile(path.join(entryDir, LEGACY_TERMINAL_OUTPUT))) return null;
  const skipped: SkippedEntry[] = [];
  const stream = packDirectory(entryDir, LEGACY_ENTRIES, { ...options, onSkip: (entry) => skipped.push(entry) });
  return { stream, skipped };
}

/**
 * Restores an entry packed by `packLegacyCacheEntry` into `<cacheDirectory>/<hash>`: extracts into
 * a scratch folder beside it, checks the shape, renames it into place, then writes `<hash>.commit`.
 * On any failure the scratch folder is removed, `<hash>` is untouched, and the error is thrown.
 * Resolves true when restored, false when a committed entry appeared meanwhile (ours is dropped).
 */
export async function restoreLegacyCacheEntry(
  source: Readable,
  cacheDirectory: string,
  hash: string,
  limits?: ExtractLimits,
): Promise<boolean> {
  const entryDir = path.join(cacheDirectory, assertHash(hash));
  const commitFile = `${entryDir}.commit`;
  fs.mkdirSync(cacheDirectory, { recursive: true });
  const scratch = fs.mkdtempSync(path.join(cacheDirectory, `.${hash}.incoming-`));
  try {
    await extractArchive(source, scratch, limits);
    checkLegacyShape(scratch);
    if (fs.existsSync(commitFile)) {
      fs.rmSync(scratch, { recursive: true, force: true });
      return false;
    }
    // An uncommitted folder is a leftover of an interrupted write; Nx's own `put` clears it the same way.
    fs.rmSync(entryDir, { recursive: true, force: true });
    fs.renameSync(scratch, entryDir);
  } catch (err) {
    source.destroy();
    fs.rmSync(scratch, { recursive: true, force: true });
    throw err;
  }
  fs.writeFileSync(commitFile, 'true');
  return true;
}

function checkLegacyShape(folder: string): void {
  const allowed = new Set<string>(LEGACY_ENTRIES);
  for (const name of fs.readdirSync(folder)) {
    if (!allowed.has(name)) throw badShape(`unexpected top-level entry ${JSON.stringify(name.slice(0, 100))}`);
  }
  if (!isFile(path.join(folder, LEGACY_TERMINAL_OUTPUT))) throw badShape('terminalOutput is missing or not a file');
  const codeFile = path.join(folder, LEGACY_CODE);
  const code = fs.lstatSync(codeFile, { throwIfNoEntry: false });
  // Nx reads a missing code as 0, so it is optional; when present it must be what Nx writes.
  if (code !== undefined) {
    if (!code.isFile() || code.size > MAX_CODE_BYTES) throw badShape('code is not a small file');
    if (!EXIT_CODE_PATTERN.test(fs.readFileSync(codeFile, 'utf8').trim())) throw badShape('code is not an exit code');
  }
  const outputs = path.join(folder, LEGACY_OUTPUTS);
  if (isSymlink(outputs)) throw badShape('outputs is a symlink');
  if (!fs.existsSync(outputs)) fs.mkdirSync(outputs);
  else if (!fs.statSync(outputs).isDirectory()) throw badShape('outputs is not a folder');
}

function badShape(reason: string): SealedCacheError {
  return new SealedCacheError('ERR_ARCHIVE_UNSAFE_ENTRY', `archive is not an Nx cache entry: ${reason}`);
}

function assertHash(hash: string): string {
  if (!CACHE_HASH_PATTERN.test(hash)) {
    throw new SealedCacheError(
      'ERR_CACHE_HASH_INVALID',
      `task hash must be 1-128 characters of [A-Za-z0-9_-] (got ${hash.length} characters)`,
    );
  }
  return hash;
}

function isFile(file: string): boolean {
  return fs.lstatSync(file, { throwIfNoEntry: false })?.isFile() ?? false;
}

function isSymlink(file: string): boolean {
  return fs.lstatSync(file, { throwIfNoEntry: false })?.isSymbolicLink() ?? false;
}
