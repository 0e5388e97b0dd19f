/** The Nx the workspace runs, read from its own node_modules (the hook runs inside that Nx). */
import fs from 'node:fs';
import path from 'node:path';
import { CVE_2026_71476, isAffectedByCve202671476 } from '../nx-config/nx-advisories';
import { formatNxVersion, parseNxVersion, type NxVersion } from '../nx-config/nx-version';

export function readInstalledNxVersion(workspaceRoot: string): NxVersion | null {
  try {
    const { version } = JSON.parse(readNxManifest(workspaceRoot)) as { version?: unknown };
    return typeof version === 'string' && version !== '' ? parseNxVersion(version, 'node_modules') : null;
  } catch {
    return null;
  }
}

/** One line for the run summary when this Nx needs the shield, or null. */
export function vulnerableNxNotice(version: NxVersion | null): string | null {
  if (!isAffectedByCve202671476(version)) return null;
  const which = version
    ? `Nx ${formatNxVersion(version)} is affected by`
    : 'the installed Nx version is unknown; assuming it is affected by';
  return (
    `nx-sealed-cache: ${which} ${CVE_2026_71476.id} (unsafe remote-cache extraction). ` +
    `The proxy serves it no links, no failed tasks and only plain entries; upgrade Nx to ${CVE_2026_71476.fixedIn}.`
  );
}

/**
 * The workspace's own `node_modules/nx` first (npm, yarn and pnpm all put it there): one read, where Node's
 * resolution walks and stats its way up for about ten times as long, twice a run. Resolution is the fallback.
 */
function readNxManifest(workspaceRoot: string): string {
  try {
    return fs.readFileSync(path.join(workspaceRoot, 'node_modules', 'nx', 'package.json'), 'utf8');
  } catch {
    return fs.readFileSync(require.resolve('nx/package.json', { paths: [workspaceRoot] }), 'utf8');
  }
}
