import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { readNxJson, updateNxJson } from 'nx/src/devkit-exports';
import {
  OTHER_WORKSPACE_ID,
  WORKSPACE_ID,
  startFakeAccessServer,
  unusedUrl,
  type FakeAccessServer,
} from '../../tests/unit/cli-login/fake-access-server';
import type { NxJson, WorkspaceTree } from '../../src/nx-config/nx-devkit';
import { applyConvertToId, printConvertResult, type ConvertDeps } from './generator';

const CI_TOKEN = 'nxsc_ci_committedReadOnlyToken1';
const PAT = 'nxsc_pat_someonesPersonalToken1';

function deps(env: NodeJS.ProcessEnv = {}): ConvertDeps & { writes: number } {
  const d = {
    env,
    writes: 0,
    readNxJson: (tree: WorkspaceTree) => readNxJson(tree as never) as unknown as NxJson | null,
    updateNxJson: (tree: WorkspaceTree, json: NxJson) => {
      d.writes += 1;
      updateNxJson(tree as never, json as never);
    },
  };
  return d;
}

function treeWith(nxJson: Record<string, unknown>): WorkspaceTree {
  const tree = createTreeWithEmptyWorkspace();
  tree.write('nx.json', JSON.stringify(nxJson, null, 2));
  return tree;
}

async function expectUntouched(tree: WorkspaceTree, run: () => Promise<unknown>, code: string): Promise<void> {
  const before = tree.read('nx.json', 'utf-8');
  await expect(run()).rejects.toMatchObject({ code });
  expect(tree.read('nx.json', 'utf-8')).toBe(before);
}

