/**
 * The Docker recipe without Docker: the Dockerfile and .dockerignore are read as Docker reads them, and the
 * container's own command (ENTRYPOINT + CMD) and health check run here against a temp data dir on loopback.
 */
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { CliIo } from '../../../src/cli/cli-io';
import { runCli } from '../../../src/cli/run-cli';
import { DEFAULT_DATA_DIR } from '../../../src/server/config/server-config';
import { makeTempDir } from '../server/test-server';

const root = join(__dirname, '..', '..', '..');
const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
/** Instructions with their continuation lines joined, comments dropped. */
const instructions = dockerfile
  .replace(/\\\n\s*/g, ' ')
  .split('\n')
  .filter((line) => line.trim() !== '' && !line.trimStart().startsWith('#'));
const execForm = (keyword: string): string[] => {
  const line = instructions.filter((l) => l.startsWith(`${keyword} `)).pop() ?? '';
  return JSON.parse(line.slice(keyword.length + 1).replace(/^.*?CMD /, '')) as string[];
};

let dataDir: string;
beforeEach(() => {
  dataDir = makeTempDir('nxsc-docker-');
});
afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

/** The container's command line, on this machine: /data becomes a temp dir, 0.0.0.0 loopback, port 0. */
function containerArgs(): string[] {
  const [node, main, ...entryArgs] = execForm('ENTRYPOINT');
  expect([node, main]).toEqual(['node', 'dist/src/cli/main.js']);
  return [...entryArgs, ...execForm('CMD'), '--port', '0'].map((arg) =>
    arg === '/data' ? dataDir : arg === '0.0.0.0' ? '127.0.0.1' : arg,
  );
}

/** Runs the container's command in-process until `stop()`; resolves once it listens. */
async function startContainer() {
  let stopServer: () => void = () => undefined;
  let listening: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (listening = resolve));
  const out = { stdout: '' };
  const io: CliIo = {
    stdout: (t) => {
      out.stdout += t;
      if (t.includes('listening on')) listening();
    },
    stderr: (t) => (out.stdout += t),
    env: {},
    // serve asks for this once it listens and has printed its first lines.
    waitForShutdown: () => new Promise<void>((resolve) => (stopServer = resolve)),
  };
  const exited = runCli(containerArgs(), io);
  await Promise.race([ready, exited]);
  const port = Number(/listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out.stdout)?.[1]);
  return {
    out,
    port,
    stop: async () => {
      stopServer();
      return exited;
    },
  };
}

function healthCheck(port: number): Promise<number | null> {
  const [node, flag, script] = execForm('HEALTHCHECK');
  expect([node, flag]).toEqual(['node', '-e']);
  const child = spawn(process.execPath, ['-e', script], {
    env: { NX_SEALED_CACHE_SERVER_PORT: String(port) },
    stdio: 'ignore',
  });
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

it('installs dependencies once: the runtime stage takes the pruned node_modules of the build stage', () => {
  expect(instructions.filter((line) => /\bnpm ci\b/.test(line))).toHaveLength(1);
  expect(instructions).toContain('COPY --from=build /app/node_modules ./node_modules');
  expect(instructions.some((line) => /npm prune --omit=dev/.test(line))).toBe(true);
});

it(".dockerignore keeps npm start's data directory, and databases, out of the build context", () => {
  const ignored = readFileSync(join(root, '.dockerignore'), 'utf8').split('\n');
  expect(ignored).toContain(DEFAULT_DATA_DIR.replace(/^\.\//, ''));
  expect(ignored).toContain('*.sqlite');
});

it("the container's first start creates the administrator and prints its token once, later starts do not", async () => {
  const first = await startContainer();
  expect(first.out.stdout).toMatch(
    /created administrator admin \(usr_\w+\)\nadmin token \(shown once, store it safely\):\nnxsc_adm_\w+/,
  );
  expect(first.out.stdout).toContain('/ui/first-sign-in/');
  // While it runs, the data dir is the server's: offline commands say to stop it first.
  const locked = { stdout: '', stderr: '' };
  const lockedIo: CliIo = {
    stdout: (t) => (locked.stdout += t),
    stderr: (t) => (locked.stderr += t),
    env: {},
    waitForShutdown: () => Promise.resolve(),
  };
  expect(await runCli(['admin', 'reset-token', '--data-dir', dataDir], lockedIo)).toBe(1);
  expect(locked.stderr).toContain('ERR_DATA_DIR_LOCKED');
  expect(await first.stop()).toBe(0);
  const second = await startContainer();
  expect(second.out.stdout).toContain('listening on');
  expect(second.out.stdout).not.toContain('created administrator');
  expect(second.out.stdout).not.toContain('nxsc_adm_');
  expect(await second.stop()).toBe(0);
});

it('the health check asks the port the server was configured with', async () => {
  const running = await startContainer();
  try {
    expect(await healthCheck(running.port)).toBe(0);
  } finally {
    await running.stop();
  }
  expect(await healthCheck(running.port)).toBe(1);
});
