import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { FsTree } from 'nx/src/generators/tree';
import { logger } from 'nx/src/devkit-exports';
import { textNxJsonAccess } from '../../src/nx-config/json-text';
import type { NxJsonAccess, WorkspaceTree } from '../../src/nx-config/nx-devkit';
import { applyInit, initGenerator, printInitResult } from './generator';

const WS_ID = 'ws_AbCdEfGhIjKlMnOpQrSt';
const URL = 'https://cache.example.com';
const CLOUD_TOKEN = 'NzQ0ZjYyMjQtYjFkYS00ODc4LTk0ZjYtNTVhM2ExZDQ2YzZifHJlYWQ=';
const SECRET = 'minio-secret-value-123';

function counting(): NxJsonAccess & { writes: number } {
  const access = {
    writes: 0,
    readNxJson: textNxJsonAccess.readNxJson,
    updateNxJson: (tree: WorkspaceTree, json: Record<string, unknown>) => {
      access.writes += 1;
      textNxJsonAccess.updateNxJson(tree, json);
    },
  };
  return access;
}

/** Unrelated settings written in a style updateNxJson would not produce (4 spaces, inline arrays, a comment). */
const UNRELATED =
  '    // keep me\n    "namedInputs": { "default": ["{projectRoot}/**/*"] },\n    "targetDefaults": { "build": { "cache": true, "outputs": ["{projectRoot}/dist"] } },\n    "defaultBase": "main"';

interface Shape {
  name: string;
  nxVersion: string;
  extra: string;
  devDependencies: Record<string, string>;
  leftInRunner?: unknown;
}

const SHAPES: Shape[] = [
  {
    name: 'Nx Cloud (nxCloudId + nxCloudAccessToken)',
    nxVersion: '24.0.6',
    extra: `"nxCloudId": "65f0c0ffee",\n    "nxCloudAccessToken": "${CLOUD_TOKEN}"`,
    devDependencies: {},
  },
  {
    name: 'Nx Cloud (nxCloudAccessToken)',
    nxVersion: '21.6.11',
    extra: `"nxCloudAccessToken": "${CLOUD_TOKEN}"`,
    devDependencies: { 'nx-cloud': '^19.1.0' },
  },
  {
    name: 'the nx-cloud runner',
    nxVersion: '17.3.2',
    extra: `"tasksRunnerOptions": { "default": { "runner": "nx-cloud", "options": { "accessToken": "${CLOUD_TOKEN}", "cacheableOperations": ["build"] } } }`,
    devDependencies: { 'nx-cloud': '^16.5.0' },
    leftInRunner: { cacheableOperations: ['build'] },
  },
  {
    name: 'the @nrwl/nx-cloud runner',
    nxVersion: '19.8.14',
    extra: `"tasksRunnerOptions": { "default": { "runner": "@nrwl/nx-cloud", "options": { "accessToken": "${CLOUD_TOKEN}" } } }`,
    devDependencies: { '@nrwl/nx-cloud': '^19.0.0' },
  },
  {
    name: '@nx/s3-cache',
    nxVersion: '22.7.12',
    extra: `"s3": { "bucket": "cache", "region": "eu-west-1", "secretAccessKey": "${SECRET}" }`,
    devDependencies: { '@nx/s3-cache': '^4.0.0' },
  },
  {
    name: '@nx/powerpack-s3-cache on Nx 20.8',
    nxVersion: '20.8.4',
    extra: '"s3": { "bucket": "cache", "region": "eu-west-1" }',
    devDependencies: { '@nx/powerpack-s3-cache': '^1.0.0' },
  },
  {
    name: '@nx/gcs-cache',
    nxVersion: '23.3.2',
    extra: '"gcs": { "bucket": "cache" }',
    devDependencies: { '@nx/gcs-cache': '^4.0.0' },
  },
  {
    name: '@nx/azure-cache',
    nxVersion: '24.0.6',
    extra: '"azure": { "container": "c", "accountName": "a", "localMode": "read" }',
    devDependencies: { '@nx/azure-cache': '^4.0.0' },
  },
  {
    name: '@nx/shared-fs-cache',
    nxVersion: '21.0.0',
    extra: '"cacheDirectory": "/mnt/shared/nx"',
    devDependencies: { '@nx/shared-fs-cache': '^4.0.0' },
  },
  ...[
    'nx-remotecache-custom',
    'nx-remotecache-s3',
    'nx-remotecache-azure',
    'nx-remotecache-minio',
    '@pellegrims/nx-remotecache-s3',
  ].map((runner, index) => ({
    name: `the ${runner} runner`,
    nxVersion: ['18.3.5', '19.8.14', '20.0.13', '20.3.0', '17.3.2'][index] ?? '20.0.13',
    extra: `"tasksRunnerOptions": { "default": { "runner": "${runner}", "options": { "url": "https://minio.example", "secretAccessKey": "${SECRET}", "cacheableOperations": ["build"], "parallel": 3 } } }`,
    devDependencies: { [runner]: '^19.0.0' },
    leftInRunner: { cacheableOperations: ['build'], parallel: 3 },
  })),
];