describe('convert-to-id generator', () => {
  let server: FakeAccessServer;
  beforeAll(async () => {
    server = await startFakeAccessServer({
      [CI_TOKEN]: { kind: 'ci', workspaceId: WORKSPACE_ID },
      [PAT]: { kind: 'personal', user: 'ada' },
    });
  });
  afterAll(() => server.close());

  it('replaces the token in plugin options with the workspace the server names', async () => {
    const tree = treeWith({
      namedInputs: { default: ['{projectRoot}/**/*'] },
      plugins: ['@nx/js', { plugin: 'nx-sealed-cache', options: { url: server.url, token: CI_TOKEN } }],
    });
    const result = await applyConvertToId(tree, {}, deps());
    const nxJson = JSON.parse(tree.read('nx.json', 'utf-8') ?? '');
    expect(result).toMatchObject({ status: 'converted', workspace: { id: WORKSPACE_ID }, tokenKind: 'ci' });
    expect(nxJson.plugins).toEqual([
      '@nx/js',
      { plugin: 'nx-sealed-cache', options: { url: server.url, workspaceId: WORKSPACE_ID } },
    ]);
    expect(nxJson.namedInputs).toEqual({ default: ['{projectRoot}/**/*'] });
    expect(tree.read('nx.json', 'utf-8')).not.toContain(CI_TOKEN);
    expect(server.requests.at(-1)).toEqual({ path: '/v1/access', authorization: `Bearer ${CI_TOKEN}` });
  });

  it('converts runner options, taking the URL from NX_SEALED_CACHE_URL, and keeps Nx runner options', async () => {
    const tree = treeWith({
      useLegacyCache: true,
      tasksRunnerOptions: { default: { runner: 'nx-sealed-cache', options: { token: CI_TOKEN, parallel: 2 } } },
    });
    await applyConvertToId(tree, {}, deps({ NX_SEALED_CACHE_URL: server.url }));
    const nxJson = JSON.parse(tree.read('nx.json', 'utf-8') ?? '');
    expect(nxJson.tasksRunnerOptions.default).toEqual({
      runner: 'nx-sealed-cache',
      options: { parallel: 2, workspaceId: WORKSPACE_ID },
    });
    expect(nxJson.useLegacyCache).toBe(true);
  });

  it('prints the next steps: login, the CI secret, and lowering anonymous access', async () => {
    const tree = treeWith({ plugins: [{ plugin: 'nx-sealed-cache', options: { url: server.url, token: CI_TOKEN } }] });
    const lines: string[] = [];
    printConvertResult(await applyConvertToId(tree, {}, deps()), {
      info: (m) => lines.push(m),
      warn: (m) => lines.push(m),
    });
    const text = lines.join('\n');
    expect(text).toMatch(/nx-sealed-cache login/);
    expect(text).toMatch(/NX_SEALED_CACHE_ACCESS_TOKEN/);
    expect(text).toContain(`workspace set ${WORKSPACE_ID} --anonymous none`);
    expect(text).not.toContain(CI_TOKEN);
  });

  it('with no token in nx.json says so and changes nothing', async () => {
    const tree = treeWith({
      plugins: [{ plugin: 'nx-sealed-cache', options: { url: server.url, workspaceId: WORKSPACE_ID } }],
    });
    const d = deps();
    const result = await applyConvertToId(tree, {}, d);
    expect(result).toEqual({ status: 'no-token' });
    expect(d.writes).toBe(0);
    const lines: string[] = [];
    printConvertResult(result, { info: (m) => lines.push(m), warn: (m) => lines.push(m) });
    expect(lines.join('\n')).toMatch(/no token is committed/);
  });

  it('leaves nx.json alone when the server is down', async () => {
    const url = await unusedUrl();
    const tree = treeWith({ plugins: [{ plugin: 'nx-sealed-cache', options: { url, token: CI_TOKEN } }] });
    await expectUntouched(tree, () => applyConvertToId(tree, {}, deps()), 'ERR_CLIENT_UNREACHABLE');
  });

  it('leaves nx.json alone when the server rejects the token (401)', async () => {
    const tree = treeWith({
      plugins: [{ plugin: 'nx-sealed-cache', options: { url: server.url, token: 'nxsc_ci_revokedOrUnknown' } }],
    });
    await expectUntouched(tree, () => applyConvertToId(tree, {}, deps()), 'ERR_AUTH_TOKEN_INVALID');
  });

  it('leaves nx.json alone when the token belongs to no workspace', async () => {
    const tree = treeWith({ plugins: [{ plugin: 'nx-sealed-cache', options: { url: server.url, token: PAT } }] });
    await expectUntouched(tree, () => applyConvertToId(tree, {}, deps()), 'ERR_AUTH_WORKSPACE_REQUIRED');
  });

  it('leaves nx.json alone when the token belongs to another workspace than nx.json names', async () => {
    const tree = treeWith({
      plugins: [
        { plugin: 'nx-sealed-cache', options: { url: server.url, token: CI_TOKEN, workspaceId: OTHER_WORKSPACE_ID } },
      ],
    });
    await expectUntouched(tree, () => applyConvertToId(tree, {}, deps()), 'ERR_AUTH_WORKSPACE_MISMATCH');
  });

  it('leaves nx.json alone when no URL is known', async () => {
    const tree = treeWith({ plugins: [{ plugin: 'nx-sealed-cache', options: { token: CI_TOKEN } }] });
    await expectUntouched(tree, () => applyConvertToId(tree, {}, deps()), 'ERR_CONFIG_INVALID');
  });

  it('leaves nx.json alone when the server hangs past the timeout', async () => {
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
      const tree = treeWith({ plugins: [{ plugin: 'nx-sealed-cache', options: { url, token: CI_TOKEN } }] });
      await expectUntouched(tree, () => applyConvertToId(tree, { timeoutMs: 300 }, deps()), 'ERR_CLIENT_TIMEOUT');
    } finally {
      silent.closeAllConnections();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('leaves nx.json alone when something that is not our server answers', async () => {
    const other = createServer((_req, res) =>
      res.writeHead(200, { 'content-type': 'text/html' }).end('<html>hello</html>'),
    );
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
      const tree = treeWith({ plugins: [{ plugin: 'nx-sealed-cache', options: { url, token: CI_TOKEN } }] });
      await expectUntouched(tree, () => applyConvertToId(tree, {}, deps()), 'ERR_CLIENT_BAD_RESPONSE');
    } finally {
      await new Promise<void>((resolve) => other.close(() => resolve()));
    }
  });
});
