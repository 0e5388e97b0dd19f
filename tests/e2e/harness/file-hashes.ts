/** sha256 of every file in a folder, for byte-identical comparisons of task outputs. */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, posix } from 'node:path';

export function sha256(content: Buffer | string): string {
  return createHash('sha256').update(content).digest('hex');
}

/** Keys are `dir/...` relative to `root` with `/` separators; an absent folder gives `{}`. */
export function hashFiles(root: string, dir: string): Record<string, string> {
  const hashes: Record<string, string> = {};
  const visit = (relativeDir: string): void => {
    for (const entry of readdirSync(join(root, relativeDir), { withFileTypes: true })) {
      const relativePath = posix.join(relativeDir, entry.name);
      if (entry.isDirectory()) visit(relativePath);
      else hashes[relativePath] = sha256(readFileSync(join(root, relativePath)));
    }
  };
  if (existsSync(join(root, dir))) visit(dir);
  return Object.fromEntries(Object.entries(hashes).sort(([a], [b]) => a.localeCompare(b)));
}
