import fs from 'node:fs';
import { finishRun, pingProxy, registerRun } from '../../../src/proxy/control-client';
import { ensureProxy, type EnsureProxyInput } from '../../../src/proxy/proxy-launcher';
import { createRunSecret } from '../../../src/proxy/secrets';
import { listProxyStates, proxyKey, proxyPaths, readProxyState, writeProxyState } from '../../../src/proxy/state-file';
import {
  isAlive,
  killProxiesIn,
  makeStateDir,
  sourceProxyEntry,
  warmProxyEntry,
  waitFor,
} from './support/proxy-process';
import { startTinyUpstream, UPSTREAM_TOKEN, type TinyUpstream } from './support/tiny-upstream';

describe('sealing proxy process lifecycle', () => {
  let stateDir: string;
  let upstream: TinyUpstream;

  function launchInput(runId: string, idleMs = 400): EnsureProxyInput {
    return {
      settings: { stateDir, idleMs, runTtlMs: 60_000, requestDeadlineMs: 5_000 },
      key: proxyKey(['unit-workspace', upstream.url]),
      client: { options: { url: upstream.url }, env: { NX_SEALED_CACHE_ACCESS_TOKEN: UPSTREAM_TOKEN } },
      runId,
      runSecret: createRunSecret(),
      entry: sourceProxyEntry(),
      env: { PATH: process.env.PATH ?? '' },
    };
  }

  beforeAll(warmProxyEntry);
  beforeEach(async () => {
    stateDir = makeStateDir();
    upstream = await startTinyUpstream();
  });

  afterEach(async () => {
    await killProxiesIn(stateDir);
    await upstream.close();
  });

  it('starts a detached proxy with a private state file, and it exits by itself once idle', async () => {
    const input = launchInput('run-1');
    const state = await ensureProxy(input);
    const paths = proxyPaths(stateDir, input.key);
    expect(isAlive(state.pid)).toBe(true);
    expect(state.pid).not.toBe(process.pid);
    expect(fs.statSync(paths.stateFile).mode & 0o777).toBe(0o600);
    expect(fs.statSync(stateDir).mode & 0o777).toBe(0o700);
    expect(fs.readFileSync(paths.stateFile, 'utf8')).not.toContain(UPSTREAM_TOKEN);
    expect((await pingProxy(state)).runs).toBe(1);

    // A registered run keeps it alive past the idle period.
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    expect(isAlive(state.pid)).toBe(true);

    expect((await finishRun(state, 'run-1')).known).toBe(true);
    expect(await waitFor(() => !isAlive(state.pid), 15_000)).toBe(true);
    expect(fs.existsSync(paths.stateFile)).toBe(false);
  });

  it('reuses a running proxy for the next run', async () => {
    const first = await ensureProxy(launchInput('run-1', 60_000));
    const second = await ensureProxy(launchInput('run-2', 60_000));
    expect(second.pid).toBe(first.pid);
    expect((await pingProxy(first)).runs).toBe(2);
  });

  it('starts exactly one proxy when several Nx processes start at once', async () => {
    const states = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((runId) => ensureProxy(launchInput(runId, 60_000))));
    expect(new Set(states.map((state) => state.pid)).size).toBe(1);
    expect(listProxyStates(stateDir)).toHaveLength(1);
    expect((await pingProxy(states[0]!)).runs).toBe(5);
  });

  it('replaces a state file whose proxy is gone', async () => {
    const input = launchInput('run-1', 60_000);
    const paths = proxyPaths(stateDir, input.key);
    fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    writeProxyState(paths.stateFile, {
      version: 1,
      pid: 999_999,
      port: 9,
      controlSecret: 'x'.repeat(43),
      startedAt: new Date(0).toISOString(),
    });
    const state = await ensureProxy(input);
    expect(state.pid).not.toBe(999_999);
    expect(readProxyState(paths.stateFile)?.pid).toBe(state.pid);
  });

  it('refuses control requests without the control secret', async () => {
    const state = await ensureProxy(launchInput('run-1', 60_000));
    await expect(
      registerRun({ ...state, controlSecret: 'y'.repeat(43) }, 'intruder', createRunSecret()),
    ).rejects.toThrow(/401/);
    expect((await pingProxy(state)).runs).toBe(1);
  });
});
