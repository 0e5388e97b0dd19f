/**
 * Nx 24 through the plugin hook and the loopback sealing proxy (issue 4), with the daemon off and on, against the
 * real server. Tests run in order and share one workspace per daemon mode: the first run primes the server.
 */
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { storeCredential } from '../../src/client/credentials-store';
import { generateEncryptionKey, isSealed } from '../../src/crypto';
import {
  type BootstrappedWorkspace,
  type NxRunResult,
  type NxWorkspace,
  type RunningServer,
  type TestBed,
  type TokenRecord,
  assertSucceeded,
  cacheEntryStatus,
  cacheEntryStatuses,
  installServerKiller,
  killServerEnv,
  listProcesses,
  processesUnder,
  referenceOutputs,
  runCli,
  serverProcessId,
  startTestBed,
  taskOrder,
  expectOutcomes,
} from './harness';

const CHANGED_SOURCE = 'projects/c/src/message.txt';
const LEAK_FILE = 'leaked-env.json';
/** A project whose only target writes the environment its task sees, to prove what tasks can and cannot read. */
const LEAK_PROJECT = {
  'projects/e/project.json': JSON.stringify({
    name: 'e',
    targets: {
      leak: { executor: 'nx:run-commands', cache: false, options: { command: 'node projects/e/leak-env.js' } },
    },
  }),
  'projects/e/leak-env.js': `require('fs').writeFileSync(${JSON.stringify(LEAK_FILE)}, JSON.stringify(process.env));\n`,
};

async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const giveUpAt = Date.now() + timeoutMs;
  while (Date.now() < giveUpAt) {
    if (condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return condition();
}

/** Files under `dir`, recursively. */
function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? listFiles(join(dir, entry.name)) : entry.isFile() ? [join(dir, entry.name)] : [],
  );
}

