import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runWithSealedCache, type RunnerDeps } from '../../../src/runner';
import type { LegacyRemoteCache } from '../../../src/runner/remote-cache';
import { generateEncryptionKey } from '../../../src/crypto/keys';
import { accessBody, refusedUrl, sendJson, startTinyServer, type TinyServer } from '../client/tiny-server';
import { writeLegacyEntry } from './legacy-entry-fixture';

type FakeRunnerCall = { options: Record<string, unknown>; context: unknown };

/** A workspace folder whose own node_modules/nx is a stub of the given version with a default runner. */
function createFakeWorkspace(nxVersion: string, nxJson: Record<string, unknown> = {}): string {
  const root = mkdtempSync(join(tmpdir(), 'nxsc-runner-'));
  writeFileSync(join(root, 'nx.json'), JSON.stringify(nxJson));
  const nxDir = join(root, 'node_modules', 'nx');
  mkdirSync(join(nxDir, 'tasks-runners'), { recursive: true });
  writeFileSync(join(nxDir, 'package.json'), JSON.stringify({ name: 'nx', version: nxVersion }));
  writeFileSync(join(nxDir, 'tasks-runners', 'default.js'), 'exports.default = async () => ({ stub: "success" });\n');
  return root;
}

describe('the tasks runner', () => {
  let root: string;
  let server: TinyServer;
  let lines: string[];
  let calls: FakeRunnerCall[];
  let blobs: Map<string, Buffer>;

  /** Deps whose default runner records what it got and then acts like Nx: `act` uses the remote cache. */
  const deps = (
    act: (cache: LegacyRemoteCache | undefined) => Promise<void> = async () => undefined,
    env: NodeJS.ProcessEnv = {},
  ): RunnerDeps => ({
    env: { NX_SEALED_CACHE_URL: server.url, NX_SEALED_CACHE_ACCESS_TOKEN: 'nxsc_ci_test', ...env },
    cwd: root,
    homeDir: root,
    print: (line) => lines.push(line),
    loadRunner: () => async (_tasks, options, context) => {
      calls.push({ options, context });
      await act(options.remoteCache as LegacyRemoteCache | undefined);
      return { a: 'success' };
    },
  });

  beforeEach(async () => {
    root = createFakeWorkspace('20.8.2', { useLegacyCache: true });
    lines = [];
    calls = [];
    blobs = new Map();
    server = await startTinyServer((req, res) => {
      if (req.url.endsWith('/v1/access')) return sendJson(res, 200, accessBody({ read: true, write: true }));
      const hash = req.url.split('/').pop()!;
      if (req.method === 'PUT') {
        blobs.set(hash, req.body);
        return res.writeHead(200).end();
      }
      const blob = blobs.get(hash);
      return blob ? res.writeHead(200, { 'content-length': String(blob.length) }).end(blob) : res.writeHead(404).end();
    });
  });
  afterEach(async () => {
    await server.close();
    rmSync(root, { recursive: true, force: true });
  });

  const nxJson = { useLegacyCache: true };

  it('takes the token and key out of the environment before Nx forks any task, and still uses them', async () => {
    const key = generateEncryptionKey();
    const from = join(root, 'cache-from');
    mkdirSync(from);
    writeLegacyEntry(from, '4242');
    const base = deps(async (cache) => void expect(await cache!.store('4242', from)).toBe(true));
    const env: NodeJS.ProcessEnv = { ...base.env, NX_SEALED_CACHE_ENCRYPTION_KEY: key };
    let seenByNx = '';
    const inner = base.loadRunner!;
    await runWithSealedCache(
      [],
      {},
      { nxJson },
      {
        ...base,
        env,
        loadRunner: (workspaceRoot) => async (tasks, options, context) => {
          seenByNx = JSON.stringify(env);
          return inner(workspaceRoot)(tasks, options, context);
        },
      },
    );
    expect(seenByNx).not.toContain('nxsc_ci_test');
    expect(seenByNx).not.toContain(key);
    expect(env.NX_SEALED_CACHE_ACCESS_TOKEN).toBeUndefined();
    expect(blobs.has('4242')).toBe(true);
  });

  it("hands Nx a remote cache and strips our options, keeping Nx's own", async () => {
    const options = {
      url: 'http://ignored:1',
      token: 'nxsc_ci_committed',
      encryptionKey: 'x'.repeat(20),
      workspaceId: 'ws_aaaaaaaaaaaaaaaaaaaa',
      parallel: 3,
      skipNxCache: false,
    };
    const result = await runWithSealedCache([], options, { nxJson }, deps());
    expect(result).toEqual({ a: 'success' });
    const passed = calls[0]!.options;
    expect(passed).toMatchObject({ parallel: 3, skipNxCache: false });
    expect(Object.keys(passed)).toEqual(expect.not.arrayContaining(['url', 'token', 'encryptionKey', 'workspaceId']));
    expect(typeof (passed.remoteCache as LegacyRemoteCache).retrieve).toBe('function');
  });

  it('stores after a run and restores in another cache dir, sealed, with the commit marker and without the machine id', async () => {
    const env = { NX_SEALED_CACHE_ENCRYPTION_KEY: generateEncryptionKey() };
    const from = join(root, 'cache-from');
    const to = join(root, 'cache-to');
    mkdirSync(from);
    mkdirSync(to);
    writeLegacyEntry(from, '777');
    await runWithSealedCache(
      [],
      {},
      { nxJson },
      deps(async (cache) => void expect(await cache!.store('777', from)).toBe(true), env),
    );
    expect(blobs.get('777')!.includes(Buffer.from('alpha output'))).toBe(false);
    await runWithSealedCache(
      [],
      {},
      { nxJson },
      deps(async (cache) => void expect(await cache!.retrieve('777', to)).toBe(true), env),
    );
    expect(readFileSync(join(to, '777', 'outputs', 'dist', 'a', 'main.js'), 'utf8')).toContain('alpha output');
    expect(existsSync(join(to, '777.commit'))).toBe(true);
    expect(existsSync(join(to, '777', 'source'))).toBe(false);
    expect(lines.filter((line) => line.includes('1 remote hit'))).toHaveLength(1);
  });

  it('reports the upload and download of each entry to the progress lines (printed only when they take long)', async () => {
    const from = join(root, 'cache-from');
    const to = join(root, 'cache-to');
    mkdirSync(from);
    mkdirSync(to);
    writeLegacyEntry(from, '888');
    const ended: string[] = [];
    const progress: RunnerDeps['progress'] = (direction, hash) => ({
      add: () => undefined,
      end: (outcome) => ended.push(`${direction} ${hash} ${outcome}`),
    });
    const store = deps(async (cache) => void expect(await cache!.store('888', from)).toBe(true));
    await runWithSealedCache([], {}, { nxJson }, { ...store, progress });
    const restore = deps(async (cache) => void expect(await cache!.retrieve('888', to)).toBe(true));
    await runWithSealedCache([], {}, { nxJson }, { ...restore, progress });
    expect(ended).toEqual(['upload 888 done', 'download 888 done']);
  });

  it('turns a tampered artifact into a miss: nothing committed, one warning, the run goes on', async () => {
    const env = { NX_SEALED_CACHE_ENCRYPTION_KEY: generateEncryptionKey() };
    const from = join(root, 'cache-from');
    const to = join(root, 'cache-to');
    mkdirSync(from);
    mkdirSync(to);
    writeLegacyEntry(from, '777');
    await runWithSealedCache(
      [],
      {},
      { nxJson },
      deps(async (cache) => void (await cache!.store('777', from)), env),
    );
    const blob = blobs.get('777')!;
    blob[blob.length - 5]! ^= 0xff;
    lines = [];
    await runWithSealedCache(
      [],
      {},
      { nxJson },
      deps(async (cache) => void expect(await cache!.retrieve('777', to)).toBe(false), env),
    );
    expect(readdirSync(to)).toEqual([]);
    expect(lines.filter((line) => line.includes('could not be opened'))).toHaveLength(1);
    expect(lines.at(-1)).toContain('0 remote hits, 1 miss');
  });

  it('never throws to Nx when the server is dead, warns once and prints one summary', async () => {
    const dead = await refusedUrl();
    const cacheDir = join(root, 'cache');
    mkdirSync(cacheDir);
    writeLegacyEntry(cacheDir, '1');
    const result = await runWithSealedCache(
      [],
      {},
      { nxJson },
      {
        ...deps(async (cache) => {
          expect(await cache!.retrieve('2', cacheDir)).toBe(false);
          expect(await cache!.store('1', cacheDir)).toBe(false);
        }),
        env: { NX_SEALED_CACHE_URL: dead, NX_SEALED_CACHE_ACCESS_TOKEN: 'nxsc_ci_test' },
      },
    );
    expect(result).toEqual({ a: 'success' });
    expect(lines.filter((line) => line.includes('remote cache off'))).toHaveLength(2);
    expect(lines.at(-1)).toMatch(/^nx-sealed-cache: remote cache off \(/);
    expect(lines.join('\n')).not.toContain('nxsc_ci_test');
  });

  it('keeps the run going with the cache off when the configuration is unusable', async () => {
    await runWithSealedCache(
      [],
      {},
      { nxJson },
      { ...deps(async (cache) => void expect(await cache!.retrieve('1', root)).toBe(false)), env: {} },
    );
    expect(calls).toHaveLength(1);
    expect(lines).toEqual([expect.stringContaining('NX_SEALED_CACHE_URL')]);
  });

  it('does not contact the server when Nx is told to skip the cache', async () => {
    await runWithSealedCache([], { skipNxCache: true }, { nxJson }, deps());
    await runWithSealedCache([], { skipRemoteCache: true }, { nxJson }, deps());
    expect(server.received).toHaveLength(0);
    expect(calls.map((call) => call.options.remoteCache)).toEqual([undefined, undefined]);
    expect(lines).toEqual([]);
  });

  it('warns once, with the fix, when Nx 20 uses its database cache', async () => {
    await runWithSealedCache([], {}, { nxJson: {} }, deps());
    expect(lines).toEqual([expect.stringContaining('"useLegacyCache": true')]);
    expect(server.received).toHaveLength(0);
    lines = [];
    await runWithSealedCache([], {}, { nxJson: {} }, deps(undefined, { NX_DB_CACHE: 'false' }));
    expect(lines.some((line) => line.includes('useLegacyCache'))).toBe(false);
  });

  it('needs no legacy cache on Nx 17–19', async () => {
    rmSync(root, { recursive: true, force: true });
    root = createFakeWorkspace('19.8.0');
    const from = join(root, 'cache-from');
    mkdirSync(from);
    writeLegacyEntry(from, '777');
    await runWithSealedCache(
      [],
      {},
      { nxJson: {} },
      deps(async (cache) => void expect(await cache!.store('777', from)).toBe(true)),
    );
    expect(lines.some((line) => line.includes('useLegacyCache'))).toBe(false);
    // The remote cache handed to Nx 19 really stores: the entry reached the server.
    expect([...blobs.keys()]).toEqual(['777']);
  });

  it("loads the workspace's own Nx default runner, not this package's", async () => {
    const { loadRunner: _ignored, ...withoutLoader } = deps();
    const result = await runWithSealedCache([], { skipNxCache: true }, { nxJson }, withoutLoader);
    expect(result).toEqual({ stub: 'success' });
  });
});
