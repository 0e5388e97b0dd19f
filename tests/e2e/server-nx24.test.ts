/**
 * Nx 24 against the real server with nothing but Nx's own two env vars (issue 2). The tests run in order and share
 * one workspace: the first run primes the server, later ones restore from it.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  type BootstrappedWorkspace,
  type NxWorkspace,
  type RunningServer,
  type TokenRecord,
  assertFailed,
  type TestBed,
  assertSucceeded,
  cacheEntryStatuses,
  createToken,
  processesUnder,
  revokeToken,
  selfHostedCacheEnv,
  setWorkspaceAnonymousAccess,
  startTestBed,
  expectOutcomes,
} from './harness';

// jest.config.js's per-project testTimeout is ignored by jest-circus; harness/jest-setup.ts is the lasting fix.
const CHANGED_SOURCE = 'projects/c/src/message.txt';

describe('Nx 24 with the self-hosted cache env vars against nx-sealed-cache serve', () => {
  let server: RunningServer;
  let boot: BootstrappedWorkspace;
  let ws: NxWorkspace;
  let writeToken: TokenRecord;
  let readToken: TokenRecord;
  let primedHashes: string[];
  let primedOutputs: Record<string, string>;

  const allProjects = (outcome: string): Record<string, string> =>
    Object.fromEntries(ws.projects.map((p) => [p, outcome]));
  const restartFromRemote = async (): Promise<void> => {
    await ws.reset();
    rmSync(join(ws.root, 'dist'), { recursive: true, force: true });
  };
  const newHashesSincePriming = (): string[] => ws.localCacheHashes().filter((hash) => !primedHashes.includes(hash));

  let bed: TestBed | undefined;

  beforeAll(async () => {
    bed = await startTestBed('nx24', { workspace: () => ({ linkPackage: false }) });
    ({ server, boot, ws, writeToken, readToken } = bed);
  });
  afterAll(() => bed?.dispose());

  it('stores every task on the first run with a read-write CI token', async () => {
    const result = assertSucceeded(await ws.build(selfHostedCacheEnv(server.url, writeToken.token)));
    expectOutcomes(result, allProjects('miss'));
    primedHashes = ws.localCacheHashes();
    primedOutputs = ws.readOutputs();
    expect(primedHashes).toHaveLength(ws.projects.length);
    const statuses = await cacheEntryStatuses(server.url, primedHashes, readToken.token);
    expect(Object.values(statuses)).toEqual(primedHashes.map(() => 200));
  });

  it('restores every task as [remote cache] after nx reset, byte for byte', async () => {
    await restartFromRemote();
    const result = assertSucceeded(await ws.build(selfHostedCacheEnv(server.url, readToken.token)));
    expectOutcomes(result, allProjects('remote'));
    expect(ws.readOutputs()).toEqual(primedOutputs);
  });

  it('runs green with a read-only CI token and stores nothing', async () => {
    ws.writeFile(CHANGED_SOURCE, 'Project c changed on a branch.\n');
    await restartFromRemote();
    const result = assertSucceeded(await ws.build(selfHostedCacheEnv(server.url, readToken.token)));
    expectOutcomes(result, { ...allProjects('remote'), c: 'miss' });
    const unseen = newHashesSincePriming();
    expect(unseen).toHaveLength(1);
    expect(await cacheEntryStatuses(server.url, unseen, writeToken.token)).toEqual({ [unseen[0] ?? '']: 404 });
  });

  it('fails the run and shows the server 401 reason for a revoked token', async () => {
    const revoked = await createToken(boot.target, { kind: 'ci', workspace: boot.workspace.id, access: 'read-write' });
    await revokeToken(boot.target, revoked.id);
    await restartFromRemote();
    const result = assertFailed(await ws.build(selfHostedCacheEnv(server.url, revoked.token)));
    expect(`${result.stdout}\n${result.stderr}`).toContain('ERR_AUTH_TOKEN_REVOKED');
  });

  describe('anonymous read through the workspace prefix URL', () => {
    let prefixUrl: string;

    beforeAll(async () => {
      prefixUrl = `${server.url}/w/${boot.workspace.id}`;
      await setWorkspaceAnonymousAccess(boot.target, boot.workspace.id, 'read');
    });

    it('gets every task from the remote cache with no token at all', async () => {
      ws.writeFile(CHANGED_SOURCE, 'Project c says hello.\n');
      await restartFromRemote();
      const result = assertSucceeded(await ws.build(selfHostedCacheEnv(prefixUrl)));
      expectOutcomes(result, allProjects('remote'));
      expect(ws.readOutputs()).toEqual(primedOutputs);
    });

    it('runs green on a miss and stores nothing, since anonymous may only read', async () => {
      ws.writeFile(CHANGED_SOURCE, 'Project c changed anonymously.\n');
      await restartFromRemote();
      const result = assertSucceeded(await ws.build(selfHostedCacheEnv(prefixUrl)));
      expectOutcomes(result, { ...allProjects('remote'), c: 'miss' });
      const unseen = newHashesSincePriming();
      expect(unseen).toHaveLength(1);
      expect(await cacheEntryStatuses(server.url, unseen, writeToken.token)).toEqual({ [unseen[0] ?? '']: 404 });
    });
  });

  it('still restores every task after the server restarts on the same data dir', async () => {
    ws.writeFile(CHANGED_SOURCE, 'Project c says hello.\n');
    await server.restart();
    await restartFromRemote();
    const result = assertSucceeded(await ws.build(selfHostedCacheEnv(server.url, readToken.token)));
    expectOutcomes(result, allProjects('remote'));
    expect(ws.readOutputs()).toEqual(primedOutputs);
  });

  it('leaves no Nx or server process behind', async () => {
    const dirs = [ws.tempDir, join(server.dataDir, '..')];
    await ws.dispose();
    await server.dispose();
    for (const dir of dirs) expect(processesUnder(dir)).toEqual([]);
  });
});
