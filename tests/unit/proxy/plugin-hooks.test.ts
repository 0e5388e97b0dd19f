import fs from 'node:fs';
import { postTasksExecution, preTasksExecution } from '../../../src/plugin';
import {
  finishRunThroughProxy,
  NX_CACHE_SERVER_ENV,
  NX_CACHE_TOKEN_ENV,
  startRunThroughProxy,
} from '../../../src/plugin/run-proxy';
import { isRemoteCacheSkipped } from '../../../src/plugin/skip-remote-cache';
import { pingProxy } from '../../../src/proxy/control-client';
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
    expect(printed.join('\n')).not.toContain(UPSTREAM_TOKEN);
    expect((await pingProxy(state)).runs).toBe(0);
  });
});
