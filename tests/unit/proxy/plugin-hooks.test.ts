import fs from 'node:fs';
import { storeCredential } from '../../../src/client/credentials-store';
import { postTasksExecution, preTasksExecution } from '../../../src/plugin';
import {
  finishRunThroughProxy,
  NX_CACHE_SERVER_ENV,
  NX_CACHE_TOKEN_ENV,
  startRunThroughProxy,
} from '../../../src/plugin/run-proxy';
import { isRemoteCacheSkipped } from '../../../src/plugin/skip-remote-cache';
import { pingProxy } from '../../../src/proxy/control-client';
import { lastRunFile, readLastRun } from '../../../src/proxy/last-run';
import { killProxiesIn, makeStateDir, sourceProxyEntry, warmProxyEntry } from './support/proxy-process';
import { startTinyUpstream, UPSTREAM_TOKEN, type TinyUpstream } from './support/tiny-upstream';

describe('isRemoteCacheSkipped', () => {
  it.each([
    [['nx', 'run-many', '--skip-remote-cache'], {}],
    [['nx', 'run-many', '--skipNxCache'], {}],
    [['nx', 'run-many', '--skip-nx-cache=true'], {}],
    [['nx', 'build'], { NX_SKIP_REMOTE_CACHE: 'true' }],
    [['nx', 'build'], { NX_DISABLE_REMOTE_CACHE: 'true' }],
    [['nx', 'build'], { NX_SKIP_NX_CACHE: 'true' }],
  ])('is skipped for %j with %j', (argv, env) => {
    expect(isRemoteCacheSkipped(argv, env)).toBe(true);
  });

  it.each([
    [['nx', 'run-many', '-t', 'build'], {}],
    [['nx', 'run-many', '--skip-remote-cache=false'], {}],
    [['nx', 'build'], { NX_SKIP_REMOTE_CACHE: 'false' }],
  ])('is not skipped for %j with %j', (argv, env) => {
    expect(isRemoteCacheSkipped(argv, env)).toBe(false);
  });
});

describe('plugin hooks', () => {
  let stderr: jest.SpyInstance;
  const saved = { ...process.env };

  beforeEach(() => {
    stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  });
  afterEach(() => {
    stderr.mockRestore();
    process.env = { ...saved };
  });

  it('never throws and says so in one line when the configuration is unusable', async () => {
    delete process.env.NX_SEALED_CACHE_URL;
    delete process.env[NX_CACHE_SERVER_ENV];
    await expect(
      preTasksExecution({ workspaceId: 'not-an-id' }, { id: 'r1', workspaceRoot: '/tmp/ws', argv: [] }),
    ).resolves.toBeUndefined();
    expect(stderr).toHaveBeenCalledTimes(1);
    expect(String(stderr.mock.calls[0]?.[0])).toMatch(
      /^nx-sealed-cache: remote cache off for this run: .*ERR_CONFIG_INVALID/,
    );
    expect(process.env[NX_CACHE_SERVER_ENV]).toBeUndefined();
    await expect(
      postTasksExecution({ workspaceId: 'not-an-id' }, { id: 'r1', workspaceRoot: '/tmp/ws' }),
    ).resolves.toBeUndefined();
    expect(stderr).toHaveBeenCalledTimes(1);
  });

  it('never throws for a context it does not understand', async () => {
    await expect(preTasksExecution({}, null)).resolves.toBeUndefined();
    await expect(postTasksExecution({}, 42)).resolves.toBeUndefined();
  });

  it('does nothing when the remote cache is skipped', async () => {
    delete process.env[NX_CACHE_SERVER_ENV];
    await preTasksExecution(
      { url: 'http://127.0.0.1:9' },
      { id: 'r2', workspaceRoot: '/tmp/ws', argv: ['nx', 'build', '--skip-remote-cache'] },
    );
    expect(process.env[NX_CACHE_SERVER_ENV]).toBeUndefined();
    expect(stderr).not.toHaveBeenCalled();
  });
});

