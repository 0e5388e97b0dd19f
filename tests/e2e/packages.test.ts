/**
 * The published packages (docs/packages.md): `nx-sealed-cache` installed alone from its tarball into an empty
 * folder brings none of the server's dependencies, is the size the README says, and its plugin, runner, proxy,
 * generators and command load; `nx-sealed-cache-server` beside it makes `nx-sealed-cache serve` work.
 * Needs the npm registry (or npm's cache) for the dependencies.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  REPO_ROOT,
  assertCliBuilt,
  assertFailed,
  assertSucceeded,
  killAllTrackedProcesses,
  runProcess,
  spawnTracked,
} from './harness';

interface Packed {
  name: string;
  tarball: string;
  files: string[];
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { packAll } = require('../../packaging/pack.js') as { packAll: (outDir: string) => Packed[] };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { serverOnlyDependencies } = require('../../packaging/packages.js') as {
  serverOnlyDependencies: (root: unknown) => string[];
};

const rootManifest = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
let work: string;
let project: string;
let packed: Packed[];
const tarball = (name: string): string => packed.find((p) => p.name === name)!.tarball;

/** Every package name installed anywhere under node_modules (nested copies too). */
function installedPackages(dir: string, found = new Set<string>()): Set<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    const names = entry.name.startsWith('@')
      ? readdirSync(join(dir, entry.name)).map((sub) => `${entry.name}/${sub}`)
      : [entry.name];
    for (const name of names) {
      found.add(name);
      const nested = join(dir, name, 'node_modules');
      if (statSync(nested, { throwIfNoEntry: false })?.isDirectory()) installedPackages(nested, found);
    }
  }
  return found;
}

/** The bytes of the files under a folder, as the README counts them. */
function filesSize(dir: string): number {
  return readdirSync(dir, { withFileTypes: true }).reduce((sum, entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sum + filesSize(path);
    return entry.isFile() ? sum + statSync(path).size : sum;
  }, 0);
}

/** The README's figure for a package's row, in MB. */
function readmeSize(pkg: string): number {
  const row = readme.split('\n').find((line) => line.startsWith(`| \`${pkg}\` |`));
  const figure = /\*\*([\d.]+) MB\*\*/.exec(row ?? '')?.[1];
  if (!figure) throw new Error(`no install size for ${pkg} in the README's package table`);
  return Number(figure);
}

const npmInstall = (...tgz: string[]) =>
  runProcess('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', ...tgz], {
    cwd: project,
    env: { ...process.env, npm_config_update_notifier: 'false' },
    timeoutMs: 180_000,
  });
const bin = (name: string, args: string[]) =>
  runProcess(join(project, 'node_modules', '.bin', name), args, {
    cwd: project,
    env: { PATH: process.env.PATH, HOME: project, XDG_CONFIG_HOME: join(project, 'config') },
    timeoutMs: 30_000,
  });

beforeAll(() => {
  assertCliBuilt();
  work = mkdtempSync(join(tmpdir(), 'nxsc-packages-'));
  project = join(work, 'project');
  packed = packAll(join(work, 'packed'));
  // An empty project folder of its own (with a package.json), so npm does not climb to another project.
  mkdirSync(project);
});
afterAll(() => {
  killAllTrackedProcesses();
  rmSync(work, { recursive: true, force: true });
});

it('nx-sealed-cache alone: no server dependency, the README size, and every entry point loads', async () => {
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'probe', private: true }));
  assertSucceeded(await npmInstall(tarball('nx-sealed-cache')));
  const modules = join(project, 'node_modules');
  const installed = installedPackages(modules);
  expect(installed.has('nx-sealed-cache')).toBe(true);
  const serverOnly = serverOnlyDependencies(rootManifest);
  expect(serverOnly).toEqual(expect.arrayContaining(['fastify', 'kysely', 'pg', 'node-sqlite3-wasm', 'jose']));
  expect([...installed].filter((name) => serverOnly.includes(name) || /^@(aws-sdk|fastify)\//.test(name))).toEqual([]);
  expect(installed.has('nx-sealed-cache-server')).toBe(false);

  const megabytes = filesSize(modules) / 1e6;
  const stated = readmeSize('nx-sealed-cache');
  // Dependency ranges move between registry releases; the README's figure must stay within a quarter.
  expect(Math.abs(megabytes - stated) / stated).toBeLessThan(0.25);

  const load = await runProcess(
    process.execPath,
    [
      '-e',
      `const m = require('nx-sealed-cache');
       const plugin = require('nx-sealed-cache/dist/src/plugin');
       require('nx-sealed-cache/dist/src/runner');
       require('nx-sealed-cache/dist/src/proxy/proxy-server');
       require('nx-sealed-cache/dist/generators/init/generator');
       require('nx-sealed-cache/dist/generators/convert-to-id/generator');
       require('nx-sealed-cache/dist/executors/serve/executor');
       console.log(JSON.stringify({ name: m.name, keys: Object.keys(m).sort(),
         hooks: [typeof plugin.preTasksExecution, typeof plugin.postTasksExecution] }));`,
    ],
    { cwd: project, env: process.env, timeoutMs: 30_000 },
  );
  expect(JSON.parse(assertSucceeded(load).stdout)).toEqual({
    name: 'nx-sealed-cache',
    keys: ['default', 'name', 'postTasksExecution', 'preTasksExecution'],
    hooks: ['function', 'function'],
  });

  const help = assertSucceeded(await bin('nx-sealed-cache', ['--help']));
  for (const command of ['login', 'logout', 'whoami', 'doctor', 'proxy'])
    expect(help.stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
  expect(help.stdout).toMatch(/^ {2}serve +run the cache server \(needs the nx-sealed-cache-server\s+package\)/m);
  const serve = assertFailed(await bin('nx-sealed-cache', ['serve', '--data-dir', join(work, 'data')]));
  expect(serve.exitCode).toBe(1);
  expect(serve.stderr).toContain(
    `error ERR_SERVER_NOT_INSTALLED: \`nx-sealed-cache serve\` needs the server, which is a package of its own: npm install nx-sealed-cache-server@${rootManifest.version}`,
  );
});

it('nx-sealed-cache-server beside it: the README size, and `nx-sealed-cache serve` runs the server', async () => {
  assertSucceeded(await npmInstall(tarball('nx-sealed-cache'), tarball('nx-sealed-cache-server')));
  const modules = join(project, 'node_modules');
  const stated = readmeSize('nx-sealed-cache-server');
  expect(Math.abs(filesSize(modules) / 1e6 - stated) / stated).toBeLessThan(0.25);
  expect(installedPackages(modules).has('fastify')).toBe(true);
  expect(assertSucceeded(await bin('nx-sealed-cache-server', ['--version'])).stdout.trim()).toBe(rootManifest.version);

  const dataDir = join(work, 'data');
  const child = spawnTracked(
    join(modules, '.bin', 'nx-sealed-cache'),
    ['serve', '--init-admin', '--data-dir', dataDir, '--host', '127.0.0.1', '--port', '0'],
    { cwd: project, env: { PATH: process.env.PATH, HOME: project } },
  );
  try {
    const url = await listeningUrl(child);
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => (child.exitCode !== null ? resolve(undefined) : child.once('exit', resolve)));
  }
});

function listeningUrl(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      const match = /nx-sealed-cache listening on (http:\/\/\S+)/.exec(out);
      if (match?.[1]) resolve(match[1]);
    });
    child.once('exit', (code) => reject(new Error(`serve exited (${code}) before listening:\n${out}`)));
  });
}