function workspaceWith(shape: Shape): WorkspaceTree {
  const tree = createTreeWithEmptyWorkspace();
  tree.write('nx.json', `{\n${UNRELATED},\n    ${shape.extra}\n}\n`);
  tree.write(
    'package.json',
    `{\n  "name": "ws",\n  "devDependencies": ${JSON.stringify({ nx: shape.nxVersion, ...shape.devDependencies })},\n  "scripts": { "build": "nx run-many -t build" }\n}\n`,
  );
  return tree;
}

describe.each(SHAPES)('init over $name (Nx $nxVersion)', (shape) => {
  it('refuses without consent, names what it found and the flag, and changes nothing', () => {
    const tree = workspaceWith(shape);
    const before = [tree.read('nx.json', 'utf-8'), tree.read('package.json', 'utf-8')];
    expect(() => applyInit(tree, { url: URL, nxVersion: shape.nxVersion }, counting())).toThrow(
      expect.objectContaining({ code: 'ERR_INIT_OTHER_CACHE', message: expect.stringMatching(/--replace-existing/) }),
    );
    try {
      applyInit(tree, { url: URL, nxVersion: shape.nxVersion }, counting());
    } catch (err) {
      expect(String(err)).not.toContain(CLOUD_TOKEN);
      expect(String(err)).not.toContain(SECRET);
    }
    expect([tree.read('nx.json', 'utf-8'), tree.read('package.json', 'utf-8')]).toEqual(before);
  });

  it('with --replace-existing removes it, wires ours, keeps unrelated settings byte for byte, and a rerun changes nothing', () => {
    const tree = workspaceWith(shape);
    const result = applyInit(
      tree,
      { url: URL, workspaceId: WS_ID, nxVersion: shape.nxVersion, replaceExisting: true },
      counting(),
    );
    const text = tree.read('nx.json', 'utf-8') ?? '';
    expect(text.startsWith(`{\n${UNRELATED},\n`)).toBe(true);
    expect(text).not.toMatch(/nxCloud|"s3"|"gcs"|"azure"|remotecache|nx-cloud|secretAccessKey/);
    const nxJson = textNxJsonAccess.readNxJson(tree) ?? {};
    const runner = (
      nxJson.tasksRunnerOptions as Record<string, { runner?: string; options?: Record<string, unknown> }> | undefined
    )?.default;
    if (result.path === 'runner') {
      expect(runner).toEqual({
        runner: 'nx-sealed-cache',
        options: { ...(shape.leftInRunner as object), url: URL, workspaceId: WS_ID },
      });
    } else {
      expect(nxJson.plugins).toContainEqual({ plugin: 'nx-sealed-cache', options: { url: URL, workspaceId: WS_ID } });
      expect(runner?.runner).toBeUndefined();
      if (shape.leftInRunner) expect(runner?.options).toEqual(shape.leftInRunner);
    }
    const pkg = tree.read('package.json', 'utf-8') ?? '';
    expect(JSON.parse(pkg).devDependencies).toEqual({ nx: shape.nxVersion });
    expect(pkg).toContain('  "scripts": { "build": "nx run-many -t build" }\n');
    expect(result.changes[0]).toMatch(/^Removed /);
    const printed = printed_(result);
    expect(printed).not.toContain(CLOUD_TOKEN);
    expect(printed).not.toContain(SECRET);

    const again = counting();
    const snapshot = [tree.read('nx.json', 'utf-8'), tree.read('package.json', 'utf-8')];
    const second = applyInit(tree, { url: URL, workspaceId: WS_ID, nxVersion: shape.nxVersion }, again);
    expect(again.writes).toBe(0);
    expect(second.replaced).toEqual([]);
    expect([tree.read('nx.json', 'utf-8'), tree.read('package.json', 'utf-8')]).toEqual(snapshot);
  });
});

function printed_(result: ReturnType<typeof applyInit>): string {
  const lines: string[] = [];
  printInitResult(result, { info: (m) => lines.push(m), warn: (m) => lines.push(m) });
  return lines.join('\n');
}

