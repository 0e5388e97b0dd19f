/** Where the e2e suite finds the repository, its build and the Nx fixtures. */
import { join, resolve } from 'node:path';

export type FixtureName = 'nx17' | 'nx18' | 'nx19' | 'nx20' | 'nx22' | 'nx24';

export const REPO_ROOT = resolve(__dirname, '..', '..', '..');
export const FIXTURES_DIR = join(REPO_ROOT, 'tests', 'fixtures');
export const WORKSPACE_TEMPLATE_DIR = join(FIXTURES_DIR, 'workspace-template');
export const CLI_ENTRY = join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');

export function fixtureDir(fixture: FixtureName): string {
  return join(FIXTURES_DIR, fixture);
}

/** Per e2e test; Nx runs inside are bounded well below it so a hang fails with output rather than a bare timeout. */
export const E2E_TEST_TIMEOUT_MS = 240_000;
