import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { FsTree } from 'nx/src/generators/tree';
import { logger, readNxJson, updateNxJson } from 'nx/src/devkit-exports';
import { generateSigningKey } from '../../src/crypto/signing-keys';
import { isSealedCacheError } from '../../src/errors';
import { addGitignoreEntries } from '../shared/gitignore';
import type { NxJson, NxJsonAccess, WorkspaceTree } from '../../src/nx-config/nx-devkit';
import { applyInit, initGenerator, printInitResult } from './generator';

const WS_ID = 'ws_AbCdEfGhIjKlMnOpQrSt';
const URL = 'https://cache.example.com';

function countingAccess(): NxJsonAccess & { writes: number } {
  const access = {
    writes: 0,
    readNxJson: (tree: WorkspaceTree) => readNxJson(tree as never) as unknown as NxJson | null,
    updateNxJson: (tree: WorkspaceTree, json: NxJson) => {
      access.writes += 1;
      updateNxJson(tree as never, json as never);
    },
  };
  return access;
}

// The tests read nested nx.json paths of every shape; typing each one would say less than the assertions.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function nxJsonOf(tree: WorkspaceTree): Record<string, any> {
  return JSON.parse(tree.read('nx.json', 'utf-8') ?? '{}');
}

function setNxJson(tree: WorkspaceTree, json: Record<string, unknown>): void {
  tree.write('nx.json', JSON.stringify(json, null, 2));
}

describe('init generator: one path per Nx version', () => {
  it.each(['17.3.0', '19.8.4'])('Nx %s gets the tasks runner without useLegacyCache', (nxVersion) => {
    const tree = createTreeWithEmptyWorkspace();
    const result = applyInit(tree, { url: URL, workspaceId: WS_ID, nxVersion }, countingAccess());
    const nxJson = nxJsonOf(tree);
    expect(result.path).toBe('runner');
    expect(nxJson.tasksRunnerOptions.default).toEqual({
      runner: 'nx-sealed-cache',
      options: { url: URL, workspaceId: WS_ID },
    });
    expect(nxJson.useLegacyCache).toBeUndefined();
    expect(nxJson.plugins ?? []).not.toContainEqual(expect.objectContaining({ plugin: 'nx-sealed-cache' }));
  });

  it.each(['20.0.0', '20.7.1'])('Nx %s gets the tasks runner and useLegacyCache: true', (nxVersion) => {
    const tree = createTreeWithEmptyWorkspace();
    const result = applyInit(tree, { url: URL, nxVersion }, countingAccess());
    const nxJson = nxJsonOf(tree);
    expect(result.path).toBe('runner');
    expect(nxJson.tasksRunnerOptions.default.runner).toBe('nx-sealed-cache');
    expect(nxJson.useLegacyCache).toBe(true);
    expect(result.changes.join('\n')).toMatch(/useLegacyCache/);
  });

  it.each(['20.8.0', '24.0.6'])('Nx %s gets the plugin and no runner', (nxVersion) => {
    const tree = createTreeWithEmptyWorkspace();
    const result = applyInit(tree, { url: URL, workspaceId: WS_ID, nxVersion }, countingAccess());
    const nxJson = nxJsonOf(tree);
    expect(result.path).toBe('plugin');
    expect(nxJson.plugins).toContainEqual({ plugin: 'nx-sealed-cache', options: { url: URL, workspaceId: WS_ID } });
    expect(nxJson.tasksRunnerOptions).toBeUndefined();
    expect(nxJson.useLegacyCache).toBeUndefined();
  });

  it('reads the installed version from node_modules/nx before the declared range', () => {
    const tree = createTreeWithEmptyWorkspace();
    tree.write('node_modules/nx/package.json', JSON.stringify({ name: 'nx', version: '20.7.0' }));
    tree.write('package.json', JSON.stringify({ devDependencies: { nx: '^24.0.0' } }));
    expect(applyInit(tree, { url: URL }, countingAccess())).toMatchObject({
      path: 'runner',
      nxVersion: { major: 20, minor: 7, source: 'node_modules' },
    });
  });

  it('falls back to the range declared in package.json', () => {
    const tree = createTreeWithEmptyWorkspace();
    tree.write('package.json', JSON.stringify({ dependencies: { nx: '~20.8.2' } }));
    expect(applyInit(tree, { url: URL }, countingAccess())).toMatchObject({
      path: 'plugin',
      nxVersion: { major: 20, minor: 8, source: 'package.json' },
    });
  });

  it('refuses when no Nx version can be found, and for Nx 16', () => {
    const tree = createTreeWithEmptyWorkspace();
    tree.write('package.json', JSON.stringify({ name: 'x' }));
    expect(() => applyInit(tree, { url: URL }, countingAccess())).toThrow(
      expect.objectContaining({ code: 'ERR_NX_VERSION_UNKNOWN' }),
    );
    expect(() => applyInit(tree, { url: URL, nxVersion: '16.10.0' }, countingAccess())).toThrow(
      expect.objectContaining({ code: 'ERR_NX_VERSION_UNSUPPORTED' }),
    );
  });

  it('rejects a malformed workspace id or url before touching nx.json', () => {
    const tree = createTreeWithEmptyWorkspace();
    const before = tree.read('nx.json', 'utf-8');
    for (const bad of [{ workspaceId: 'ws_short' }, { url: 'ftp://cache' }]) {
      try {
        applyInit(tree, { ...bad, nxVersion: '24.0.0' }, countingAccess());
        throw new Error('expected a failure');
      } catch (err) {
        expect(isSealedCacheError(err)).toBe(true);
      }
    }
    expect(tree.read('nx.json', 'utf-8')).toBe(before);
  });
});

