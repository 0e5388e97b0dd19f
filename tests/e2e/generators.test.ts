/**
 * The generators in real workspaces (issue 5): `init` from a workspace with no cache configured
 * gives remote hits after `nx reset`, and `convert-to-id` swaps a committed token for the id.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  type BootstrappedWorkspace,
  type NxJson,
  type NxWorkspace,
  type RunningServer,
  type TestBed,
  type TokenRecord,
  assertFailed,
  assertSucceeded,
  fixtureDir,
  startTestBed,
  expectOutcomes,
} from './harness';

describe.each([['nx20' as const], ['nx24' as const]])('generators in the %s fixture', (fixture) => {
  let server: RunningServer;
  let boot: BootstrappedWorkspace;
  let ciToken: TokenRecord;
  let ws: NxWorkspace;

  const allProjects = (outcome: string): Record<string, string> =>
    Object.fromEntries(ws.projects.map((p) => [p, outcome]));
  const restartFromRemote = async (): Promise<void> => {
    await ws.reset();
    rmSync(join(ws.root, 'dist'), { recursive: true, force: true });
  };

  let bed: TestBed | undefined;

  beforeAll(async () => {
    bed = await startTestBed(fixture, {
      proxyDir: true,
      workspace: ({ writeToken, proxyDir }) => ({
        env: {
          NX_SEALED_CACHE_ACCESS_TOKEN: writeToken.token,
          NX_SEALED_CACHE_PROXY_DIR: proxyDir,
          NX_SEALED_CACHE_PROXY_IDLE_MS: '1500',
        },
      }),
    });
    ({ server, boot, ws, writeToken: ciToken } = bed);
  });
  afterAll(() => bed?.dispose());

  it('init without --url and no terminal to ask in refuses, naming the option, and writes nothing', async () => {
    const before = readFileSync(join(ws.root, 'nx.json'), 'utf8');
    const result = assertFailed(await ws.run(['g', 'nx-sealed-cache:init', '--no-interactive']));
    expect(result.stdout + result.stderr).toMatch(/--url is required: the base URL of your nx-sealed-cache server/);
    expect(readFileSync(join(ws.root, 'nx.json'), 'utf8')).toBe(before);
  });

  it('init wires the plugin for the installed Nx', async () => {
    const result = assertSucceeded(
      await ws.run([
        'g',
        'nx-sealed-cache:init',
        `--url=${server.url}`,
        `--workspaceId=${boot.workspace.id}`,
        '--no-interactive',
      ]),
    );
    expect(result.stdout + result.stderr).toMatch(/plugin with the sealing proxy/);
    const nxJson = ws.readNxJson();
    expect(nxJson.plugins).toContainEqual({
      plugin: 'nx-sealed-cache',
      options: { url: server.url, workspaceId: boot.workspace.id },
    });
    expect(nxJson.useLegacyCache).toBeUndefined();
    // Leaves the rest of the fixture's nx.json as it was.
    const template = JSON.parse(readFileSync(join(fixtureDir(fixture), 'template', 'nx.json'), 'utf8')) as NxJson;
    expect(nxJson.targetDefaults).toEqual(template.targetDefaults);
    expect(nxJson.namedInputs).toEqual(template.namedInputs);
  });

  it('then two runs with nx reset between them give remote hits', async () => {
    expectOutcomes(assertSucceeded(await ws.build()), allProjects('miss'));
    const outputs = ws.readOutputs();
    await restartFromRemote();
    expectOutcomes(assertSucceeded(await ws.build()), allProjects('remote'));
    expect(ws.readOutputs()).toEqual(outputs);
  });

  it('convert-to-id replaces a committed token with the id, and runs still hit with the token in the env var', async () => {
    // Edited as text: Nx hashes nx.json's bytes, so a reformatted file would make every task a miss.
    const text = readFileSync(join(ws.root, 'nx.json'), 'utf8');
    expect(text).toContain(`"workspaceId": "${boot.workspace.id}"`);
    ws.writeFile('nx.json', text.replace(`"workspaceId": "${boot.workspace.id}"`, `"token": "${ciToken.token}"`));
    assertSucceeded(
      await ws.run(['g', 'nx-sealed-cache:convert-to-id', '--no-interactive'], {
        NX_SEALED_CACHE_ACCESS_TOKEN: undefined,
      }),
    );
    expect(ws.readNxJson().plugins).toEqual([
      { plugin: 'nx-sealed-cache', options: { url: server.url, workspaceId: boot.workspace.id } },
    ]);
    await restartFromRemote();
    expectOutcomes(assertSucceeded(await ws.build()), allProjects('remote'));
  });
});