describe('init over another cache: what it tells the user', () => {
  it('Nx Cloud with a committed token: exposed (fingerprint only), CI variables to drop, the revoke step, and the token commands', () => {
    const tree = workspaceWith(SHAPES[0] as Shape);
    const out = printed_(
      applyInit(tree, { url: URL, workspaceId: WS_ID, nxVersion: '24.0.6', replaceExisting: true }, counting()),
    );
    expect(out).toMatch(/found another remote cache, Nx Cloud: nx.json nxCloudAccessToken, nx.json nxCloudId/);
    expect(out).toMatch(/Exposed: nx.json nxCloudAccessToken \(sha256 [0-9a-f]{8}…\)/);
    expect(out).toMatch(/NX_CLOUD_ACCESS_TOKEN/);
    expect(out).toMatch(/revoke the workspace's access tokens in Nx Cloud/);
    expect(out).toMatch(/The old token is still in git history/);
    expect(out).toMatch(/Nx Cloud separated read-only from read-write access/);
    expect(out).toContain(
      `nx-sealed-cache token create --kind ci --workspace ${WS_ID} --access read-write --tier trusted --name main`,
    );
    expect(out).toContain('nx-sealed-cache token mint --scope pr-<number>');
    expect(out).toContain(`nx-sealed-cache token create --kind ci --workspace ${WS_ID} --access read --name read-only`);
  });

  it('names an nx-cloud.env file to delete by hand (a generator cannot delete it), and still changes nothing on rerun', () => {
    const tree = workspaceWith(SHAPES[0] as Shape);
    tree.write('nx-cloud.env', 'NX_CLOUD_AUTH_TOKEN=secret-in-env-file\n');
    const out = printed_(applyInit(tree, { url: URL, nxVersion: '24.0.6', replaceExisting: true }, counting()));
    expect(out).toMatch(/Delete nx-cloud.env by hand/);
    expect(out).not.toContain('secret-in-env-file');
    const again = counting();
    applyInit(tree, { url: URL, nxVersion: '24.0.6' }, again);
    expect(again.writes).toBe(0);
  });

  it('an old encryption key is reported as not reused, and S3 variables are listed', () => {
    const tree = createTreeWithEmptyWorkspace();
    tree.write('nx.json', JSON.stringify({ s3: { bucket: 'b', region: 'r', encryptionKey: 'old-key-value' } }));
    const out = printed_(applyInit(tree, { url: URL, nxVersion: '24.0.6', replaceExisting: true }, counting()));
    expect(out).toMatch(/Encryption: nx.json s3.encryptionKey is not reused/);
    expect(out).toMatch(/AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY/);
    expect(out).not.toContain('old-key-value');
  });
});

describe.each(['24.0.6', '19.8.14'])('init over another cache: the real generator on Nx %s', (nxVersion) => {
  let root: string;
  const original = '{\n  "nxCloudId": "65f0c0ffee",\n  "targetDefaults": { "build": { "cache": true } }\n}\n';
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'nsc-init-replace-'));
    writeFileSync(join(root, 'nx.json'), original);
    writeFileSync(
      join(root, 'package.json'),
      JSON.stringify({ devDependencies: { nx: nxVersion, 'nx-cloud': '19.1.0' } }),
    );
  });
  afterEach(() => {
    jest.restoreAllMocks();
    rmSync(root, { recursive: true, force: true });
  });

  it('asks, and a "no" refuses with nothing staged', async () => {
    const tree = new FsTree(root, false);
    const ask = jest.fn(async () => false);
    await expect(initGenerator(tree, { url: URL }, ask)).rejects.toMatchObject({ code: 'ERR_INIT_OTHER_CACHE' });
    expect(ask).toHaveBeenCalledWith(
      expect.stringMatching(/Remove Nx Cloud: nx.json nxCloudId, package.json devDependencies "nx-cloud"/),
    );
    expect(tree.listChanges()).toEqual([]);
  });

  it('a "yes" replaces it; a dry run (tree not flushed) leaves the disk alone', async () => {
    const tree = new FsTree(root, false);
    jest.spyOn(logger, 'info').mockImplementation(() => undefined);
    jest.spyOn(logger, 'warn').mockImplementation(() => undefined);
    await initGenerator(tree, { url: URL }, async () => true);
    expect(
      tree
        .listChanges()
        .map((change) => change.path)
        .sort(),
    ).toEqual(['nx.json', 'package.json']);
    const wired =
      nxVersion === '24.0.6'
        ? `"plugins": [\n    {\n      "plugin": "nx-sealed-cache",\n      "options": {\n        "url": "${URL}"\n      }\n    }\n  ]`
        : `"tasksRunnerOptions": {\n    "default": {\n      "runner": "nx-sealed-cache",\n      "options": {\n        "url": "${URL}"\n      }\n    }\n  }`;
    expect(tree.read('nx.json', 'utf-8')).toBe(
      `{\n  "targetDefaults": { "build": { "cache": true } },\n  ${wired}\n}\n`,
    );
    expect(JSON.parse(tree.read('package.json', 'utf-8') ?? '{}')).toEqual({ devDependencies: { nx: nxVersion } });
    expect(readFileSync(join(root, 'nx.json'), 'utf8')).toBe(original);
    expect(readFileSync(join(root, 'package.json'), 'utf8')).toContain('nx-cloud');
  });

  it('--replace-existing does not ask', async () => {
    const tree = new FsTree(root, false);
    jest.spyOn(logger, 'info').mockImplementation(() => undefined);
    jest.spyOn(logger, 'warn').mockImplementation(() => undefined);
    const ask = jest.fn(async () => false);
    await initGenerator(tree, { url: URL, replaceExisting: true }, ask);
    expect(ask).not.toHaveBeenCalled();
    expect(tree.read('nx.json', 'utf-8')).not.toContain('nxCloudId');
  });
});
