/**
 * Signed trusted entries with the real Nx CLI and server (issue 19): Nx 24 through the plugin and the
 * sealing proxy (sealed), Nx 20 through the tasks runner (not sealed). The trusted job signs; readers
 * list the public keys; whatever a compromised server, a stolen disk or another key offers is a miss.
 * The tests of each path run in order and share one workspace. nx.json never changes after the first run
 * (Nx hashes it), so both keys of the rotation are listed from the start.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateEncryptionKey } from '../../src/crypto/keys';
import { generateSigningKey, type GeneratedSigningKey } from '../../src/crypto/signing-keys';
import { FIXED_HEADER_BYTES } from '../../src/crypto/signed-format';
import {
  cacheEntryStatus,
  type NxJson,
  type NxRunResult,
  type NxWorkspace,
  type RunEnv,
  type RunningServer,
  type TestBed,
  assertSucceeded,
  startTestBed,
} from './harness';
import { openStoredEntry, plantEntry, readStoredBlob, reframe, sealFor, storedBlobPath } from './harness/planted-entry';

interface Setup {
  label: string;
  fixture: 'nx24' | 'nx20';
  /** Sealing on for one path, off for the other: signatures cover the stored bytes either way. */
  encryptionKey?: string;
  /** Where our options live in nx.json on this path. */
  optionsOf(nxJson: NxJson): Record<string, unknown>;
  wire(nxJson: NxJson, url: string, workspaceId: string): void;
}

const SETUPS: Setup[] = [
  {
    label: 'Nx 24, plugin and sealing proxy, sealed',
    fixture: 'nx24',
    encryptionKey: generateEncryptionKey(),
    optionsOf: (nxJson) => (nxJson.plugins![0] as { options: Record<string, unknown> }).options,
    wire: (nxJson, url, workspaceId) => {
      nxJson.plugins = [{ plugin: 'nx-sealed-cache', options: { url, workspaceId, timeoutMs: 5_000 } }];
    },
  },
  {
    label: 'Nx 20, tasks runner, not sealed',
    fixture: 'nx20',
    optionsOf: (nxJson) => (nxJson.tasksRunnerOptions!.default as { options: Record<string, unknown> }).options,
    wire: (nxJson, url) => {
      nxJson.useLegacyCache = true;
      nxJson.tasksRunnerOptions = { default: { runner: 'nx-sealed-cache', options: { url } } };
    },
  },
];

const entryOf = (key: GeneratedSigningKey) => ({ keyId: key.keyId, publicKey: key.publicKeyText });
const SOURCE = (project: string): string => `projects/${project}/src/message.txt`;