describe.each([
  ['daemon off', false],
  ['daemon on', true],
])('Nx 24 through the nx-sealed-cache plugin and sealing proxy (%s)', (_label, daemon) => {
  let server: RunningServer;
  let boot: BootstrappedWorkspace;
  let ws: NxWorkspace;
  let writeToken: TokenRecord;
  let readToken: TokenRecord;
  let proxyDir: string;
  let primedHashes: string[];
  let primedOutputs: Record<string, string>;
  /** The project whose blob the tamper test altered: the server keeps it (write-once), so it stays a miss. */
  let tamperedProject: string;

  const allProjects = (outcome: string): Record<string, string> =>
    Object.fromEntries(ws.projects.map((p) => [p, outcome]));
  const restartFromRemote = async (): Promise<void> => {
    await ws.reset();
    rmSync(join(ws.root, 'dist'), { recursive: true, force: true });
  };
  const proxies = () => processesUnder(proxyDir);
  /** What the hooks printed: the terminal without the daemon, the daemon's log with it. */
  const daemonLog = (): string => join(ws.root, '.nx', 'workspace-data', 'd', 'daemon.log');
  const daemonLogSize = (): number => (daemon && existsSync(daemonLog()) ? statSync(daemonLog()).size : 0);
  /** `sinceByte`: only the daemon log written after that offset (the log keeps every run's lines). */
  const hookOutput = (result: NxRunResult, sinceByte = 0): string => {
    const log = daemon && existsSync(daemonLog()) ? readFileSync(daemonLog()) : Buffer.alloc(0);
    const fresh = sinceByte <= log.length ? log.subarray(sinceByte) : log;
    return `${result.stdout}\n${result.stderr}\n${fresh.toString('utf8')}`;
  };
  const serverPid = (): number => {
    const serve = listProcesses().find(
      (p) => p.commandLine.includes(' serve ') && p.commandLine.includes(server.dataDir),
    );
    if (!serve) throw new Error('server process not found');
    return serve.pid;
  };

  let bed: TestBed | undefined;

  beforeAll(async () => {
    bed = await startTestBed('nx24', {
      proxyDir: true,
      workspace: ({ server, boot, proxyDir }) => ({
        daemon,
        patchNxJson: (json) => {
          json.plugins = [
            {
              plugin: 'nx-sealed-cache',
              options: { url: server.url, workspaceId: boot.workspace.id, timeoutMs: 3_000 },
            },
          ];
        },
        env: {
          NX_SEALED_CACHE_ENCRYPTION_KEY: generateEncryptionKey(),
          NX_SEALED_CACHE_PROXY_DIR: proxyDir,
          NX_SEALED_CACHE_PROXY_IDLE_MS: '1500',
        },
      }),
    });
    ({ server, boot, ws, writeToken, readToken, proxyDir } = bed);
    for (const [path, content] of Object.entries(LEAK_PROJECT)) ws.writeFile(path, content);
    // The read-write credential comes from `nx-sealed-cache login`, so no task environment ever holds it.
    storeCredential(server.url, writeToken.token, {}, ws.homeDir, { XDG_CONFIG_HOME: join(ws.homeDir, '.config') });
  });

  afterAll(() => bed?.dispose());

  it('stores every task, sealed, on the first run', async () => {
    const result = assertSucceeded(await ws.build());
    expectOutcomes(result, allProjects('miss'));
    primedHashes = ws.localCacheHashes();
    primedOutputs = ws.readOutputs();
    expect(primedHashes).toHaveLength(ws.projects.length);
    expect(await cacheEntryStatuses(server.url, primedHashes, readToken.token)).toEqual(
      Object.fromEntries(primedHashes.map((h) => [h, 200])),
    );
    expect(hookOutput(result)).toMatch(/nx-sealed-cache: 0 remote hits, 4 misses, 4 uploads/);
  });

  it('keeps no plaintext on the server: every blob is sealed', async () => {
    const blobs = listFiles(server.dataDir).filter((file) => primedHashes.some((hash) => file.includes(`${hash}.`)));
    expect(blobs).toHaveLength(primedHashes.length);
    const plaintext = readFileSync(join(ws.root, 'dist', 'a', 'index.txt'));
    for (const blob of blobs) {
      const bytes = readFileSync(blob);
      expect(isSealed(bytes.subarray(0, 5))).toBe(true);
      expect(bytes.includes(plaintext)).toBe(false);
      expect(bytes.subarray(0, 2).equals(Buffer.from([0x1f, 0x8b]))).toBe(false);
    }
  });

  it('restores every task as [remote cache] after nx reset, byte for byte', async () => {
    await restartFromRemote();
    const result = assertSucceeded(await ws.build());
    expectOutcomes(result, allProjects('remote'));
    expect(ws.readOutputs()).toEqual(primedOutputs);
  });

  it("keeps the run's lines for `nx-sealed-cache proxy last-run` (with the daemon on, Nx shows none of them)", async () => {
    const env = { ...process.env, NX_SEALED_CACHE_PROXY_DIR: proxyDir };
    const result = await runCli(['proxy', 'last-run', '--workspace-root', ws.root], env);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain(`nx-sealed-cache: ${ws.projects.length} remote hits, 0 misses`);
    const elsewhere = await runCli(['proxy', 'last-run', '--workspace-root', proxyDir], env);
    expect(elsewhere.exitCode).toBe(3);
  });

  if (!daemon) {
    // Without isolation Nx loads the plugin into its own process (no worker per run): docs/client.md, "Fixed cost".
    it('restores every task with plugin isolation off (NX_ISOLATE_PLUGINS=false)', async () => {
      await restartFromRemote();
      const result = assertSucceeded(await ws.build({ NX_ISOLATE_PLUGINS: 'false' }));
      expectOutcomes(result, allProjects('remote'));
      expect(ws.readOutputs()).toEqual(primedOutputs);
    });

    it('with plugin isolation off, tasks never see an exported token, not even empty', async () => {
      assertSucceeded(
        await ws.run(['run', 'e:leak'], { NX_ISOLATE_PLUGINS: 'false', NX_SEALED_CACHE_ACCESS_TOKEN: readToken.token }),
      );
      const seen = JSON.parse(readFileSync(join(ws.root, LEAK_FILE), 'utf8')) as Record<string, string>;
      expect(seen.NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN).toMatch(/^nxscp_/);
      expect(Object.keys(seen)).not.toContain('NX_SEALED_CACHE_ACCESS_TOKEN');
      expect(Object.keys(seen)).not.toContain('NX_SEALED_CACHE_ENCRYPTION_KEY');
      expect(JSON.stringify(seen)).not.toContain(readToken.token);
      expect(JSON.stringify(seen)).not.toContain(writeToken.token);
    });
  }

  it('treats a tampered blob as a miss and the run passes', async () => {
    const [victimHash] = primedHashes;
    const blob = listFiles(server.dataDir).find((file) => file.includes(`${victimHash}.`))!;
    const bytes = readFileSync(blob);
    bytes[Math.floor(bytes.length / 2)] ^= 0xff;
    writeFileSync(blob, bytes);
    await restartFromRemote();
    const result = assertSucceeded(await ws.build());
    const missed = Object.keys(result.outcomes).filter((project) => result.outcomes[project] === 'miss');
    expect(missed).toHaveLength(1);
    tamperedProject = missed[0]!;
    expectOutcomes(result, { ...allProjects('remote'), [tamperedProject]: 'miss' });
    expect(ws.readOutputs()).toEqual(primedOutputs);
    expect(hookOutput(result)).toMatch(/ERR_SEAL_OPEN_FAILED/);
  });

  it('restores but never stores with a read-only credential', async () => {
    ws.writeFile(CHANGED_SOURCE, `Project c changed on a branch (${_label}).\n`);
    await restartFromRemote();
    const result = assertSucceeded(await ws.build({ NX_SEALED_CACHE_ACCESS_TOKEN: readToken.token }));
    expectOutcomes(result, { ...allProjects('remote'), [tamperedProject]: 'miss', c: 'miss' });
    const unseen = ws.localCacheHashes().filter((hash) => !primedHashes.includes(hash));
    expect(unseen).toHaveLength(1);
    for (const hash of unseen) expect(await cacheEntryStatus(server.url, hash, writeToken.token)).toBe(404);
  });

  it('never shows tasks the real credential, and the per-run secret does not open the real server', async () => {
    assertSucceeded(await ws.run(['run', 'e:leak']));
    const seen = JSON.parse(readFileSync(join(ws.root, LEAK_FILE), 'utf8')) as Record<string, string>;
    expect(seen.NX_SELF_HOSTED_REMOTE_CACHE_SERVER).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(seen.NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN).toMatch(/^nxscp_/);
    expect(JSON.stringify(seen)).not.toContain(writeToken.token);
    const runSecret = seen.NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN!;
    expect(await cacheEntryStatus(server.url, primedHashes[1]!, runSecret)).toBe(401);
    expect(await cacheEntryStatus(`${server.url}/w/${boot.workspace.id}`, primedHashes[1]!, runSecret)).toBe(401);
  });

  it('stays green with a warning when the server hangs', async () => {
    const pid = serverPid();
    process.kill(pid, 'SIGSTOP');
    try {
      await restartFromRemote();
      const result = assertSucceeded(await ws.build());
      expectOutcomes(result, allProjects('miss'));
      expect(hookOutput(result)).toMatch(/remote cache off for this run/);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
  });

  it('stays green with a warning when the server dies mid-run, and stores again once it is back', async () => {
    const killer = 'a';
    const expectedOutputs = await referenceOutputs(ws);
    const pid = serverProcessId(server);
    if (pid === undefined) throw new Error(`the server is not running\n${server.output()}`);
    const putBack = installServerKiller(ws, killer);
    let ranBeforeKiller: string[] = [];
    try {
      await restartFromRemote();
      const logFrom = daemonLogSize();
      const result = assertSucceeded(await ws.build(killServerEnv(pid)));
      expect(result.stdout).toContain(`killed the cache server (pid ${pid})`);
      expect(serverProcessId(server)).toBeUndefined();
      expectOutcomes(result, allProjects('miss'));
      expect(ws.readOutputs()).toEqual(expectedOutputs);
      // One warning, then the summary, both printed by postTasksExecution.
      const lines = hookOutput(result, logFrom)
        .split(/\r?\n/)
        .filter((line) => line.startsWith('nx-sealed-cache:'));
      expect(lines).toEqual([
        expect.stringMatching(/^nx-sealed-cache: remote cache off for this run: .*ERR_CLIENT_UNREACHABLE/),
        expect.stringMatching(/^nx-sealed-cache: remote cache off \(.*ERR_CLIENT_UNREACHABLE.*\) · sealed with key /),
      ]);
      // The access check passed when the run started: the session went off on a cache request, not on /v1/access.
      expect(lines[0]).not.toContain('/v1/access');
      if (!daemon) expect(result.stderr).toContain('nx-sealed-cache: remote cache off for this run: ');
      const order = taskOrder(result.stdout);
      expect([...order].sort()).toEqual(ws.projects);
      ranBeforeKiller = order.slice(0, order.indexOf(killer));
    } finally {
      await server.restart();
    }

    // Back up: what finished before the crash was stored; the killer and the tasks after it store now.
    await restartFromRemote();
    const again = assertSucceeded(await ws.build());
    expectOutcomes(again, {
      ...allProjects('miss'),
      ...Object.fromEntries(ranBeforeKiller.map((project) => [project, 'remote'])),
    });
    const hashes = ws.localCacheHashes();
    expect(hashes).toHaveLength(ws.projects.length);
    expect(await cacheEntryStatuses(server.url, hashes, readToken.token)).toEqual(
      Object.fromEntries(hashes.map((h) => [h, 200])),
    );
    expect(ws.readOutputs()).toEqual(expectedOutputs);
    putBack();
  });

  it('stays green with a warning when the server is stopped', async () => {
    await server.stop();
    await restartFromRemote();
    const result = assertSucceeded(await ws.build());
    expectOutcomes(result, allProjects('miss'));
    expect(hookOutput(result)).toMatch(/remote cache off for this run/);
  });

  it('leaves no proxy process behind: it exits by itself once idle', async () => {
    await ws.dispose();
    expect(await waitUntil(() => proxies().length === 0, 30_000)).toBe(true);
    // Nx's own plugin workers can outlive `daemon --stop` by a moment; a worker still there after the wait is a leak.
    await waitUntil(() => processesUnder(ws.tempDir).length === 0, 30_000);
    expect(processesUnder(ws.tempDir)).toEqual([]);
  });
});