describe('hook flow through a real proxy process', () => {
  let upstream: TinyUpstream;
  let stateDir: string;

  beforeAll(warmProxyEntry);
  beforeEach(async () => {
    upstream = await startTinyUpstream();
    stateDir = makeStateDir();
  });
  afterEach(async () => {
    await killProxiesIn(stateDir);
    await upstream.close();
  });

  it('points Nx at the proxy with a per-run secret, then prints the run summary (Nx 20.8 context without id)', async () => {
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: stateDir,
      NX_SEALED_CACHE_ACCESS_TOKEN: UPSTREAM_TOKEN,
      NX_SEALED_CACHE_PROXY_DIR: stateDir,
      NX_SEALED_CACHE_PROXY_IDLE_MS: '60000',
    };
    const printed: string[] = [];
    const io = { env, print: (line: string) => printed.push(line), entry: sourceProxyEntry() };
    const context = { workspaceRoot: '/tmp/ws', argv: [] };
    await startRunThroughProxy({ url: upstream.url }, context, io);

    expect(env[NX_CACHE_SERVER_ENV]).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(env[NX_CACHE_TOKEN_ENV]).toMatch(/^nxscp_/);
    expect(env[NX_CACHE_TOKEN_ENV]).not.toBe(UPSTREAM_TOKEN);
    const stateFile = fs.readdirSync(stateDir).find((name) => name.endsWith('.json'))!;
    const state = JSON.parse(fs.readFileSync(`${stateDir}/${stateFile}`, 'utf8'));
    expect(JSON.stringify(state)).not.toContain(UPSTREAM_TOKEN);
    expect((await pingProxy(state)).runs).toBe(1);

    await finishRunThroughProxy({ url: upstream.url }, context, io);
    expect(printed.join('\n')).toMatch(/nx-sealed-cache: 0 remote hits, 0 misses, 0 uploads/);
    // Kept for `nx-sealed-cache proxy last-run` (with the daemon on, Nx shows none of these lines), 0600.
    const last = readLastRun(stateDir, '/tmp/ws');
    expect(last?.lines).toEqual(printed);
    expect(fs.statSync(lastRunFile(stateDir, '/tmp/ws')).mode & 0o777).toBe(0o600);
    expect(readLastRun(stateDir, '/tmp/another-ws')).toBeNull();
    expect(printed.join('\n')).not.toContain(UPSTREAM_TOKEN);
    expect((await pingProxy(state)).runs).toBe(0);
  });

  it('reuses the running proxy for the same inputs without resolving them again, and a new login gets its own', async () => {
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      XDG_CONFIG_HOME: `${stateDir}/config`,
      NX_SEALED_CACHE_PROXY_DIR: stateDir,
      NX_SEALED_CACHE_PROXY_IDLE_MS: '60000',
    };
    const io = { env, print: () => undefined, entry: sourceProxyEntry() };
    const options = { url: upstream.url };
    const stateFiles = () => fs.readdirSync(stateDir).filter((name) => /^proxy-[0-9a-f]{32}\.json$/.test(name));
    storeCredential(upstream.url, UPSTREAM_TOKEN, {}, stateDir, env);
    await startRunThroughProxy(options, { id: 'first', workspaceRoot: '/tmp/ws', argv: [] }, io);
    await startRunThroughProxy(options, { id: 'second', workspaceRoot: '/tmp/ws', argv: [] }, io);
    expect(stateFiles()).toHaveLength(1);
    const [first] = stateFiles();
    expect((await pingProxy(JSON.parse(fs.readFileSync(`${stateDir}/${first}`, 'utf8')))).runs).toBe(2);

    // Logging in again rewrites the login file: the credential may differ, so the proxy must too.
    storeCredential(upstream.url, `${UPSTREAM_TOKEN}-rotated`, {}, stateDir, env);
    await startRunThroughProxy(options, { id: 'third', workspaceRoot: '/tmp/ws', argv: [] }, io);
    expect(stateFiles()).toHaveLength(2);
  });
});
