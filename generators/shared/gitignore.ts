/** Adds ignore lines for state files that live inside the workspace, once each. */
import type { WorkspaceTree } from '../../src/nx-config/nx-devkit';

/**
 * Files this package writes inside a workspace. Empty today: the login file lives under
 * `$XDG_CONFIG_HOME` and the sealing proxy keeps its state under `$XDG_RUNTIME_DIR` or the temp dir.
 */
export const WORKSPACE_STATE_PATHS: readonly string[] = [];

/** Returns the lines it added; touches nothing when every entry is already there. */
export function addGitignoreEntries(tree: WorkspaceTree, entries: readonly string[]): string[] {
  if (entries.length === 0) return [];
  const current = tree.exists('.gitignore') ? (tree.read('.gitignore', 'utf-8') ?? '') : '';
  const present = new Set(current.split(/\r?\n/).map((line) => line.trim()));
  const missing = entries.filter((entry) => !present.has(entry));
  if (missing.length === 0) return [];
  const separator = current === '' || current.endsWith('\n') ? '' : '\n';
  tree.write('.gitignore', `${current}${separator}\n# nx-sealed-cache local state\n${missing.join('\n')}\n`);
  return missing;
}
