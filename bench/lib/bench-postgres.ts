/**
 * The PostgreSQL a section's shared-storage setup runs on, chosen once per section: the server
 * NX_SEALED_CACHE_BENCH_DATABASE_URL names; else Debian's postgresql when its binaries are installed (a
 * throwaway cluster on a free loopback port, as .ci/postgres-tests starts it); else PGlite behind
 * pglite-socket, one single-session WebAssembly engine per database. `engine` says which, for the tables.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { REPO_ROOT } from '../../tests/e2e/harness/paths';
import { freePort } from '../../tests/e2e/harness/ports';
import { assertSucceeded, killProcessGroup, runProcess, spawnTracked } from '../../tests/e2e/harness/processes';
import { startTestPostgres } from '../../tests/support/postgres';

export const BENCH_DATABASE_URL_ENV = 'NX_SEALED_CACHE_BENCH_DATABASE_URL';

export interface BenchDatabase {
  url: string;
  drop(): Promise<void>;
}

export interface BenchPostgres {
  /** For the notes: which engine, which version, and what that means for the figures. */
  engine: string;
  /** For the rows: `PostgreSQL 15.18`, `PGlite 0.4.6 (single-session WASM)`. */
  short: string;
  kind: 'pglite' | 'server';
  /** A database of its own, empty (with PGlite: an engine of its own). */
  createDatabase(): Promise<BenchDatabase>;
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 10_000;

async function serverVersion(url: string): Promise<string> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const result = await client.query<{ server_version: string }>('show server_version');
    return result.rows[0]?.server_version.split(' ')[0] ?? 'unknown';
  } finally {
    await client.end();
  }
}

function pgliteVersion(): string {
  const manifest = join(REPO_ROOT, 'node_modules', '@electric-sql', 'pglite', 'package.json');
  return (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version;
}

/** The newest Debian postgresql bin folder with both binaries, if any. */
function debianBinaries(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'initdb')) && existsSync(join(root, v, 'bin', 'postgres')))
    .sort((a, b) => Number(a) - Number(b));
  const newest = versions[versions.length - 1];
  return newest === undefined ? undefined : join(root, newest, 'bin');
}

function onServer(serverUrl: string, version: string, engine: string, stop: () => Promise<void>): BenchPostgres {
  return {
    engine,
    short: `PostgreSQL ${version}`,
    kind: 'server',
    createDatabase: async () => {
      const database = await startTestPostgres(serverUrl);
      return { url: database.url, drop: () => database.stop() };
    },
    stop,
  };
}

/**
 * initdb and postgres in a temp folder; as root they run as the `postgres` user (initdb refuses root).
 * postgres runs in the foreground, in its own process group, so nothing outlives the bench.
 */
async function startDebianCluster(bin: string): Promise<BenchPostgres> {
  const dir = mkdtempSync(join(tmpdir(), 'nxsc-bench-postgres-'));
  const asRoot = process.getuid?.() === 0;
  const command = (binary: string, args: string[]): [string, string[]] =>
    asRoot ? ['runuser', ['-u', 'postgres', '--', join(bin, binary), ...args]] : [join(bin, binary), args];
  let child: ChildProcess | undefined;
  const removeNow = (): void => {
    if (child) killProcessGroup(child);
    rmSync(dir, { recursive: true, force: true });
  };
  // Also on process.exit (the bench's Ctrl-C handler): the folder and the server go with the bench.
  process.once('exit', removeNow);
  try {
    if (asRoot)
      assertSucceeded(await runProcess('chown', ['postgres', dir], { cwd: dir, env: process.env, timeoutMs: 10_000 }));
    const [initdb, initArgs] = command('initdb', ['-D', join(dir, 'data'), '-A', 'trust', '-U', 'postgres']);
    assertSucceeded(await runProcess(initdb, initArgs, { cwd: dir, env: process.env, timeoutMs: 60_000 }));
    const port = await freePort();
    const [postgres, args] = command('postgres', [
      '-D',
      join(dir, 'data'),
      '-c',
      'listen_addresses=127.0.0.1',
      '-p',
      String(port),
      '-k',
      dir,
      '-c',
      'max_connections=200',
    ]);
    const started = spawnTracked(postgres, args, { cwd: dir, env: process.env });
    child = started;
    started.stdin?.end();
    await new Promise<void>((resolveReady, reject) => {
      let output = '';
      const timer = setTimeout(() => reject(new Error(`postgres did not start:\n${output}`)), START_TIMEOUT_MS);
      const read = (chunk: Buffer): void => {
        output += chunk.toString();
        if (!output.includes('database system is ready to accept connections')) return;
        clearTimeout(timer);
        resolveReady();
      };
      started.stdout?.on('data', read);
      started.stderr?.on('data', read);
      started.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`postgres exited (${String(code)}) before it was ready:\n${output}`));
      });
    });
    const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
    const version = await serverVersion(url);
    return onServer(
      url,
      version,
      `PostgreSQL ${version} (Debian's server started by the bench: its own processes, default settings)`,
      async () => {
        // SIGINT to the group: postgres's fast shutdown.
        const exited = new Promise<void>((resolveExit) => {
          if (started.exitCode !== null || started.signalCode !== null) resolveExit();
          else started.once('exit', () => resolveExit());
        });
        killProcessGroup(started, 'SIGINT');
        const timer = setTimeout(() => killProcessGroup(started), STOP_GRACE_MS);
        await exited;
        clearTimeout(timer);
        removeNow();
        process.removeListener('exit', removeNow);
      },
    );
  } catch (err) {
    removeNow();
    process.removeListener('exit', removeNow);
    throw err;
  }
}

export async function startBenchPostgres(): Promise<BenchPostgres> {
  const given = process.env[BENCH_DATABASE_URL_ENV] ?? '';
  if (given !== '' && given !== 'pglite') {
    const version = await serverVersion(given);
    return onServer(
      given,
      version,
      `PostgreSQL ${version} (the server ${BENCH_DATABASE_URL_ENV} names)`,
      async () => undefined,
    );
  }
  const bin = given === 'pglite' ? undefined : debianBinaries();
  if (bin) return startDebianCluster(bin);
  const databases = new Set<Awaited<ReturnType<typeof startTestPostgres>>>();
  return {
    engine:
      `PGlite ${pgliteVersion()} through pglite-socket (PostgreSQL in WebAssembly: one single-threaded session ` +
      `shared by every connection, so replicas queue behind each other; not a PostgreSQL server's figures)`,
    kind: 'pglite',
    short: `PGlite ${pgliteVersion()} (single-session WASM)`,
    createDatabase: async () => {
      const database = await startTestPostgres('');
      databases.add(database);
      return {
        url: database.url,
        drop: async () => {
          databases.delete(database);
          await database.stop();
        },
      };
    },
    stop: async () => {
      for (const database of databases) await database.stop();
      databases.clear();
    },
  };
}
