/** A throwaway Nx workspace made from a fixture: run the real nx CLI in it, inspect outputs and cache, clean up. */
import type { ChildProcess } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { hashFiles } from './file-hashes';
import { type FixtureName, REPO_ROOT, WORKSPACE_TEMPLATE_DIR, fixtureDir } from './paths';
import { processesUnder } from './process-table';
import { type ProcessResult, assertSucceeded, killOwnedProcesses, runProcess } from './processes';
import { type TaskOutcome, parseTaskOutcomes } from './task-outcomes';

/** nx.json, loosely: tests add plugins, runners or options and leave the rest alone. */
export interface NxJson {
  plugins?: unknown[];
  tasksRunnerOptions?: Record<string, unknown>;
  [key: string]: unknown;
}

/** Values set for one run; `undefined` removes a variable. */
export type RunEnv = Record<string, string | undefined>;

export interface WorkspaceOptions {
  /** Change nx.json before the first run (add a plugin, a tasks runner, ...). */
  patchNxJson?: (nxJson: NxJson) => NxJson | void;
  /** Run Nx with the daemon on; dispose stops it. Default false. */
  daemon?: boolean;
  /** `git init` the workspace (no commit). Default true. */
  git?: boolean;
  /** Link `node_modules/nx-sealed-cache` to the repository root (its built `dist/`). Default true. */
  linkPackage?: boolean;
  /** Variables for every run of this workspace (a run's own env wins). */
  env?: RunEnv;
  /** Bound on one nx run. Default 120 s. */
  timeoutMs?: number;
}

export interface NxRunResult extends ProcessResult {
  /** Per project, for the `build` target: where its result came from. */
  outcomes: Record<string, TaskOutcome>;
}

export interface NxWorkspace {
  fixture: FixtureName;
  /** The workspace root (realpath). */
  root: string;
  /** NX_CACHE_DIRECTORY of every run; recreated empty by reset(). */
  cacheDir: string;
  /** HOME of every run, empty at first, so no developer's stored login leaks into a test. */
  homeDir: string;
  /** Temp dir holding root, cacheDir and homeDir; removed by dispose(). */
  tempDir: string;
  projects: string[];
  /** Runs the workspace's own nx with `args` (plus `--output-style=static` for task-running commands). */
  run(args: string[], env?: RunEnv, options?: { timeoutMs?: number }): Promise<NxRunResult>;
  /** `nx run-many -t build` for every project. */
  build(env?: RunEnv, extraArgs?: string[]): Promise<NxRunResult>;
  /** `nx reset` and a fresh empty local cache dir, so the next run can only hit the remote cache. */
  reset(): Promise<void>;
  /** sha256 per file under `dir` (default `dist`), keys relative to the workspace root with `/`. */
  readOutputs(dir?: string): Record<string, string>;
  /** Task hashes present in the local cache (the same hashes Nx uses in remote cache URLs). */
  localCacheHashes(): string[];
  readNxJson(): NxJson;
  updateNxJson(patch: (nxJson: NxJson) => NxJson | void): void;
  /** Writes a file relative to the workspace root, creating folders. */
  writeFile(relativePath: string, content: string | Buffer): void;
  dispose(): Promise<void>;
}

const DEFAULT_TIMEOUT_MS = 120_000;
const TASK_COMMANDS = new Set(['run-many', 'run', 'affected']);

export function listProjects(): string[] {
  return readdirSync(join(WORKSPACE_TEMPLATE_DIR, 'projects')).sort();
}

function nxBinary(fixture: FixtureName): string {
  const nxDir = join(fixtureDir(fixture), 'node_modules', 'nx');
  if (!existsSync(join(nxDir, 'package.json'))) {
    throw new Error(`fixture ${fixture} is not installed: run \`node tests/fixtures/install.js\``);
  }
  const manifest = JSON.parse(readFileSync(join(nxDir, 'package.json'), 'utf8')) as { bin: Record<string, string> };
  return join(nxDir, manifest.bin.nx);
}

/**
 * One symlink per entry of the fixture's node_modules, in a real folder of the workspace's own, so a workspace
 * can add packages (nx-sealed-cache) without touching the shared fixture install.
 */
function linkNodeModules(root: string, fixture: FixtureName, linkPackage: boolean): void {
  const source = join(fixtureDir(fixture), 'node_modules');
  const target = join(root, 'node_modules');
  mkdirSync(target);
  for (const entry of readdirSync(source)) {
    if (entry === '.package-lock.json') continue;
    symlinkSync(join(source, entry), join(target, entry));
  }
  if (linkPackage) symlinkSync(REPO_ROOT, join(target, 'nx-sealed-cache'));
}

function copyTemplate(root: string, fixture: FixtureName): void {
  cpSync(WORKSPACE_TEMPLATE_DIR, root, { recursive: true });
  cpSync(join(fixtureDir(fixture), 'template'), root, { recursive: true });
}

/** The outer environment minus anything Nx or our client would read, so the host's settings never leak in. */
// Variables by which Nx (and our plugin) recognise a CI machine: a run is a developer's unless a test says otherwise,
// so the suite behaves the same on a laptop and in CI (Nx turns the daemon off on CI, the plugin adds a CI notice).
const CI_MARKERS = [
  'CI',
  'CONTINUOUS_INTEGRATION',
  'BUILD_NUMBER',
  'RUN_ID',
  'GITHUB_ACTIONS',
  'GITLAB_CI',
  'BUILDKITE',
  'CIRCLECI',
  'TF_BUILD',
  'JENKINS_URL',
  'TEAMCITY_VERSION',
  'TRAVIS',
  'CODEBUILD_BUILD_ID',
];

