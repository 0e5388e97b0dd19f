/** Writing single archive entries safely: exclusive creates, masked modes, contained link targets. */
import * as fs from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type * as tar from 'tar-stream';
import { maskedFileMode, unsafeEntry } from './archive-paths';

/** The body stream tar-stream hands out per entry (a streamx Readable, async-iterable). */
export type EntryStream = tar.ExtractEvents['entry'][1];

/** Entries up to this size are gathered and written with one synchronous call. */
const SMALL_ENTRY_BYTES = 256 * 1024;

/** Creates the file exclusively ('wx'), so an existing file or symlink at that name is never written through. */
export async function writeEntryFile(stream: EntryStream, absolute: string, size: number, mode: number): Promise<void> {
  const options = { flag: 'wx', mode: maskedFileMode(mode) } as const;
  if (size > SMALL_ENTRY_BYTES) {
    await pipeline(stream, fs.createWriteStream(absolute, { flags: options.flag, mode: options.mode }));
    return;
  }
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(part as Buffer);
  fs.writeFileSync(absolute, parts.length === 1 ? parts[0]! : Buffer.concat(parts), options);
}

/**
 * Accepts only relative targets of the form `../../a/b`: climbs first (never above the
 * extraction folder), then descends. A `..` after a name could climb out through another
 * symlink, since the kernel resolves `..` after following links, so it is refused.
 */
export function writeSymlink(shownName: string, name: string, linkname: string, absolute: string): void {
  checkSymlinkTarget(shownName, name, linkname);
  fs.symlinkSync(linkname, absolute);
}

/** The rules of writeSymlink without writing: what an inspection (no extraction) applies. */
export function checkSymlinkTarget(shownName: string, name: string, linkname: string): void {
  if (linkname === '') throw unsafeEntry(shownName, 'symlink has no target');
  if (linkname.includes('\0')) throw unsafeEntry(shownName, 'symlink target contains a NUL byte');
  if (linkname.includes('\\')) throw unsafeEntry(shownName, 'symlink target contains a backslash');
  if (linkname.startsWith('/') || /^[A-Za-z]:/.test(linkname))
    throw unsafeEntry(shownName, 'symlink target is absolute');
  const parts = linkname.split('/').filter((part) => part !== '' && part !== '.');
  const climbs = parts.findIndex((part) => part !== '..');
  const climbCount = climbs < 0 ? parts.length : climbs;
  if (parts.slice(climbCount).includes('..')) throw unsafeEntry(shownName, 'symlink target has ".." after a name');
  const depth = name.split('/').length - 1;
  if (climbCount > depth) throw unsafeEntry(shownName, 'symlink target points outside the extraction folder');
}

/** Hard links may only point at a regular file this archive already wrote. */
export function writeHardlink(shownName: string, targetAbsolute: string, absolute: string): void {
  let target: fs.Stats;
  try {
    target = fs.lstatSync(targetAbsolute);
  } catch {
    throw unsafeEntry(shownName, 'hard link target does not exist in the archive');
  }
  if (!target.isFile()) throw unsafeEntry(shownName, 'hard link target is not a regular file');
  fs.linkSync(targetAbsolute, absolute);
}
