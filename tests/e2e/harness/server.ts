/** The real nx-sealed-cache server as a child process (`dist/src/cli/main.js serve`), on loopback, port 0. */
import type { ChildProcess } from 'node:child_process';
import type { AdminIdentity } from './cli';
import { existsSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminInit } from './cli';
import { CLI_ENTRY } from './paths';
import { killOwnedProcesses, spawnTracked } from './processes';

export interface StartServerOptions {
  /** Default: a fresh temp dir, removed by dispose(). */
  dataDir?: string;
  host?: string;
  port?: number;
  /** Extra `serve` flags. */
  args?: string[];
  env?: NodeJS.ProcessEnv;
  /** Run `admin init` on the data dir before serving and keep the result in `admin`. Default true. */
  initAdmin?: boolean;
  /** Bound on start-up. Default 30 s. */
  startTimeoutMs?: number;
}

export interface RunningServer {
  /** `http://127.0.0.1:PORT`, unchanged across restart(). */
  url: string;
  dataDir: string;
  /** The first admin, when `admin init` ran. */
  admin?: AdminIdentity;
  /** Everything the server printed so far (stdout and stderr), for failure messages. */
  output(): string;
  /** SIGTERM, then SIGKILL if it has not exited after 10 s. */
  stop(): Promise<void>;
  kill(signal: NodeJS.Signals): Promise<void>;
  /** Stops and starts again on the same port and data dir. */
  restart(): Promise<void>;
  /** Stops, and removes the data dir if startServer made it. */
  dispose(): Promise<void>;
}

const LISTENING_LINE = /nx-sealed-cache listening on (http:\/\/[^\s]+)/;
const STOP_GRACE_MS = 10_000;

export function assertCliBuilt(): void {
  if (!existsSync(CLI_ENTRY)) throw new Error(`${CLI_ENTRY} is missing: run \`npm run build\` first`);
}

function waitForExit(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolveExit) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolveExit();
    });
  });
}

interface ServeProcess {
  child: ChildProcess;
  url: string;
}

function spawnServe(
  args: string[],
  env: NodeJS.ProcessEnv,
  owner: Set<ChildProcess>,
  log: string[],
  timeoutMs: number,
): Promise<ServeProcess> {
  const child = spawnTracked(process.execPath, [CLI_ENTRY, 'serve', ...args], { cwd: tmpdir(), env, owner });
  child.stdin?.end();
  return new Promise((resolveStart, reject) => {
    let stdoutBuffer = '';
    const fail = (reason: string): void => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`server did not start: ${reason}\n${log.join('')}`));
    };
    const timer = setTimeout(() => fail(`no listening line within ${timeoutMs} ms`), timeoutMs);
    child.stdout?.on('data', (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      log.push(text);
      stdoutBuffer += text;
      const match = LISTENING_LINE.exec(stdoutBuffer);
      if (match?.[1]) {
        clearTimeout(timer);
        resolveStart({ child, url: match[1] });
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => log.push(chunk.toString('utf8')));
    child.once('exit', (code, signal) => fail(`exited early (code ${code}, signal ${signal})`));
    child.once('error', (err) => fail(err.message));
  });
}

export async function startServer(options: StartServerOptions = {}): Promise<RunningServer> {
  assertCliBuilt();
  const ownsDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? join(realpathSync(mkdtempSync(join(tmpdir(), 'nxsc-server-'))), 'data');
  const host = options.host ?? '127.0.0.1';
  const env = { ...process.env, ...options.env };
  const owner = new Set<ChildProcess>();
  const log: string[] = [];
  const timeoutMs = options.startTimeoutMs ?? 30_000;
  const admin = (options.initAdmin ?? true) ? await adminInit(dataDir, env) : undefined;
  const serveArgs = (port: number): string[] => [
    '--data-dir',
    dataDir,
    '--host',
    host,
    '--port',
    String(port),
    ...(options.args ?? []),
  ];
  let serve = await spawnServe(serveArgs(options.port ?? 0), env, owner, log, timeoutMs);
  const port = Number(new URL(serve.url).port);

  const kill = async (signal: NodeJS.Signals): Promise<void> => {
    serve.child.kill(signal);
    await waitForExit(serve.child, STOP_GRACE_MS);
  };
  const stop = (): Promise<void> => kill('SIGTERM');
  return {
    url: serve.url,
    dataDir,
    admin,
    output: () => log.join(''),
    stop,
    kill,
    restart: async () => {
      await stop();
      serve = await spawnServe(serveArgs(port), env, owner, log, timeoutMs);
    },
    dispose: async () => {
      try {
        await stop();
      } finally {
        killOwnedProcesses(owner);
        if (ownsDataDir) rmSync(join(dataDir, '..'), { recursive: true, force: true });
      }
    },
  };
}
