/**
 * Nx 20 with the nx-sealed-cache tasks runner (legacy cache) against the real server (issue 3).
 * The tests run in order and share one workspace: the first run primes the server, later ones restore.
 */
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import {
  type NxWorkspace,
  type RunEnv,
  type RunningServer,
  type TokenRecord,
  type TestBed,
  assertSucceeded,
  installServerKiller,
  killServerEnv,
  referenceOutputs,
  serverProcessId,
  startTestBed,
  taskOrder,
  expectOutcomes,
} from './harness';
import { generateEncryptionKey } from '../../src/crypto/keys';

const ENCRYPTION_KEY = generateEncryptionKey();

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((name) => join(dir, name))
    .filter((path) => statSync(path).isFile());
}

function ourLines(output: string): string[] {
  return output.split(/\r?\n/).filter((line) => line.startsWith('nx-sealed-cache:'));
}

describe('Nx 20 with the nx-sealed-cache tasks runner against nx-sealed-cache serve', () => {
  let server: RunningServer;
  let ws: NxWorkspace;
  let writeToken: TokenRecord;
  let readToken: TokenRecord;
  let primedOutputs: Record<string, string>;

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
  const blobFiles = (): string[] => filesUnder(join(server.dataDir, 'blobs'));

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
    ({ server, ws, writeToken, readToken } = bed);
  });
  afterAll(() => bed?.dispose());

  it('stores every task on the first run, sealed, and says so in one summary line', async () => {
    const result = assertSucceeded(await ws.build(runnerEnv(writeToken.token)));
    expectOutcomes(result, allProjects('miss'));
    primedOutputs = ws.readOutputs();
    const lines = ourLines(result.stderr + result.stdout);
    const summary = lines.filter((line) => line.includes(' uploads '));
    expect(summary).toEqual([
      expect.stringContaining(`0 remote hits, ${ws.projects.length} misses, ${ws.projects.length} uploads`),
    ]);
    expect(summary[0]).toContain('sealed with key');
    expect(summary[0]).toContain('token from NX_SEALED_CACHE_ACCESS_TOKEN (ci, read-write)');
    expect(result.stdout + result.stderr).not.toContain(writeToken.token);
    expect(blobFiles()).toHaveLength(ws.projects.length);
  });

  it('keeps no plaintext on the server: every blob is sealed and none of the outputs shows', () => {
    const plaintexts = ws.projects.flatMap((project) => [
      readFileSync(join(ws.root, 'projects', project, 'src', 'message.txt')),
      readFileSync(join(ws.root, 'dist', project, 'payload.bin')).subarray(256, 320),
      Buffer.from(`"project": "${project}"`),
    ]);
    for (const blob of blobFiles()) {
      const bytes = readFileSync(blob);
      expect(bytes.subarray(0, 4).toString('latin1')).toBe('NXSC');
      expect(() => gunzipSync(bytes)).toThrow();
      for (const plaintext of plaintexts) expect(bytes.includes(plaintext)).toBe(false);
    }
  });

  it('restores every task as [remote cache] after nx reset, byte for byte', async () => {
    await restartFromRemote();
    const result = assertSucceeded(await ws.build(runnerEnv(readToken.token)));
    expectOutcomes(result, allProjects('remote'));
    expect(ws.readOutputs()).toEqual(primedOutputs);
    expect(ourLines(result.stderr).filter((line) => line.includes('remote hits'))).toEqual([
      expect.stringContaining(`${ws.projects.length} remote hits, 0 misses, 0 uploads`),
    ]);
  });

  it('turns a blob tampered on the server disk into a miss: the task reruns and the run passes', async () => {
    const victim = blobFiles()[0]!;
    const bytes = readFileSync(victim);
    bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
    writeFileSync(victim, bytes);
    await restartFromRemote();
    const result = assertSucceeded(await ws.build(runnerEnv(readToken.token)));
    const misses = Object.values(result.outcomes).filter((outcome) => outcome === 'miss');
    expect(misses).toHaveLength(1);
    expect(Object.values(result.outcomes).filter((outcome) => outcome === 'remote')).toHaveLength(
      ws.projects.length - 1,
    );
    expect(ws.readOutputs()).toEqual(primedOutputs);
    const warnings = ourLines(result.stderr).filter(
      (line) => line.includes('treated as a cache miss') || line.includes('could not restore'),
    );
    expect(warnings).toHaveLength(1);
  });

  it('restores with a read-only token but never uploads, and says so once', async () => {
    const blobsBefore = blobFiles().length;
    ws.writeFile('projects/b/src/message.txt', 'Project b changed for the read-only run.\n');
    await restartFromRemote();
    const result = assertSucceeded(await ws.build(runnerEnv(readToken.token)));
    expect(result.outcomes.b).toBe('miss');
    expect(blobFiles()).toHaveLength(blobsBefore);
    const lines = ourLines(result.stderr);
    expect(lines.filter((line) => line.includes('uploads nothing'))).toHaveLength(1);
    // b changed, and the blob tampered earlier was never replaced (read-only tokens cannot): both run, neither uploads.
    const misses = Object.values(result.outcomes).filter((outcome) => outcome === 'miss').length;
    expect(misses).toBeGreaterThanOrEqual(1);
    expect(lines.find((line) => line.includes('remote hits'))).toContain(
      `${misses} ${misses === 1 ? 'miss' : 'misses'}, 0 uploads, ${misses} not uploaded`,
    );
  });

  it('keeps the run green with one warning when the server is down', async () => {
    await server.stop();
    try {
      ws.writeFile('projects/c/src/message.txt', 'Project c changed while the server was down.\n');
      await restartFromRemote();
      const result = assertSucceeded(await ws.build(runnerEnv(writeToken.token)));
      expectOutcomes(result, allProjects('miss'));
      const warnings = ourLines(result.stderr).filter((line) => line.includes('remote cache off for this run'));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain('ERR_CLIENT_UNREACHABLE');
    } finally {
      await server.restart();
    }
  });

  it('keeps the run green with one warning when the server dies mid-run, and works again once it is back', async () => {
    const killer = 'a';
    const expectedOutputs = await referenceOutputs(ws);
    expect(Object.keys(expectedOutputs)).toHaveLength(4 * ws.projects.length);
    const pid = serverProcessId(server);
    if (pid === undefined) throw new Error(`the server is not running\n${server.output()}`);
    const putBack = installServerKiller(ws, killer);
    let ranBeforeKiller: string[] = [];
    try {
      await restartFromRemote();
      const result = assertSucceeded(await ws.build({ ...runnerEnv(writeToken.token), ...killServerEnv(pid) }));
      expect(result.stdout).toContain(`killed the cache server (pid ${pid})`);
      expect(serverProcessId(server)).toBeUndefined();
      expectOutcomes(result, allProjects('miss'));
      expect(ws.readOutputs()).toEqual(expectedOutputs);
      // The access check passed (the header names the credential's rights), then one warning, then the summary.
      expect(ourLines(result.stderr + result.stdout)).toEqual([
        expect.stringMatching(/^nx-sealed-cache: remote cache http:\/\/127\.0\.0\.1:\d+ .*\(ci, read-write\)/),
        expect.stringMatching(/^nx-sealed-cache: remote cache off for this run: .*ERR_CLIENT_UNREACHABLE/),
        expect.stringMatching(/^nx-sealed-cache: remote cache off \(.*ERR_CLIENT_UNREACHABLE.*\) · sealed with key /),
      ]);
      const order = taskOrder(result.stdout);
      expect([...order].sort()).toEqual(ws.projects);
      ranBeforeKiller = order.slice(0, order.indexOf(killer));
    } finally {
      await server.restart();
    }

    // Back up. Tasks that finished before the crash were stored; the killer and those after it were not, and upload now.
    const hits = ranBeforeKiller.length;
    const misses = ws.projects.length - hits;
    await restartFromRemote();
    const again = assertSucceeded(await ws.build(runnerEnv(writeToken.token)));
    expectOutcomes(again, {
      ...allProjects('miss'),
      ...Object.fromEntries(ranBeforeKiller.map((project) => [project, 'remote'])),
    });
    expect(ourLines(again.stderr).filter((line) => line.includes(' uploads '))).toEqual([
      expect.stringContaining(
        `${hits} remote ${hits === 1 ? 'hit' : 'hits'}, ${misses} ${misses === 1 ? 'miss' : 'misses'}, ${misses} ${misses === 1 ? 'upload' : 'uploads'}`,
      ),
    ]);
    await restartFromRemote();
    const restored = assertSucceeded(await ws.build(runnerEnv(readToken.token)));
    expectOutcomes(restored, allProjects('remote'));
    expect(ws.readOutputs()).toEqual(expectedOutputs);
    putBack();
  });
});
