/** What a run from a clean clone needs: the built package, the Nx fixtures, and the benchmark's own installs. */
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../tests/e2e/harness/paths';

/** Folders with a package.json and lockfile of their own, installed with `npm ci` when missing or stale. */
export const BENCH_INSTALLS = [
  join(REPO_ROOT, 'bench'),
  join(REPO_ROOT, 'bench', 'fixtures', 'nx20-remotecache-custom'),
];

function run(command: string, args: string[], cwd: string): void {
  const result = spawnSync(command, args, { cwd, stdio: ['ignore', 'inherit', 'inherit'], timeout: 600_000 });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed in ${cwd} (exit ${result.status})`);
}

function isStale(dir: string): boolean {
  // A linked node_modules is another checkout's install, which npm ci through the link would empty.
  const modules = join(dir, 'node_modules');
  if (existsSync(modules) && lstatSync(modules).isSymbolicLink()) return false;
  const installed = join(dir, 'node_modules', '.package-lock.json');
  return !existsSync(installed) || statSync(installed).mtimeMs < statSync(join(dir, 'package-lock.json')).mtimeMs;
}

export async function ensurePrerequisites(log: (line: string) => void): Promise<void> {
  // Only from a clean clone: rebuilding dist/ under other running tests would change what they run.
  if (!existsSync(join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js'))) {
    log('building the package (npm run build) ...');
    run('npm', ['run', 'build', '--silent'], REPO_ROOT);
  }
  run(process.execPath, [join(REPO_ROOT, 'tests', 'fixtures', 'install.js')], REPO_ROOT);
  for (const dir of BENCH_INSTALLS) {
    if (!isStale(dir)) continue;
    log(`installing ${dir} (npm ci) ...`);
    run('npm', ['ci', '--no-audit', '--no-fund'], dir);
  }
}
