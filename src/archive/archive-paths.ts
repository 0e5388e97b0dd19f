/** Path rules shared by packing and extraction: archive names are relative, `/`-separated and never climb. */
import * as path from 'node:path';
import { SealedCacheError } from '../errors';

export function unsafeEntry(name: string, reason: string): SealedCacheError {
  // The name comes from a possibly hostile archive: quote it, and keep it short.
  const shown = JSON.stringify(name.length > 200 ? `${name.slice(0, 200)}...` : name);
  return new SealedCacheError('ERR_ARCHIVE_UNSAFE_ENTRY', `archive entry ${shown} refused: ${reason}`);
}

/**
 * Normalises an archive entry name to `a/b/c`, or '' for the archive root. Throws for absolute
 * names, drive letters, backslashes, NUL bytes and any `..` segment.
 */
export function normaliseEntryName(name: string): string {
  if (name.includes('\0')) throw unsafeEntry(name, 'contains a NUL byte');
  if (name.includes('\\')) throw unsafeEntry(name, 'contains a backslash');
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name)) throw unsafeEntry(name, 'is an absolute path');
  const parts = name.split('/').filter((part) => part !== '' && part !== '.');
  if (parts.includes('..')) throw unsafeEntry(name, 'contains a ".." segment');
  return parts.join('/');
}

/** True when `candidate` is `root` or lies below it (both absolute, already resolved). */
export function isInside(root: string, candidate: string): boolean {
  const relative = path.relative(root, candidate);
  const climbs = relative === '..' || relative.startsWith(`..${path.sep}`);
  return !climbs && !path.isAbsolute(relative);
}

/** Converts a platform path relative to a root into an archive name. */
export function toArchiveName(relativePath: string): string {
  return relativePath.split(path.sep).join('/');
}

/** Only the executable bit survives: no setuid, setgid, sticky or group/world write. */
export function maskedFileMode(mode: number): number {
  return mode & 0o111 ? 0o755 : 0o644;
}
