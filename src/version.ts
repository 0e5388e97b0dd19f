import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const PACKAGE_NAMES = new Set(['nx-sealed-cache', 'nx-sealed-cache-server']);

/** The package version, found by walking up from this file (src/ under ts-jest, dist/ of either package). */
export function packageVersion(): string {
  for (const up of ['..', '../..', '../../..']) {
    try {
      const pkg = JSON.parse(readFileSync(join(__dirname, up, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (PACKAGE_NAMES.has(pkg.name ?? '') && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // Not at this level; keep walking.
    }
  }
  return '0.0.0';
}
