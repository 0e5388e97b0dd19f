/**
 * Nx 17, 18 and 19 with the nx-sealed-cache tasks runner as `nx g nx-sealed-cache:init` wires it, against
 * the real server: one sealed run, `nx reset`, one run served from the remote cache. Nx 20 has its own,
 * longer file (runner-nx20.test.ts); this one keeps to what differs per major, so CI stays short.
 */
import { readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import {
  type BootstrappedWorkspace,
  type FixtureName,
  type NxWorkspace,
  type RunEnv,
  type RunningServer,
  type TestBed,
  type TokenRecord,
  assertSucceeded,
  cachedBuildHashes,
  listReportedRuns,
  reportedRun,
  startTestBed,
  expectOutcomes,
} from './harness';
import { generateEncryptionKey } from '../../src/crypto/keys';

const ENCRYPTION_KEY = generateEncryptionKey();

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((name) => join(dir, name))
    .filter((path) => statSync(path).isFile());
}

describe.each<[FixtureName, string]>([
  ['nx17', '17.3.2'],
  ['nx18', '18.3.5'],
  ['nx19', '19.8.14'],
])('%s (nx %s) with the tasks runner from nx g nx-sealed-cache:init', (fixture, nxVersion) => {
  let server: RunningServer;
  let boot: BootstrappedWorkspace;
  let ws: NxWorkspace;
  let writeToken: TokenRecord;

  const allProjects = (outcome: string): Record<string, string> =>
    Object.fromEntries(ws.projects.map((p) => [p, outcome]));
  const runnerEnv = (): RunEnv => ({
    NX_SEALED_CACHE_ACCESS_TOKEN: writeToken.token,
    NX_SEALED_CACHE_ENCRYPTION_KEY: ENCRYPTION_KEY,
  });

  let bed: TestBed | undefined;

  beforeAll(async () => {
    bed = await startTestBed(fixture, { runnerNodePath: true });
    ({ server, boot, ws, writeToken } = bed);
  });
  afterAll(() => bed?.dispose());

  it('init wires the runner; a sealed run, nx reset, and every task comes back from the server byte for byte', async () => {
    const init = assertSucceeded(
      await ws.run([
        'g',
        'nx-sealed-cache:init',
        `--url=${server.url}`,
        `--workspaceId=${boot.workspace.id}`,
        '--no-interactive',
      ]),
    );
    expect(init.stdout + init.stderr).toContain(`Nx ${nxVersion}`);
    const nxJson = ws.readNxJson();
    expect(nxJson.tasksRunnerOptions).toEqual({
      default: { runner: 'nx-sealed-cache', options: { url: server.url, workspaceId: boot.workspace.id } },
    });
    expect(nxJson.plugins).toBeUndefined();
    expect(nxJson.useLegacyCache).toBeUndefined();

    // Nx 17 can hash the first run after `nx g` from the workspace data the generator's own run cached
    // (seen in CI: every hash differed after the reset); start both runs from the same clean state.
    await ws.reset();
    const first = assertSucceeded(await ws.build(runnerEnv()));
    expectOutcomes(first, allProjects('miss'));
    expect(first.stderr + first.stdout).toContain(
      `0 remote hits, ${ws.projects.length} misses, ${ws.projects.length} uploads`,
    );
    expect(first.stderr + first.stdout).not.toContain(writeToken.token);
    const outputs = ws.readOutputs();

    // Nothing readable at rest: every blob is sealed, none is gzip, and no output or source shows through.
    const blobs = filesUnder(join(server.dataDir, 'blobs'));
    expect(blobs).toHaveLength(ws.projects.length);
    const plaintexts = ws.projects.flatMap((project) => [
      readFileSync(join(ws.root, 'projects', project, 'src', 'message.txt')),
      readFileSync(join(ws.root, 'dist', project, 'payload.bin')).subarray(256, 320),
      Buffer.from(`"project": "${project}"`),
    ]);
    for (const blob of blobs) {
      const bytes = readFileSync(blob);
      expect(bytes.subarray(0, 4).toString('latin1')).toBe('NXSC');
      expect(() => gunzipSync(bytes)).toThrow();
      for (const plaintext of plaintexts) expect(bytes.includes(plaintext)).toBe(false);
    }

    const firstHashes = ws.localCacheHashes();
    expect(firstHashes).toHaveLength(ws.projects.length);
    await ws.reset();
    rmSync(join(ws.root, 'dist'), { recursive: true, force: true });
    const second = assertSucceeded(await ws.build(runnerEnv()));
    // Told apart from a remote miss: the same inputs must give Nx the same hashes after the reset.
    expect({ hashes: ws.localCacheHashes(), blobs: filesUnder(join(server.dataDir, 'blobs')).length }).toEqual({
      hashes: firstHashes,
      blobs: ws.projects.length,
    });
    expectOutcomes(second, allProjects('remote'));
    expect(second.stderr + second.stdout).toContain(`${ws.projects.length} remote hits, 0 misses, 0 uploads`);
    expect(ws.readOutputs()).toEqual(outputs);

    // Both runs were reported with the hashes Nx gave each build and the durations it measured.
    const hashes = cachedBuildHashes(ws);
    const { runs } = await listReportedRuns(boot.target, boot.workspace.id);
    const fields = ({ client, nxVersion, misses, remoteHits, savedUnknown }: (typeof runs)[number]) => ({
      client,
      nxVersion,
      misses,
      remoteHits,
      savedUnknown,
    });
    // The hits' time saved is known: it is the misses' durations, which Nx 17-19 leave to their lifecycle to time.
    expect(runs.map(fields)).toEqual([
      { client: 'runner', nxVersion, misses: 0, remoteHits: 4, savedUnknown: 0 },
      { client: 'runner', nxVersion, misses: 4, remoteHits: 0, savedUnknown: 0 },
    ]);
    const missTasks = (await reportedRun(boot.target, boot.workspace.id, runs[1]!.id)).tasks;
    expect(Object.fromEntries(missTasks.map((task) => [task.project, task.hash]))).toEqual(hashes);
    expect(missTasks.filter((task) => !(Number(task.durationMs) > 0))).toEqual([]);
  });
});
