/** Proves the test bed itself: each fixture builds every project, caches locally, and the harness cleans up. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type FixtureName,
  type NxWorkspace,
  type ReferenceServer,
  assertSucceeded,
  cacheEntryStatuses,
  createWorkspace,
  killAllTrackedProcesses,
  processesUnder,
  selfHostedCacheEnv,
  startReferenceServer,
  expectOutcomes,
} from './harness';

// jest.config.js's per-project testTimeout is ignored by jest-circus; harness/jest-setup.ts is the lasting fix.
const FILES_PER_PROJECT = 4;

function outcomesOf(ws: NxWorkspace, outcome: string): Record<string, string> {
  return Object.fromEntries(ws.projects.map((project) => [project, outcome]));
}

afterAll(() => killAllTrackedProcesses());

describe.each<FixtureName>(['nx20', 'nx24'])('fixture %s', (fixture) => {
  let ws: NxWorkspace;

  beforeAll(async () => {
    ws = await createWorkspace(fixture);
  });
  afterAll(async () => ws?.dispose());

  it('builds every project on the first run, writing text, binary and nested outputs', async () => {
    const result = assertSucceeded(await ws.build());
    expectOutcomes(result, outcomesOf(ws, 'miss'));
    const outputs = ws.readOutputs();
    expect(Object.keys(outputs)).toHaveLength(ws.projects.length * FILES_PER_PROJECT);
    expect(Object.keys(outputs)).toEqual(
      expect.arrayContaining(['dist/a/payload.bin', 'dist/d/nested/deep/manifest.json']),
    );
  });

  it('restores every project from the local cache on the second run, byte for byte', async () => {
    const firstOutputs = ws.readOutputs();
    rmSync(join(ws.root, 'dist'), { recursive: true, force: true });
    const result = assertSucceeded(await ws.build());
    expectOutcomes(result, outcomesOf(ws, 'local'));
    expect(ws.readOutputs()).toEqual(firstOutputs);
    expect(ws.localCacheHashes()).toHaveLength(ws.projects.length);
  });

  it('misses again only for the project whose input changed', async () => {
    ws.writeFile('projects/b/src/message.txt', 'Project b changed its mind.\n');
    const result = assertSucceeded(await ws.build());
    expectOutcomes(result, { ...outcomesOf(ws, 'local'), b: 'miss' });
  });

  it('leaves no process behind once disposed', async () => {
    const tempDir = ws.tempDir;
    await ws.dispose();
    expect(processesUnder(tempDir)).toEqual([]);
  });
});

describe('nx24 with the daemon on', () => {
  it('caches locally and stops the daemon on dispose', async () => {
    const ws = await createWorkspace('nx24', { daemon: true });
    try {
      assertSucceeded(await ws.build());
      expect(processesUnder(ws.tempDir).length).toBeGreaterThan(0);
      const result = assertSucceeded(await ws.build());
      expectOutcomes(result, outcomesOf(ws, 'local'));
    } finally {
      await ws.dispose();
    }
    expect(processesUnder(ws.tempDir)).toEqual([]);
  });
});

describe('nx24 against the reference server (harness self-test)', () => {
  let server: ReferenceServer;
  let ws: NxWorkspace;
  let serverDir: string;

  beforeAll(async () => {
    serverDir = mkdtempSync(join(tmpdir(), 'nxsc-reference-'));
    server = await startReferenceServer({
      dataDir: serverDir,
      tokens: { 'write-token': 'read-write', 'read-token': 'read' },
    });
    ws = await createWorkspace('nx24');
  });
  afterAll(async () => {
    await ws?.dispose();
    await server?.close();
    rmSync(serverDir, { recursive: true, force: true });
  });

  it('stores every task on the first run and restores each as [remote cache] after a reset', async () => {
    const first = assertSucceeded(await ws.build(selfHostedCacheEnv(server.url, 'write-token')));
    expectOutcomes(first, outcomesOf(ws, 'miss'));
    const hashes = ws.localCacheHashes();
    const stored = await cacheEntryStatuses(server.url, hashes, 'read-token');
    expect(Object.values(stored)).toEqual(hashes.map(() => 200));

    const firstOutputs = ws.readOutputs();
    await ws.reset();
    rmSync(join(ws.root, 'dist'), { recursive: true, force: true });
    const second = assertSucceeded(await ws.build(selfHostedCacheEnv(server.url, 'read-token')));
    expectOutcomes(second, outcomesOf(ws, 'remote'));
    expect(ws.readOutputs()).toEqual(firstOutputs);
  });

  it('fails the run and shows the text/plain 401 reason for an unknown token', async () => {
    await ws.reset();
    const result = await ws.build(selfHostedCacheEnv(server.url, 'unknown-token'));
    expect(result.exitCode).not.toBe(0);
    expect(result.stdout + result.stderr).toContain('missing or unknown access token');
  });
});
