/**
 * Run reports from the real Nx 24 (daemon off and on) and Nx 22 CLIs through the plugin and its sealing proxy (the
 * default setup), read back
 * through the admin API and the Runs page in Chromium: the task ids and hashes Nx computed, miss then remote
 * hit, durations, the Nx version and the credential's name. Also: reports off store nothing and print nothing;
 * a server gone by the time the report goes out costs one warning line and the run stays green. The tests run
 * in order and share one workspace and one server.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { storeCredential } from '../../src/client/credentials-store';
import { generateEncryptionKey } from '../../src/crypto';
import { CONTENT_SECURITY_POLICY } from '../../src/server/routes/web/web-routes';
import {
  type BootstrappedWorkspace,
  type FixtureName,
  type NxRunResult,
  type NxWorkspace,
  type ReportedRun,
  type RunningServer,
  type TestBed,
  CLI_ENTRY,
  FINISH_PROJECT,
  installedNxVersion,
  ourLines,
  assertSucceeded,
  cachedBuildHashes,
  expectOutcomes,
  killServerEnv,
  listReportedRuns,
  reportedRun,
  runProcess,
  serverProcessId,
  setRunReports,
  startTestBed,
} from './harness';
import { launchBrowser, signIn } from './web/browser';

const PASSWORD = 'a long and careful passphrase';
const REPORTER = 'CI token “ci-write”';
const REPORT_WARNING = 'nx-sealed-cache: the run report was not sent';
describe.each<[FixtureName, string, boolean]>([
  ['nx24', 'daemon off', false],
  ['nx24', 'daemon on', true],
  ['nx22', 'daemon off', false],
])('run reports from %s through the plugin and sealing proxy (%s)', (fixture, _label, daemon) => {
  const NX_VERSION = installedNxVersion(fixture);
  let server: RunningServer;
  let boot: BootstrappedWorkspace;
  let ws: NxWorkspace;
  let nxHashes: Record<string, string>;
  let missDurations: Record<string, number>;

  const allProjects = (outcome: string): Record<string, string> =>
    Object.fromEntries(ws.projects.map((p) => [p, outcome]));
  const restartFromRemote = async (): Promise<void> => {
    await ws.reset();
    rmSync(join(ws.root, 'dist'), { recursive: true, force: true });
  };
  const runs = async (): Promise<ReportedRun[]> => (await listReportedRuns(boot.target, boot.workspace.id)).runs;
  const tasksOf = async (runId: string) =>
    (await reportedRun(boot.target, boot.workspace.id, runId)).tasks.sort((x, y) => x.project.localeCompare(y.project));
  /** With the daemon on the hooks print to its log, not the terminal: a warning there would fail these checks too. */
  const hookLines = (result: NxRunResult): string[] => {
    const log = join(ws.root, '.nx', 'workspace-data', 'd', 'daemon.log');
    const logged = daemon && existsSync(log) ? readFileSync(log, 'utf8').split(/\r?\n/) : [];
    return [...ourLines(result), ...logged.filter((line) => line.includes('nx-sealed-cache:'))];
  };
  /** The newest run: the hits' statuses and the time they saved, from the first run's misses. */
  const expectHitRun = async (count: number, status: 'remote-hit' | 'local-hit'): Promise<void> => {
    const reported = await runs();
    expect(reported).toHaveLength(count);
    const run = reported[0]!;
    const savedMs = Object.values(missDurations).reduce((sum, ms) => sum + ms, 0);
    const hits = status === 'remote-hit' ? { remoteHits: 4, localHits: 0 } : { remoteHits: 0, localHits: 4 };
    expect(run).toMatchObject({ client: 'plugin', nxVersion: NX_VERSION, reporter: REPORTER, tasks: 4 });
    expect(run).toMatchObject({ ...hits, misses: 0, savedMs, savedUnknown: 0 });
    const tasks = await tasksOf(run.id);
    expect(tasks.map(({ id, hash, status, savedMs }) => ({ id, hash, status, savedMs }))).toEqual(
      ws.projects.map((p) => ({ id: `${p}:build`, hash: nxHashes[p], status, savedMs: missDurations[p] })),
    );
    // Nx 22 and 24 time a hit from after its fetch to when its outputs are in place: it may take under a millisecond.
    for (const task of tasks) expect(task.durationMs).toBeGreaterThanOrEqual(0);
  };

  let bed: TestBed | undefined;

  beforeAll(async () => {
    bed = await startTestBed(fixture, {
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
    ({ server, boot, ws } = bed);
    for (const [path, content] of Object.entries(FINISH_PROJECT)) ws.writeFile(path, content);
    storeCredential(server.url, bed.writeToken.token, {}, ws.homeDir, { XDG_CONFIG_HOME: join(ws.homeDir, '.config') });
  });

  afterAll(() => bed?.dispose());

  it('reports a miss run with the task ids and hashes Nx computed, their durations, the Nx version and the token', async () => {
    const result = assertSucceeded(await ws.build());
    expectOutcomes(result, allProjects('miss'));
    nxHashes = cachedBuildHashes(ws);

    const reported = await runs();
    expect(reported).toHaveLength(1);
    const run = reported[0]!;
    expect(run).toMatchObject({
      client: 'plugin',
      nxVersion: NX_VERSION,
      reporter: REPORTER,
      tasks: 4,
      misses: 4,
      remoteHits: 0,
      localHits: 0,
      savedMs: 0,
      savedUnknown: 0,
    });
    expect(run.nxVersion).toMatch(fixture === 'nx24' ? /^24\./ : /^22\./);
    const tasks = await tasksOf(run.id);
    expect(tasks.map(({ id, project, target, hash, status }) => ({ id, project, target, hash, status }))).toEqual(
      ws.projects.map((p) => ({ id: `${p}:build`, project: p, target: 'build', hash: nxHashes[p], status: 'miss' })),
    );
    // Each build is a node process writing 64 KiB and more: it takes time, within the run's own span.
    const span = Date.parse(run.endedAt ?? '') - Date.parse(run.startedAt ?? '');
    expect(span).toBeGreaterThan(0);
    for (const task of tasks) {
      expect(task.durationMs).toBeGreaterThan(0);
      expect(task.durationMs).toBeLessThanOrEqual(span);
    }
    missDurations = Object.fromEntries(tasks.map((t) => [t.project, t.durationMs ?? -1]));
    expect(hookLines(result).filter((line) => line.includes('run report'))).toEqual([]);
  });

  it('reports the next run from an empty local cache as remote hits of the same hashes, with the time they saved', async () => {
    await restartFromRemote();
    const result = assertSucceeded(await ws.build());
    expectOutcomes(result, allProjects('remote'));
    expect(cachedBuildHashes(ws)).toEqual(nxHashes);
    await expectHitRun(2, 'remote-hit');
    expect(hookLines(result).filter((line) => line.includes('run report'))).toEqual([]);
  });

  it("reports a rerun as local hits, with the time saved from the same token's miss run", async () => {
    const result = assertSucceeded(await ws.build());
    expectOutcomes(result, allProjects('local'));
    await expectHitRun(3, 'local-hit');
    expect(hookLines(result).filter((line) => line.includes('run report'))).toEqual([]);
  });

  // The rest reads the terminal, where the hooks print only with the daemon off.
  if (daemon) return;

  it('shows the runs on the Runs page and the first run with its tasks and hashes, in Chromium', async () => {
    // Passwords are set on the server itself, while it is stopped.
    await server.stop();
    const set = await runProcess(
      process.execPath,
      [CLI_ENTRY, 'user', 'set-password', boot.admin.user.name, '--data-dir', server.dataDir],
      { cwd: tmpdir(), env: process.env, timeoutMs: 30_000, input: `${PASSWORD}\n` },
    );
    expect(set.exitCode).toBe(0);
    await server.restart();
    const [localRun, hitRun, missRun] = await runs();
    const browser = await launchBrowser(CONTENT_SECURITY_POLICY);
    try {
      const page = await browser.newPage();
      await signIn(page, server.url, boot.admin.user.name, PASSWORD);
      await page.setViewportSize({ width: 375, height: 740 });
      await page.goto(`${server.url}/ui/workspaces/${boot.workspace.id}/runs`);
      // Text content, not what the narrow card layout wraps onto lines.
      const texts = async (selector: string): Promise<string[]> =>
        (await page.locator(selector).allTextContents()).map((text) => text.replace(/\s+/g, ' ').trim());
      const cells = (runId: string): Promise<string[]> => texts(`#runs-table tr[data-run="${runId}"] td`);
      expect((await cells(hitRun!.id)).slice(1)).toEqual([
        REPORTER,
        `${NX_VERSION} plugin`,
        '4',
        '4 (4 remote, 0 local)',
        '0',
        '0',
        expect.stringMatching(/^\d/),
      ]);
      expect((await cells(localRun!.id)).slice(1, 5)).toEqual([
        REPORTER,
        `${NX_VERSION} plugin`,
        '4',
        '4 (0 remote, 4 local)',
      ]);
      expect((await cells(missRun!.id)).slice(1)).toEqual([
        REPORTER,
        `${NX_VERSION} plugin`,
        '4',
        '0 (0 remote, 0 local)',
        '4',
        '0',
        '—',
      ]);
      expect(Number(await page.evaluate('document.documentElement.scrollWidth'))).toBeLessThanOrEqual(375);

      await page.locator(`#runs-table tr[data-run="${missRun!.id}"] a`).click();
      await page.waitForURL(`${server.url}/ui/workspaces/${boot.workspace.id}/runs/${missRun!.id}`);
      const rows: Record<string, string> = {};
      for (const row of await page.locator('tr[data-task]').all()) {
        const [task, status, , , hash] = (await row.locator('td').allTextContents()).map((text) => text.trim());
        rows[task!] = `${status} ${hash}`;
      }
      expect(rows).toEqual(Object.fromEntries(ws.projects.map((p) => [`${p}:build`, `miss ${nxHashes[p]}`])));
      expect(Number(await page.evaluate('document.documentElement.scrollWidth'))).toBeLessThanOrEqual(375);
      expect(browser.pagesWithoutCsp).toEqual([]);
    } finally {
      await browser.close();
    }
  });

  it('with reports off for the workspace stores no report and the build is green with no warning', async () => {
    await setRunReports(boot.target, boot.workspace.id, false);
    try {
      ws.writeFile('projects/c/src/message.txt', 'Project c changed while reports were off.\n');
      await restartFromRemote();
      const result = assertSucceeded(await ws.build());
      expectOutcomes(result, { ...allProjects('remote'), c: 'miss' });
      expect(ourLines(result).filter((line) => !line.includes(' · sealed with key '))).toEqual([]);
      const listed = await listReportedRuns(boot.target, boot.workspace.id);
      expect(listed.reportsEnabled).toBe(false);
      expect(listed.runs).toHaveLength(3);
    } finally {
      await setRunReports(boot.target, boot.workspace.id, true);
    }
  });

  it('with the server gone when the report goes out prints one warning line and exits 0', async () => {
    await restartFromRemote();
    const pid = serverProcessId(server);
    if (pid === undefined) throw new Error(`the server is not running\n${server.output()}`);
    let result: NxRunResult;
    try {
      // The builds are all remote hits, so nothing more goes to the server once e:finish has killed it.
      result = assertSucceeded(await ws.run(['run', 'e:finish'], killServerEnv(pid)));
      expect(result.stdout).toContain(`killed the cache server (pid ${pid})`);
      expect(serverProcessId(server)).toBeUndefined();
    } finally {
      await server.restart();
    }
    expectOutcomes(result, allProjects('remote'));
    const warnings = ourLines(result).filter((line) => !line.includes(' · sealed with key '));
    expect(warnings).toEqual([`${REPORT_WARNING} (the server could not be reached); the build is not affected.`]);
    expect(await runs()).toHaveLength(3);
  });
  it('reports again once the server is back, leaving out the task Nx does not cache', async () => {
    const result = assertSucceeded(await ws.run(['run', 'e:finish']));
    expectOutcomes(result, allProjects('local'));
    const [run] = await runs();
    expect(run).toMatchObject({ tasks: 4, localHits: 4 });
    expect((await tasksOf(run!.id)).map((task) => task.id)).toEqual(ws.projects.map((p) => `${p}:build`));
  });
});
