/** Temp folders under one sandbox parent, and snapshots of a tree to prove nothing was written outside a folder. */
import { lstatSync, mkdtempSync, readdirSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';

export interface Sandbox {
  root: string;
  dir(name: string): string;
  dispose(): void;
}

export function createSandbox(label: string): Sandbox {
  const root = realpathSync(mkdtempSync(join(tmpdir(), `nxsc-hardening-${label}-`)));
  return {
    root,
    dir: (name) => join(root, name),
    dispose: () => rmSync(root, { recursive: true, force: true }),
  };
}

/** Every path under `root` with its type and size, links not followed; paths under `exclude` are left out. */
export function snapshotTree(root: string, exclude: string[] = [], limit = 20_000): Map<string, string> {
  const out = new Map<string, string>();
  const skip = exclude.map((dir) => relative(root, dir));
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      if (out.size >= limit) return;
      const full = join(dir, name);
      const rel = relative(root, full);
      if (skip.some((s) => rel === s || rel.startsWith(s + sep))) continue;
      const stat = lstatSync(full);
      const kind = stat.isSymbolicLink() ? 'link' : stat.isDirectory() ? 'dir' : stat.isFile() ? 'file' : 'other';
      out.set(rel, `${kind}:${stat.isFile() ? stat.size : 0}`);
      if (kind === 'dir') walk(full);
    }
  };
  walk(root);
  return out;
}

/** The paths that differ between two snapshots (added, removed or changed). */
export function treeChanges(before: Map<string, string>, after: Map<string, string>): string[] {
  const changed: string[] = [];
  for (const [path, what] of after)
    if (before.get(path) !== what) changed.push(`${before.has(path) ? 'changed' : 'added'} ${path}`);
  for (const path of before.keys()) if (!after.has(path)) changed.push(`removed ${path}`);
  return changed.sort();
}

/** Files (not folders) under `dir`, relative; [] when it does not exist. */
export function filesUnder(dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir, { recursive: true }) as string[];
  } catch {
    return [];
  }
  return entries.filter((rel) => !lstatSync(join(dir, rel)).isDirectory()).sort();
}
