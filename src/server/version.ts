import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The package version, found by walking up from this file (works from src/ under ts-jest and from dist/). */
export function packageVersion(): string {
  for (const up of ['..', '../..', '../../..']) {
    try {
      const pkg = JSON.parse(readFileSync(join(__dirname, up, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'nx-sealed-cache' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // Not at this level; keep walking.
    }
  }
  return '0.0.0';
}
