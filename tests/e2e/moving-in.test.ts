/**
 * Moving in: `init --replace-existing` takes a workspace off Nx Cloud (Nx 24) or off an
 * nx-remotecache-custom runner (Nx 20), and the next runs hit through nx-sealed-cache only.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import {
  type BootstrappedWorkspace,
  type NxWorkspace,
  type RunningServer,
  type TestBed,
  assertSucceeded,
  expectOutcomes,
  startTestBed,
} from './harness';

const CLOUD_TOKEN = 'NzQ0ZjYyMjQtYjFkYS00ODc4LTk0ZjYtNTVhM2ExZDQ2YzZifHJlYWQ=';

/** A loopback port standing in for Nx Cloud: it only counts who connects. */
async function listenForCloud(): Promise<{
  url: string;
  connections: () => number;
  resetCount: () => void;
  close: () => Promise<void>;
}> {
  let count = 0;
  const server: Server = createServer((socket) => {
    count += 1;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    connections: () => count,
    resetCount: () => void (count = 0),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe.each([
  {
    fixture: 'nx24' as const,
    name: 'Nx Cloud (nxCloudId and a committed nxCloudAccessToken)',
    patch: (json: Record<string, unknown>) => ({
      ...json,
      nxCloudId: '65f0c0ffee0000000000abcd',
      nxCloudAccessToken: CLOUD_TOKEN,
    }),
    found: /found another remote cache, Nx Cloud: nx.json nxCloudAccessToken, nx.json nxCloudId/,
    // Nx 24 tries to fetch the Nx Cloud client from NX_CLOUD_API and says so.
    before: (output: string, _exit: number | null, connections: number) => connections > 0 && /Nx Cloud/.test(output),
  },
  {
    fixture: 'nx20' as const,
    name: 'an nx-remotecache-custom runner',
    patch: (json: Record<string, unknown>) => ({
      ...json,
      tasksRunnerOptions: {
        default: {
          runner: 'nx-remotecache-custom',
          options: { url: 'http://127.0.0.1:9', secretAccessKey: 'old-secret-value', cacheableOperations: ['build'] },
        },
      },
    }),
    found: /found another remote cache, the nx-remotecache-custom runner: nx.json tasksRunnerOptions.default/,
    // Nx 20 tries to load the runner named in nx.json, which is not installed.
    before: (output: string, exit: number | null) => exit !== 0 && /Custom task runners|runner/.test(output),
  },
])('moving in on $fixture from $name', ({ fixture, patch, found, before }) => {
  let bed: TestBed | undefined;
  let server: RunningServer;
  let boot: BootstrappedWorkspace;
  let ws: NxWorkspace;
  let cloud: Awaited<ReturnType<typeof listenForCloud>>;
  let namedInputsText: string;

  beforeAll(async () => {
    cloud = await listenForCloud();
    const cloudUrl = cloud.url;
    bed = await startTestBed(fixture, {
      proxyDir: true,
      // No Nx Cloud variables, Nx Cloud not switched off, and its API pointed at a port that counts connections.
      workspace: ({ writeToken, proxyDir }) => ({
        env: {
          NX_NO_CLOUD: undefined,
          NX_CLOUD_API: cloudUrl,
          NX_SEALED_CACHE_ACCESS_TOKEN: writeToken.token,
          NX_SEALED_CACHE_PROXY_DIR: proxyDir,
          NX_SEALED_CACHE_PROXY_IDLE_MS: '1500',
        },
      }),
    });
    ({ server, boot, ws } = bed);
    const text = readFileSync(join(ws.root, 'nx.json'), 'utf8');
    namedInputsText = text.slice(text.indexOf('"namedInputs"'), text.indexOf('"targetDefaults"'));
    const patched = `${JSON.stringify(patch(ws.readNxJson()), null, 2)}\n`;
    // Keep the template's own formatting of namedInputs so the byte-for-byte check below means something.
    ws.writeFile('nx.json', patched.replace(/"namedInputs": \{[\s\S]*?\n {2}\},\n/, namedInputsText));
  });

  afterAll(async () => {
    try {
      await bed?.dispose();
    } finally {
      await cloud?.close();
    }
  });

  it('before init, a run does try to use the old cache, so the checks below can fail', async () => {
    // Its own cache and workspace data, so nothing of this run is left for the runs after init (`nx reset` would call Nx Cloud too).
    const scratch = mkdtempSync(join(ws.tempDir, 'control-'));
    const env = { NX_CACHE_DIRECTORY: join(scratch, 'cache'), NX_WORKSPACE_DATA_DIRECTORY: join(scratch, 'data') };
    const result = await ws.run(['run-many', '-t', 'build'], env, { timeoutMs: 60_000 });
    expect(before(result.stdout + result.stderr, result.exitCode, cloud.connections())).toBe(true);
    rmSync(join(ws.root, 'dist'), { recursive: true, force: true });
    cloud.resetCount();
  });

  it('init without consent refuses and names what it found and the flag', async () => {
    const before = readFileSync(join(ws.root, 'nx.json'), 'utf8');
    const result = await ws.run([
      'g',
      'nx-sealed-cache:init',
      `--url=${server.url}`,
      `--workspaceId=${boot.workspace.id}`,
      '--no-interactive',
    ]);
    expect(result.exitCode).not.toBe(0);
    expect(result.stdout + result.stderr).toMatch(/another remote cache is configured.*--replace-existing/s);
    expect(readFileSync(join(ws.root, 'nx.json'), 'utf8')).toBe(before);
  });

  it('init --replace-existing replaces it, keeps unrelated settings byte for byte, and never prints the secret', async () => {
    const result = assertSucceeded(
      await ws.run([
        'g',
        'nx-sealed-cache:init',
        `--url=${server.url}`,
        `--workspaceId=${boot.workspace.id}`,
        '--replace-existing',
        '--no-interactive',
      ]),
    );
    const output = result.stdout + result.stderr;
    expect(output).toMatch(found);
    expect(output).not.toContain(CLOUD_TOKEN);
    expect(output).not.toContain('old-secret-value');
    const text = readFileSync(join(ws.root, 'nx.json'), 'utf8');
    expect(text).toContain(namedInputsText);
    const nxJson = ws.readNxJson();
    expect(nxJson.plugins).toContainEqual({
      plugin: 'nx-sealed-cache',
      options: { url: server.url, workspaceId: boot.workspace.id },
    });
    expect(JSON.stringify(nxJson)).not.toMatch(/nxCloud|remotecache|secretAccessKey/);
  });

  it('then runs hit remotely through our proxy after nx reset, and nothing talks to Nx Cloud', async () => {
    const allProjects = (outcome: string) => Object.fromEntries(ws.projects.map((p) => [p, outcome]));
    const first = assertSucceeded(await ws.build());
    expectOutcomes(first, allProjects('miss'));
    await ws.reset();
    rmSync(join(ws.root, 'dist'), { recursive: true, force: true });
    const second = assertSucceeded(await ws.build());
    expectOutcomes(second, allProjects('remote'));
    for (const output of [first.stdout + first.stderr, second.stdout + second.stderr])
      expect(output).not.toMatch(/nx cloud|nx-cloud|nxCloud/i);
    expect(cloud.connections()).toBe(0);
  });
});