describe('init generator: safe to rerun and to run on real configs', () => {
  it.each(['19.0.0', '20.3.0', '24.0.6'])('running twice changes nothing (Nx %s)', (nxVersion) => {
    const tree = createTreeWithEmptyWorkspace();
    applyInit(tree, { url: URL, workspaceId: WS_ID, nxVersion }, countingAccess());
    const afterFirst = tree.read('nx.json', 'utf-8');
    const second = countingAccess();
    const result = applyInit(tree, { url: URL, workspaceId: WS_ID, nxVersion }, second);
    expect(second.writes).toBe(0);
    expect(result.changes).toEqual([]);
    expect(tree.read('nx.json', 'utf-8')).toBe(afterFirst);
  });

  it('leaves unrelated nx.json settings alone', () => {
    const tree = createTreeWithEmptyWorkspace();
    const unrelated = {
      namedInputs: { default: ['{projectRoot}/**/*'] },
      targetDefaults: { build: { cache: true, dependsOn: ['^build'] } },
      plugins: ['@nx/js', { plugin: '@nx/jest/plugin', options: { targetName: 'test' } }],
      defaultBase: 'main',
    };
    setNxJson(tree, { ...unrelated, tasksRunnerOptions: { other: { runner: 'some-runner', options: { x: 1 } } } });
    applyInit(tree, { url: URL, nxVersion: '24.0.6' }, countingAccess());
    const nxJson = nxJsonOf(tree);
    expect(nxJson.namedInputs).toEqual(unrelated.namedInputs);
    expect(nxJson.targetDefaults).toEqual(unrelated.targetDefaults);
    expect(nxJson.defaultBase).toBe('main');
    expect(nxJson.tasksRunnerOptions).toEqual({ other: { runner: 'some-runner', options: { x: 1 } } });
    expect(nxJson.plugins).toEqual([...unrelated.plugins, { plugin: 'nx-sealed-cache', options: { url: URL } }]);
  });

  it('keeps Nx runner options such as parallel next to ours on the runner path', () => {
    const tree = createTreeWithEmptyWorkspace();
    setNxJson(tree, {
      tasksRunnerOptions: { default: { runner: 'nx/tasks-runners/default', options: { parallel: 5 } } },
    });
    const result = applyInit(tree, { url: URL, nxVersion: '18.0.0' }, countingAccess());
    expect(nxJsonOf(tree).tasksRunnerOptions.default).toEqual({
      runner: 'nx-sealed-cache',
      options: { parallel: 5, url: URL },
    });
    expect(result.changes.join('\n')).toMatch(/tasks runner/);
  });

  it('merges duplicate plugin entries into one', () => {
    const tree = createTreeWithEmptyWorkspace();
    setNxJson(tree, {
      plugins: ['nx-sealed-cache', '@nx/js', { plugin: 'nx-sealed-cache', options: { workspaceId: WS_ID } }],
    });
    applyInit(tree, { url: URL, nxVersion: '21.0.0' }, countingAccess());
    expect(nxJsonOf(tree).plugins).toEqual([
      { plugin: 'nx-sealed-cache', options: { workspaceId: WS_ID, url: URL } },
      '@nx/js',
    ]);
  });

  it('writes only through the tree, so --dry-run leaves the disk alone', async () => {
    const root = mkdtempSync(join(tmpdir(), 'nsc-init-'));
    try {
      const original = JSON.stringify({ namedInputs: { default: ['{projectRoot}/**/*'] } }, null, 2);
      writeFileSync(join(root, 'nx.json'), original);
      const tree = new FsTree(root, false);
      const info = jest.spyOn(logger, 'info').mockImplementation(() => undefined);
      await initGenerator(tree, { url: URL, nxVersion: '24.0.6' });
      expect(tree.listChanges().map((change) => change.path)).toEqual(['nx.json']);
      expect(readFileSync(join(root, 'nx.json'), 'utf8')).toBe(original);
      expect(info.mock.calls.flat().join('\n')).toMatch(/plugin with the sealing proxy/);
    } finally {
      jest.restoreAllMocks();
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('init generator: the server URL', () => {
  const noEnv = {};
  const run = (tree: WorkspaceTree, schema: Parameters<typeof applyInit>[1], env: Record<string, string> = noEnv) =>
    applyInit(tree, schema, countingAccess(), undefined, undefined, env);

  it.each([
    ['left out', {}],
    ['an empty prompt answer', { url: '' }],
    ['a blank prompt answer', { url: '   ' }],
  ])('%s: refuses naming --url and leaves nx.json alone', (_label, given) => {
    const tree = createTreeWithEmptyWorkspace();
    const before = tree.read('nx.json', 'utf-8');
    let failure: unknown;
    try {
      run(tree, { ...given, workspaceId: WS_ID, nxVersion: '24.0.6' });
    } catch (err) {
      failure = err;
    }
    expect(isSealedCacheError(failure, 'ERR_INPUT_INVALID')).toBe(true);
    expect((failure as Error).message).toMatch(
      /^--url is required: .*--url=https:\/\/cache\.example\.com.*NX_SEALED_CACHE_URL/,
    );
    expect(tree.read('nx.json', 'utf-8')).toBe(before);
  });

  it('is not asked again when nx.json already has one (a rerun after an Nx upgrade)', () => {
    const tree = createTreeWithEmptyWorkspace();
    run(tree, { url: URL, nxVersion: '20.7.0' });
    run(tree, { nxVersion: '24.0.6' });
    expect(nxJsonOf(tree).plugins).toEqual([{ plugin: 'nx-sealed-cache', options: { url: URL } }]);
  });

  it('may come from NX_SEALED_CACHE_URL: then nothing is written and the next steps say to set it everywhere', () => {
    const tree = createTreeWithEmptyWorkspace();
    const result = run(tree, { nxVersion: '24.0.6' }, { NX_SEALED_CACHE_URL: URL });
    expect(nxJsonOf(tree).plugins).toEqual(['nx-sealed-cache']);
    expect(result.nextSteps[0]).toMatch(/No "url" in nx.json: set NX_SEALED_CACHE_URL on every machine/);
  });

  it('without a workspaceId, the next steps give developers a login that works (it needs the workspace)', () => {
    const tree = createTreeWithEmptyWorkspace();
    const without = run(tree, { url: URL, nxVersion: '24.0.6' }).nextSteps.join('\n');
    expect(without).toContain('Developers: run `npx nx-sealed-cache login --workspace ws_…` once per machine');
    expect(without).toMatch(/No "workspaceId": `login` then needs --workspace, and machines with no token/);
    const withId = run(createTreeWithEmptyWorkspace(), { url: URL, workspaceId: WS_ID, nxVersion: '24.0.6' });
    expect(withId.nextSteps.join('\n')).toContain('Developers: run `npx nx-sealed-cache login` once per machine');
    expect(withId.nextSteps.join('\n')).not.toContain('No "workspaceId"');
  });

  it('is asked for by Nx in a terminal (x-prompt), the only option without a default that init needs', () => {
    const schema = JSON.parse(readFileSync(join(__dirname, 'schema.json'), 'utf8')) as {
      properties: Record<string, { 'x-prompt'?: string }>;
    };
    const prompted = Object.entries(schema.properties).filter(([, property]) => property['x-prompt']);
    expect(prompted.map(([name]) => name)).toEqual(['url']);
    expect(prompted[0]?.[1]['x-prompt']).toMatch(/URL of your nx-sealed-cache server/);
  });
});

describe('init generator: switching paths when Nx changes', () => {
  it('moves from the runner (Nx 20.7) to the plugin (Nx 20.8), carrying options and dropping useLegacyCache', () => {
    const tree = createTreeWithEmptyWorkspace();
    setNxJson(tree, {
      useLegacyCache: true,
      tasksRunnerOptions: {
        default: { runner: 'nx-sealed-cache', options: { url: URL, workspaceId: WS_ID, parallel: 3 } },
      },
    });
    const result = applyInit(tree, { nxVersion: '20.8.2' }, countingAccess());
    const nxJson = nxJsonOf(tree);
    expect(nxJson.plugins).toEqual([{ plugin: 'nx-sealed-cache', options: { url: URL, workspaceId: WS_ID } }]);
    expect(nxJson.tasksRunnerOptions).toEqual({ default: { options: { parallel: 3 } } });
    expect(nxJson.useLegacyCache).toBeUndefined();
    expect(result.changes.join('\n')).toMatch(/Removed the "nx-sealed-cache" tasks runner/);
  });

  it('removes the runner entirely when nothing of Nx is left under it', () => {
    const tree = createTreeWithEmptyWorkspace();
    setNxJson(tree, { tasksRunnerOptions: { default: { runner: 'nx-sealed-cache', options: { url: URL } } } });
    applyInit(tree, { nxVersion: '24.0.0' }, countingAccess());
    expect(nxJsonOf(tree).tasksRunnerOptions).toBeUndefined();
  });

  it('moves from the plugin back to the runner on Nx 19', () => {
    const tree = createTreeWithEmptyWorkspace();
    setNxJson(tree, { plugins: ['@nx/js', { plugin: 'nx-sealed-cache', options: { url: URL, token: 'nxsc_ci_x' } }] });
    applyInit(tree, { nxVersion: '19.8.0' }, countingAccess());
    const nxJson = nxJsonOf(tree);
    expect(nxJson.plugins).toEqual(['@nx/js']);
    expect(nxJson.tasksRunnerOptions.default).toEqual({
      runner: 'nx-sealed-cache',
      options: { url: URL, token: 'nxsc_ci_x' },
    });
  });
});

describe('init generator: encryption', () => {
  const fixedKey = `nxsk1_${'A'.repeat(43)}`;

  it('generates a key, keeps it out of nx.json, and prints it once with where to store it', () => {
    const tree = createTreeWithEmptyWorkspace();
    const result = applyInit(
      tree,
      { url: URL, encryption: 'generate', nxVersion: '24.0.6' },
      countingAccess(),
      () => fixedKey,
    );
    expect(result.generatedKey).toBe(fixedKey);
    expect(tree.read('nx.json', 'utf-8')).not.toContain(fixedKey);
    const lines: string[] = [];
    printInitResult(result, { info: (m) => lines.push(m), warn: (m) => lines.push(m) });
    expect(lines.filter((line) => line.includes(fixedKey))).toHaveLength(1);
    expect(lines.join('\n')).toMatch(/NX_SEALED_CACHE_ENCRYPTION_KEY/);
  });

  it('really generates a fresh nxsk1_ key by default', () => {
    const tree = createTreeWithEmptyWorkspace();
    const first = applyInit(tree, { url: URL, encryption: 'generate', nxVersion: '24.0.6' }, countingAccess());
    const second = applyInit(tree, { url: URL, encryption: 'generate', nxVersion: '24.0.6' }, countingAccess());
    expect(first.generatedKey).toMatch(/^nxsk1_[A-Za-z0-9_-]{43}$/);
    expect(second.generatedKey).not.toBe(first.generatedKey);
  });

  it('writes the key into nx.json only with --storeKeyInNxJson, warns loudly, and reuses it on rerun', () => {
    const tree = createTreeWithEmptyWorkspace();
    const result = applyInit(
      tree,
      { url: URL, encryption: 'generate', storeKeyInNxJson: true, nxVersion: '20.2.0' },
      countingAccess(),
      () => fixedKey,
    );
    expect(nxJsonOf(tree).tasksRunnerOptions.default.options.encryptionKey).toBe(fixedKey);
    const lines: string[] = [];
    printInitResult(result, { info: (m) => lines.push(`info ${m}`), warn: (m) => lines.push(`warn ${m}`) });
    expect(lines.join('\n')).toMatch(/warn WARNING: .*Anyone who can read this repository/);
    expect(lines.join('\n')).not.toContain(fixedKey);

    const again = countingAccess();
    applyInit(
      tree,
      { url: URL, encryption: 'generate', storeKeyInNxJson: true, nxVersion: '20.2.0' },
      again,
      () => `nxsk1_${'B'.repeat(43)}`,
    );
    expect(again.writes).toBe(0);
  });

  it('refuses --storeKeyInNxJson without --encryption generate', () => {
    const tree = createTreeWithEmptyWorkspace();
    expect(() => applyInit(tree, { storeKeyInNxJson: true, nxVersion: '24.0.0' }, countingAccess())).toThrow(
      expect.objectContaining({ code: 'ERR_INPUT_INVALID' }),
    );
  });
});

describe('init generator: .gitignore', () => {
  it('adds nothing, because no nx-sealed-cache state lives inside the workspace', () => {
    const tree = createTreeWithEmptyWorkspace();
    tree.write('.gitignore', 'node_modules\n');
    applyInit(tree, { url: URL, nxVersion: '24.0.6' }, countingAccess());
    expect(tree.read('.gitignore', 'utf-8')).toBe('node_modules\n');
  });

  it('the helper adds missing entries once', () => {
    const tree = createTreeWithEmptyWorkspace();
    tree.write('.gitignore', 'node_modules');
    expect(addGitignoreEntries(tree, ['.sealed-state', 'node_modules'])).toEqual(['.sealed-state']);
    expect(addGitignoreEntries(tree, ['.sealed-state'])).toEqual([]);
    expect(tree.read('.gitignore', 'utf-8')).toBe('node_modules\n\n# nx-sealed-cache local state\n.sealed-state\n');
  });
});

describe('init generator: trusted signers', () => {
  const main = generateSigningKey();
  const next = generateSigningKey();

  it('adds the public keys given to trustedSigners on either path, and running twice changes nothing', () => {
    for (const [nxVersion, optionsOf] of [
      ['24.0.6', (json: ReturnType<typeof nxJsonOf>) => json.plugins[0].options],
      ['19.8.0', (json: ReturnType<typeof nxJsonOf>) => json.tasksRunnerOptions.default.options],
    ] as const) {
      const tree = createTreeWithEmptyWorkspace();
      applyInit(tree, { url: URL, trustedSigners: main.publicKeyText, nxVersion }, countingAccess());
      expect(optionsOf(nxJsonOf(tree)).trustedSigners).toEqual([{ keyId: main.keyId, publicKey: main.publicKeyText }]);
      const again = countingAccess();
      applyInit(tree, { url: URL, trustedSigners: main.publicKeyText, nxVersion }, again);
      expect(again.writes).toBe(0);
    }
  });

  it('appends a rotation key after the listed one and leaves other options alone', () => {
    const tree = createTreeWithEmptyWorkspace();
    applyInit(
      tree,
      { url: URL, workspaceId: WS_ID, trustedSigners: main.publicKeyText, nxVersion: '24.0.6' },
      countingAccess(),
    );
    applyInit(
      tree,
      { trustedSigners: `${next.publicKeyText}, ${main.publicKeyText}`, nxVersion: '24.0.6' },
      countingAccess(),
    );
    const options = nxJsonOf(tree).plugins[0].options;
    expect(options.trustedSigners.map((s: { keyId: string }) => s.keyId)).toEqual([main.keyId, next.keyId]);
    expect(options).toMatchObject({ url: URL, workspaceId: WS_ID });
  });

  it('refuses a private key or garbage given as a public key, naming its position and writing nothing', () => {
    const tree = createTreeWithEmptyWorkspace();
    const before = tree.read('nx.json', 'utf-8');
    let failure: unknown;
    try {
      applyInit(
        tree,
        { trustedSigners: `${main.publicKeyText},${main.privateKeyText}`, nxVersion: '24.0.6' },
        countingAccess(),
      );
    } catch (err) {
      failure = err;
    }
    expect(isSealedCacheError(failure, 'ERR_INPUT_INVALID')).toBe(true);
    expect((failure as Error).message).toMatch(/--trustedSigners key 2/);
    expect((failure as Error).message).not.toContain(main.privateKeyText);
    expect(tree.read('nx.json', 'utf-8')).toBe(before);
  });

  it('--signing generate lists the new public key and prints the private key once, never into nx.json', () => {
    const tree = createTreeWithEmptyWorkspace();
    const result = applyInit(
      tree,
      { url: URL, signing: 'generate', nxVersion: '24.0.6' },
      countingAccess(),
      undefined,
      () => main,
    );
    expect(nxJsonOf(tree).plugins[0].options.trustedSigners).toEqual([
      { keyId: main.keyId, publicKey: main.publicKeyText },
    ]);
    expect(tree.read('nx.json', 'utf-8')).not.toContain(main.privateKeyText.slice(7));
    const lines: string[] = [];
    printInitResult(result, { info: (m) => lines.push(m), warn: (m) => lines.push(m) });
    expect(lines.filter((line) => line.includes(main.privateKeyText))).toHaveLength(1);
    expect(lines.join('\n')).toMatch(/NX_SEALED_CACHE_SIGNING_KEY/);
  });
});
