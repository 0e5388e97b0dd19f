/**
 * Run reports from the real Nx 20 CLI through the nx-sealed-cache tasks runner (legacy cache), read back through
 * the admin API: the task ids and hashes Nx computed, miss then remote hit, durations Nx measured, the Nx version
 * and each run's token; a server gone by the time the report goes out costs one warning line. The tests run in
 * order and share one workspace and one server.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { generateEncryptionKey } from '../../src/crypto/keys';
import {
  type BootstrappedWorkspace,
  type NxRunResult,
  type NxWorkspace,
  type ReportedRun,
  type RunEnv,
  type RunningServer,
  type TestBed,
  type TokenRecord,
  FINISH_PROJECT,
  installedNxVersion,
  ourLines,
  assertSucceeded,
  cachedBuildHashes,
  expectOutcomes,
  killServerEnv,
  listReportedRuns,
  reportedRun,
  serverProcessId,
  startTestBed,
} from './harness';

const ENCRYPTION_KEY = generateEncryptionKey();
const NX_VERSION = installedNxVersion('nx20');
describe('run reports from Nx 20 through the nx-sealed-cache tasks runner', () => {
  let server: RunningServer;
  let boot: BootstrappedWorkspace;
  let ws: NxWorkspace;
  let writeToken: TokenRecord;
  let readToken: TokenRecord;
  let nxHashes: Record<string, string>;
  let missDurations: Record<string, number>;

  const allProjects = (outcome: string): Record<string, string> =>
    Object.fromEntries(ws.projects.map((p) => [p, outcome]));
  const runnerEnv = (token: string): RunEnv => ({
    NX_SEALED_CACHE_ACCESS_TOKEN: token,
    NX_SEALED_CACHE_ENCRYPTION_KEY: ENCRYPTION_KEY,
  });
  const restartFromRemote = async (): Promise<void> => {
    await ws.reset();
    rmSync(join(ws.root, 'dist'), { recursive: true, force: true });
  };
  const runs = async (): Promise<ReportedRun[]> => (await listReportedRuns(boot.target, boot.workspace.id)).runs;
  const tasksOf = async (runId: string) =>
    (await reportedRun(boot.target, boot.workspace.id, runId)).tasks.sort((x, y) => x.project.localeCompare(y.project));

  let bed: TestBed | undefined;

  beforeAll(async () => {
    bed = await startTestBed('nx20', {
      runnerNodePath: true,
      workspace: ({ server }) => ({
        patchNxJson: (nxJson) => {
          nxJson.useLegacyCache = true;
          nxJson.tasksRunnerOptions = { default: { runner: 'nx-sealed-cache', options: { url: server.url } } };
        },
      }),
    });
    ({ server, boot, ws, writeToken, readToken } = bed);
    for (const [path, content] of Object.entries(FINISH_PROJECT)) ws.writeFile(path, content);
  });
  afterAll(() => bed?.dispose());

  it('reports a miss run with the task ids and hashes Nx computed, their durations, Nx 20 and the token', async () => {
    const result = assertSucceeded(await ws.build(runnerEnv(writeToken.token)));
    expectOutcomes(result, allProjects('miss'));
    expect(ourLines(result).filter((line) => line.includes('run report'))).toEqual([]);
    nxHashes = cachedBuildHashes(ws);

    const reported = await runs();
    expect(reported).toHaveLength(1);
    const run = reported[0]!;
    expect(run).toMatchObject({
      client: 'runner',
      nxVersion: NX_VERSION,
      reporter: 'CI token “ci-write”',
      tasks: 4,
      misses: 4,
      remoteHits: 0,
      localHits: 0,
      savedMs: 0,
      savedUnknown: 0,
    });
    expect(run.nxVersion).toMatch(/^20\./);
    const tasks = await tasksOf(run.id);
    expect(tasks.map(({ id, project, target, hash, status }) => ({ id, project, target, hash, status }))).toEqual(
      ws.projects.map((p) => ({ id: `${p}:build`, project: p, target: 'build', hash: nxHashes[p], status: 'miss' })),
    );
    const span = Date.parse(run.endedAt ?? '') - Date.parse(run.startedAt ?? '');
    expect(span).toBeGreaterThan(0);
    for (const task of tasks) {
      expect(task.durationMs).toBeGreaterThan(0);
      expect(task.durationMs).toBeLessThanOrEqual(span);
    }
    missDurations = Object.fromEntries(tasks.map((t) => [t.project, t.durationMs ?? -1]));
  });

  it('reports the next run from an empty local cache as remote hits of the same hashes, under the read-only token', async () => {
    await restartFromRemote();
    const result = assertSucceeded(await ws.build(runnerEnv(readToken.token)));
    expectOutcomes(result, allProjects('remote'));
    expect(ourLines(result).filter((line) => line.includes('run report'))).toEqual([]);
    expect(cachedBuildHashes(ws)).toEqual(nxHashes);

    const reported = await runs();
    expect(reported).toHaveLength(2);
    const run = reported[0]!;
    const savedMs = Object.values(missDurations).reduce((sum, ms) => sum + ms, 0);
    expect(run).toMatchObject({ client: 'runner', nxVersion: NX_VERSION, reporter: 'CI token “ci-read”', tasks: 4 });
    expect(run).toMatchObject({ remoteHits: 4, localHits: 0, misses: 0, savedMs, savedUnknown: 0 });
    const tasks = await tasksOf(run.id);
    expect(tasks.map(({ id, hash, status, savedMs }) => ({ id, hash, status, savedMs }))).toEqual(
      ws.projects.map((p) => ({
        id: `${p}:build`,
        hash: nxHashes[p],
        status: 'remote-hit',
        savedMs: missDurations[p],
      })),
    );
    // Nx 20 times a hit from before its fetch to when its outputs are in place.
    for (const task of tasks) expect(task.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('with the server gone when the report goes out prints one warning line and exits 0', async () => {
    await restartFromRemote();
    const pid = serverProcessId(server);
    if (pid === undefined) throw new Error(`the server is not running\n${server.output()}`);
    let result: NxRunResult;
    try {
      // The builds are all remote hits, so nothing more goes to the server once e:finish has killed it.
      result = assertSucceeded(
        await ws.run(['run', 'e:finish'], { ...runnerEnv(readToken.token), ...killServerEnv(pid) }),
      );
      expect(result.stdout).toContain(`killed the cache server (pid ${pid})`);
      expect(serverProcessId(server)).toBeUndefined();
    } finally {
      await server.restart();
    }
    expectOutcomes(result, allProjects('remote'));
    expect(ourLines(result)).toEqual([
      expect.stringMatching(/^nx-sealed-cache: remote cache http:\/\/127\.0\.0\.1:\d+ .*\(ci, read-only\)/),
      expect.stringContaining('4 remote hits, 0 misses, 0 uploads'),
      'nx-sealed-cache: the run report was not sent (the server could not be reached); the build is not affected.',
    ]);
    expect(await runs()).toHaveLength(2);
  });
  it('reports again once the server is back, leaving out the task Nx does not cache', async () => {
    const result = assertSucceeded(await ws.run(['run', 'e:finish'], runnerEnv(readToken.token)));
    expectOutcomes(result, allProjects('local'));
    const [run] = await runs();
    expect(run).toMatchObject({ tasks: 4, localHits: 4 });
    expect((await tasksOf(run!.id)).map((task) => task.id)).toEqual(ws.projects.map((p) => `${p}:build`));
  });
});