describe.each(SETUPS)('signed trusted entries: $label', (setup) => {
  const oldKey = generateSigningKey();
  const newKey = generateSigningKey();
  const rogueKey = generateSigningKey();
  let bed: TestBed | undefined;
  let server: RunningServer;
  let ws: NxWorkspace;
  let workspaceId: string;
  let primedHashes: string[];
  let primedOutputs: Record<string, string>;
  let originalSources: Record<string, string>;
  /** The project whose stored bytes the modification test changed: it stays a miss (write-once). */
  let modifiedProject: string;

  const all = (outcome: string): Record<string, string> => Object.fromEntries(ws.projects.map((p) => [p, outcome]));
  const output = (result: NxRunResult): string => `${result.stdout}\n${result.stderr}`;
  const rejections = (result: NxRunResult): string[] =>
    output(result)
      .split('\n')
      .filter((line) => line.includes('treated as a miss because'));
  const writerEnv = (signingKey: GeneratedSigningKey): RunEnv => ({
    NX_SEALED_CACHE_ACCESS_TOKEN: bed!.writeToken.token,
    NX_SEALED_CACHE_SIGNING_KEY: signingKey.privateKeyText,
  });
  const readerEnv = (): RunEnv => ({ NX_SEALED_CACHE_ACCESS_TOKEN: bed!.readToken.token });
  /** Every run starts from an empty local cache, so every hit is a remote one. */
  const buildFromRemote = async (env: RunEnv): Promise<NxRunResult> => {
    await ws.reset();
    rmSync(join(ws.root, 'dist'), { recursive: true, force: true });
    return assertSucceeded(await ws.build(env));
  };
  const changeSource = (project: string, text: string): void => ws.writeFile(SOURCE(project), `${text}\n`);
  const restoreSource = (project: string): void => ws.writeFile(SOURCE(project), originalSources[project]!);
  /** After a run with one project's source changed: the hash it asked for and the primed hash it used to have. */
  const swappedHashes = (): { fresh: string; old: string } => {
    const now = ws.localCacheHashes();
    const fresh = now.filter((hash) => !primedHashes.includes(hash));
    const old = primedHashes.filter((hash) => !now.includes(hash));
    expect([fresh.length, old.length]).toEqual([1, 1]);
    return { fresh: fresh[0]!, old: old[0]! };
  };

  beforeAll(async () => {
    bed = await startTestBed(setup.fixture, {
      proxyDir: setup.fixture === 'nx24',
      runnerNodePath: setup.fixture === 'nx20',
      workspace: ({ server, boot, proxyDir }) => ({
        patchNxJson: (nxJson) => {
          setup.wire(nxJson, server.url, boot.workspace.id);
          setup.optionsOf(nxJson).trustedSigners = [entryOf(oldKey), entryOf(newKey)];
        },
        env: {
          ...(setup.encryptionKey ? { NX_SEALED_CACHE_ENCRYPTION_KEY: setup.encryptionKey } : {}),
          ...(proxyDir ? { NX_SEALED_CACHE_PROXY_DIR: proxyDir, NX_SEALED_CACHE_PROXY_IDLE_MS: '1500' } : {}),
        },
      }),
    });
    ({ server, ws } = bed);
    workspaceId = bed.boot.workspace.id;
    originalSources = Object.fromEntries(ws.projects.map((p) => [p, readFileSync(join(ws.root, SOURCE(p)), 'utf8')]));
  });
  afterAll(() => bed?.dispose());

  it('the trusted job signs every upload: each blob is a signature frame around the stored bytes', async () => {
    const result = await buildFromRemote(writerEnv(oldKey));
    expect(result.outcomes).toEqual(all('miss'));
    expect(output(result)).toContain(`${ws.projects.length} uploads`);
    primedHashes = ws.localCacheHashes();
    primedOutputs = ws.readOutputs();
    expect(primedHashes).toHaveLength(ws.projects.length);
    for (const hash of primedHashes) {
      const blob = readStoredBlob(server, hash);
      expect(blob.subarray(0, 4).toString('latin1')).toBe('NXSG');
      const identity = 'ci:ci-write';
      expect(blob.subarray(FIXED_HEADER_BYTES, FIXED_HEADER_BYTES + identity.length).toString()).toBe(identity);
      const body = blob.subarray(FIXED_HEADER_BYTES + identity.length, FIXED_HEADER_BYTES + identity.length + 4);
      expect(body.toString('latin1') === 'NXSC').toBe(setup.encryptionKey !== undefined);
    }
  });

  it('a reader requiring signatures restores every entry and says how many verified, by which key', async () => {
    const result = await buildFromRemote(readerEnv());
    expect(result.outcomes).toEqual(all('remote'));
    expect(ws.readOutputs()).toEqual(primedOutputs);
    const n = ws.projects.length;
    expect(output(result)).toContain(`${n} remote hits (${n} verified: ${n} by key ${oldKey.keyId})`);
    expect(rejections(result)).toEqual([]);
  });

  it('an entry planted in the server storage and database is a miss, though the server serves it', async () => {
    changeSource('c', 'Project c changed on a branch.');
    const first = await buildFromRemote(readerEnv());
    expect(first.outcomes).toEqual({ ...all('remote'), c: 'miss' });
    const { fresh, old } = swappedHashes();
    // The attacker holds what every reader holds (the sealing key) and serves c's old output under c's new hash.
    const plain = await openStoredEntry(readStoredBlob(server, old), old, setup.encryptionKey);
    const planted = setup.encryptionKey ? await sealFor(plain, setup.encryptionKey, fresh) : plain;
    await plantEntry(server, workspaceId, fresh, planted);
    expect(await cacheEntryStatus(server.url, fresh, bed!.readToken.token)).toBe(200);

    const refused = await buildFromRemote(readerEnv());
    expect(refused.outcomes).toEqual({ ...all('remote'), c: 'miss' });
    expect(rejections(refused)).toEqual([expect.stringContaining('carries no signature')]);
    expect(output(refused)).toContain('1 refused for their signature (1 unsigned)');
    expect(output(refused)).not.toMatch(/\d+ failures?\b/);
    // c was rebuilt from its new source, not restored from the stale output the plant carried.
    expect(ws.readOutputs()['dist/c/digest.txt']).not.toBe(primedOutputs['dist/c/digest.txt']);
    expect(ws.readOutputs()['dist/a/digest.txt']).toBe(primedOutputs['dist/a/digest.txt']);
  });

  it('a signature moved to another hash is a miss', async () => {
    changeSource('c', 'Project c changed on another branch.');
    try {
      await buildFromRemote(readerEnv());
      const { fresh, old } = swappedHashes();
      // c's genuine signature frame around a body that is valid for the new hash (sealed for it, when sealing is on).
      const genuine = readStoredBlob(server, old);
      const plain = await openStoredEntry(genuine, old, setup.encryptionKey);
      const body = setup.encryptionKey ? await sealFor(plain, setup.encryptionKey, fresh) : plain;
      await plantEntry(server, workspaceId, fresh, reframe(genuine, body));
      const result = await buildFromRemote(readerEnv());
      expect(result.outcomes).toEqual({ ...all('remote'), c: 'miss' });
      expect(rejections(result)).toEqual([expect.stringContaining('signature does not match its hash and bytes')]);
    } finally {
      restoreSource('c');
    }
  });

  it('a modified artifact with its original signature is a miss, and the run passes', async () => {
    const victim = primedHashes[0]!;
    const file = storedBlobPath(server, victim);
    const genuine = readFileSync(file);
    // One byte of the artifact changed (and sealed again, as any key holder can), the original signature kept.
    const plain = await openStoredEntry(genuine, victim, setup.encryptionKey);
    plain[Math.floor(plain.length / 2)]! ^= 0x01;
    const body = setup.encryptionKey ? await sealFor(plain, setup.encryptionKey, victim) : plain;
    const modified = reframe(genuine, body);
    expect(modified.length).toBe(genuine.length);
    writeFileSync(file, modified);
    const result = await buildFromRemote(readerEnv());
    const missed = Object.keys(result.outcomes).filter((p) => result.outcomes[p] === 'miss');
    expect(missed).toHaveLength(1);
    modifiedProject = missed[0]!;
    expect(result.outcomes).toEqual({ ...all('remote'), [modifiedProject]: 'miss' });
    expect(ws.readOutputs()).toEqual(primedOutputs);
    expect(rejections(result)).toEqual([expect.stringContaining('signature does not match its hash and bytes')]);
  });

  it('an entry signed by a key not listed is a miss', async () => {
    const project = ws.projects.find((p) => p !== modifiedProject)!;
    changeSource(project, `Project ${project} built by a job holding another key.`);
    try {
      const writer = await buildFromRemote(writerEnv(rogueKey));
      expect(output(writer)).toContain(`signs with key ${rogueKey.keyId}, which "trustedSigners" does not list`);
      expect(output(writer)).toContain('1 upload');
      const result = await buildFromRemote(readerEnv());
      expect(result.outcomes).toEqual({ ...all('remote'), [modifiedProject]: 'miss', [project]: 'miss' });
      // One warning per run (the modified entry's comes first); the summary counts both, by reason.
      expect(rejections(result)).toHaveLength(1);
      expect(output(result)).toContain('2 refused for their signature (1 unlisted key, 1 bad signature)');
    } finally {
      restoreSource(project);
    }
  });

  it('rotation: with both keys listed, old entries stay readable and new ones verify by the new key', async () => {
    const project = ws.projects.find((p) => p !== modifiedProject)!;
    changeSource(project, `Project ${project} after the key rotation.`);
    const writer = await buildFromRemote(writerEnv(newKey));
    expect(output(writer)).not.toContain('does not list');
    const result = await buildFromRemote(readerEnv());
    expect(result.outcomes).toEqual({ ...all('remote'), [modifiedProject]: 'miss' });
    const hits = ws.projects.length - 1;
    const byKey = [`${hits - 1} by key ${oldKey.keyId}`, `1 by key ${newKey.keyId}`].sort((a, b) =>
      a.slice(a.indexOf('key')).localeCompare(b.slice(b.indexOf('key'))),
    );
    expect(output(result)).toContain(`${hits} remote hits (${hits} verified: ${byKey.join(', ')})`);
    restoreSource(project);
  });
});
