/** Known flaws of Nx's own remote-cache client that the sealing proxy shields against. */
import type { NxVersion } from './nx-version';

export interface NxAdvisory {
  id: string;
  /** What to move to, in words. */
  fixedIn: string;
}

/** CVE-2026-71476: unguarded tar extraction, links followed on restore, panics on `code`/`terminalOutput` folders, 2-byte exit code. */
export const CVE_2026_71476: NxAdvisory = {
  id: 'CVE-2026-71476',
  fixedIn: '22.7.7 (or 23.0.2 on Nx 23; 20.x and 21.x get no fix)',
};

/** Nx >= 20.8.0 < 22.7.7 and >= 23.0.0 < 23.0.2; an unknown version counts as affected. */
export function isAffectedByCve202671476(version: Pick<NxVersion, 'major' | 'minor' | 'patch'> | null): boolean {
  if (!version) return true;
  const n = version.major * 1_000_000 + version.minor * 1_000 + version.patch;
  const v = (major: number, minor: number, patch: number): number => major * 1_000_000 + minor * 1_000 + patch;
  return (n >= v(20, 8, 0) && n < v(22, 7, 7)) || (n >= v(23, 0, 0) && n < v(23, 0, 2));
}