function cleanEnvironment(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith('NX_') || key.startsWith('GIT_') || CI_MARKERS.includes(key)) continue;
    env[key] = value;
  }
  return env;
}

function applyEnv(env: NodeJS.ProcessEnv, overrides: RunEnv): NodeJS.ProcessEnv {
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

export async function createWorkspace(fixture: FixtureName, options: WorkspaceOptions = {}): Promise<NxWorkspace> {
  const tempDir = realpathSync(mkdtempSync(join(tmpdir(), `nxsc-${fixture}-`)));
  const root = join(tempDir, 'workspace');
  const cacheDir = join(tempDir, 'nx-cache');
  const homeDir = join(tempDir, 'home');
  const children = new Set<ChildProcess>();
  const binary = nxBinary(fixture);
  const daemon = options.daemon ?? false;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const projects = listProjects();
  mkdirSync(cacheDir);
  mkdirSync(homeDir);
  copyTemplate(root, fixture);
  linkNodeModules(root, fixture, options.linkPackage ?? true);

  const environment = (runEnv: RunEnv): NodeJS.ProcessEnv =>
    applyEnv(
      applyEnv(cleanEnvironment(), {
        HOME: homeDir,
        XDG_CONFIG_HOME: join(homeDir, '.config'),
        NX_DAEMON: String(daemon),
        NX_NO_CLOUD: 'true',
        NX_TUI: 'false',
        NX_CACHE_DIRECTORY: cacheDir,
        FORCE_COLOR: '0',
        ...options.env,
      }),
      runEnv,
    );

  const readNxJson = (): NxJson => JSON.parse(readFileSync(join(root, 'nx.json'), 'utf8')) as NxJson;
  const updateNxJson = (patch: (nxJson: NxJson) => NxJson | void): void => {
    const current = readNxJson();
    const next = patch(current) ?? current;
    writeFileSync(join(root, 'nx.json'), `${JSON.stringify(next, null, 2)}\n`);
  };

  const run = async (
    args: string[],
    runEnv: RunEnv = {},
    runOptions: { timeoutMs?: number } = {},
  ): Promise<NxRunResult> => {
    const fullArgs = TASK_COMMANDS.has(args[0] ?? '') ? [...args, '--output-style=static'] : args;
    const result = await runProcess(process.execPath, [binary, ...fullArgs], {
      cwd: root,
      env: environment(runEnv),
      timeoutMs: runOptions.timeoutMs ?? timeoutMs,
      owner: children,
    });
    return { ...result, outcomes: parseTaskOutcomes(result.stdout) };
  };

  const reset = async (): Promise<void> => {
    assertSucceeded(await run(['reset']));
    rmSync(cacheDir, { recursive: true, force: true });
    mkdirSync(cacheDir);
  };

  const dispose = async (): Promise<void> => {
    try {
      if (daemon && existsSync(root)) await run(['daemon', '--stop'], {}, { timeoutMs: 30_000 });
    } finally {
      killOwnedProcesses(children);
      killNxCacheCleaners(tempDir);
      rmSync(tempDir, { recursive: true, force: true });
    }
  };

  if (options.patchNxJson) updateNxJson(options.patchNxJson);
  if (options.git ?? true) {
    assertSucceeded(
      await runProcess('git', ['init', '-q'], {
        cwd: root,
        env: cleanEnvironment(),
        timeoutMs: 30_000,
        owner: children,
      }),
    );
  }

  return {
    fixture,
    root,
    cacheDir,
    homeDir,
    tempDir,
    projects,
    run,
    build: (runEnv = {}, extraArgs = []) => run(['run-many', '-t', 'build', ...extraArgs], runEnv),
    reset,
    readOutputs: (dir = 'dist') => hashFiles(root, dir),
    localCacheHashes: () => listCacheHashes(cacheDir),
    readNxJson,
    updateNxJson,
    writeFile: (relativePath, content) => {
      mkdirSync(dirname(join(root, relativePath)), { recursive: true });
      writeFileSync(join(root, relativePath), content);
    },
    dispose,
  };
}

/**
 * Nx 17–20 start a detached `remove-old-cache-records.js` after about one run in fifty (Math.random in
 * their cache), in a process group of its own; it would outlive the workspace. Nothing else is killed here,
 * so any other process left behind still fails the "no process behind" checks.
 */
function killNxCacheCleaners(tempDir: string): void {
  for (const leftover of processesUnder(tempDir)) {
    if (!leftover.commandLine.includes('/nx/src/tasks-runner/remove-old-cache-records.js')) continue;
    try {
      process.kill(leftover.pid, 'SIGKILL');
    } catch {
      // It ended on its own meanwhile.
    }
  }
}

/** Nx (20 legacy and 24) keeps one folder per task hash in the cache dir, beside bookkeeping such as terminalOutputs. */
function listCacheHashes(cacheDir: string): string[] {
  if (!existsSync(cacheDir)) return [];
  return readdirSync(cacheDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && /^(\d+|[0-9a-f]{16,})$/.test(entry.name))
    .map((entry) => entry.name)
    .sort();
}
