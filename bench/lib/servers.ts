/**
 * The servers a section compares: `nx-sealed-cache serve` (with a workspace and tokens) on the embedded store, two
 * replicas of it on one PostgreSQL database and one S3 bucket, and the reference server.
 */
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../../tests/e2e/harness/paths';
import { killOwnedProcesses, spawnTracked } from '../../tests/e2e/harness/processes';
import { listProcesses } from '../../tests/e2e/harness/process-table';
import { type RunningServer, startServer } from '../../tests/e2e/harness/server';
import { type BootstrappedWorkspace, bootstrapWorkspace, cli, createToken } from '../../tests/e2e/harness/cli';
import type { RunningS3 } from '../../tests/e2e/harness/s3-store';
import type { BenchDatabase, BenchPostgres } from './bench-postgres';

export interface ReferenceProcess {
  url: string;
  pid: number;
  dataDir: string;
  stop(): void;
}

const START_TIMEOUT_MS = 30_000;

/** `roundTripTo`: a PostgreSQL URL the server queries once per request before answering (bench/reference-main.ts). */
export function startReferenceProcess(dataDir: string, roundTripTo?: string): Promise<ReferenceProcess> {
  const owner = new Set<ChildProcess>();
  const args = [
    '-r',
    join(REPO_ROOT, 'bench', 'ts-register.js'),
    join(REPO_ROOT, 'bench', 'reference-main.ts'),
    dataDir,
    ...(roundTripTo ? ['--round-trip-to', roundTripTo] : []),
  ];
  const child = spawnTracked(process.execPath, args, { cwd: REPO_ROOT, env: process.env, owner });
  child.stdin?.end();
  return new Promise((resolveStart, reject) => {
    let output = '';
    const timer = setTimeout(() => {
      killOwnedProcesses(owner);
      reject(new Error(`reference server did not start:\n${output}`));
    }, START_TIMEOUT_MS);
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (!match?.[1]) return;
      clearTimeout(timer);
      resolveStart({ url: match[1], pid: child.pid!, dataDir, stop: () => killOwnedProcesses(owner) });
    });
  });
}

export interface OurServer {
  server: RunningServer;
  pid: number;
  boot: BootstrappedWorkspace;
  /** A read-write CI token of `boot.workspace`. */
  token: string;
  /** Another workspace of the same organisation, with its own read-write token (for a second variant). */
  addWorkspace(): Promise<{ id: string; token: string }>;
}

/** The pid of the `serve` process on `dataDir`, to read its peak memory. */
export function serverPid(dataDir: string): number {
  const serve = listProcesses().find((p) => p.commandLine.includes(' serve ') && p.commandLine.includes(dataDir));
  if (!serve) throw new Error(`no server process for ${dataDir}`);
  return serve.pid;
}

/** Extra `serve` flags and env, e.g. a shared database and bucket. */
export interface ServeOptions {
  args?: string[];
  env?: NodeJS.ProcessEnv;
}

// The per-token rate limit stays on, as users run it, so its work on every request is measured (hashing the
// header, counting; on PostgreSQL the shared counts), but above any rate the bench reaches: the default 10,000 a
// minute would refuse misses within seconds at full speed. Logging stays at the default level (cache reads log at
// debug).
const CAPACITY_ARGS = ['--rate-limit', String(1_000_000_000)];

export async function startOurServer(dataDir?: string, options: ServeOptions = {}): Promise<OurServer> {
  const server = await startServer({
    ...(dataDir ? { dataDir } : {}),
    args: [...CAPACITY_ARGS, ...(options.args ?? [])],
    ...(options.env ? { env: options.env } : {}),
  });
  let boot: BootstrappedWorkspace;
  let token: string;
  try {
    boot = await bootstrapWorkspace(server);
    token = (
      await createToken(boot.target, { kind: 'ci', workspace: boot.workspace.id, access: 'read-write', name: 'bench' })
    ).token;
  } catch (err) {
    await server.dispose();
    throw err;
  }
  return {
    server,
    pid: serverPid(server.dataDir),
    boot,
    token,
    addWorkspace: async () => {
      const workspace = await cli<{ id: string }>(
        ['workspace', 'create', '--org', boot.org.id, `bench-${Date.now()}`],
        boot.target,
      );
      const created = await createToken(boot.target, {
        kind: 'ci',
        workspace: workspace.id,
        access: 'read-write',
        name: 'bench',
      });
      return { id: workspace.id, token: created.token };
    },
  };
}

/** Two `serve` processes sharing one PostgreSQL database and one S3 prefix, each with a data dir of its own. */
export interface ReplicaPair {
  /** The PostgreSQL engine, as the tables name it. */
  engine: string;
  /** Replica 1: it made the workspace and the token, kept in the shared database. */
  first: OurServer;
  second: RunningServer;
  /** Both replicas' URLs, replica 1 first. */
  urls: [string, string];
  pids: [number, number];
  /** A read-write CI token, good on both. */
  token: string;
  /** Their database, for seeding behind their backs. */
  databaseUrl: string;
  stop(): Promise<void>;
}

/** `dir`: a section's folder, where the replicas' data dirs go (`<prefix>-replica-1`, `-2`). */
export async function startReplicaPair(
  postgres: BenchPostgres,
  s3: RunningS3,
  prefix: string,
  dir: string,
): Promise<ReplicaPair> {
  const database: BenchDatabase = await postgres.createDatabase();
  const options: ServeOptions = {
    args: s3.serveArgs(prefix),
    env: { ...process.env, ...s3.env, NX_SEALED_CACHE_SERVER_DATABASE_URL: database.url },
  };
  let first: OurServer | undefined;
  let second: RunningServer | undefined;
  try {
    first = await startOurServer(join(dir, `${prefix}-replica-1`), options);
    // The administrator, the workspace and the token are in the shared database already.
    second = await startServer({
      dataDir: join(dir, `${prefix}-replica-2`),
      args: [...CAPACITY_ARGS, ...(options.args ?? [])],
      env: options.env,
      initAdmin: false,
    });
  } catch (err) {
    await first?.server.dispose();
    await database.drop();
    throw err;
  }
  const pair = { first, second };
  return {
    engine: postgres.engine,
    first,
    second,
    urls: [first.server.url, second.url],
    pids: [first.pid, serverPid(second.dataDir)],
    token: first.token,
    databaseUrl: database.url,
    stop: async () => {
      try {
        await pair.second.dispose();
        await pair.first.server.dispose();
      } finally {
        await database.drop();
      }
    },
  };
}
