/**
 * Hostile artifacts end to end: the real `nx` 24 CLI through the plugin and sealing proxy, against the real
 * server, with hostile blobs planted under the exact task hashes before any genuine upload (write-once keeps
 * them there). Held per task: it runs normally (a miss, not a remote hit), outputs are the genuine ones, and
 * no file appears at any escape target.
 */
import { existsSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { generateEncryptionKey, parseEncryptionKeys } from '../../src/crypto';
import {
  assertSucceeded,
  bootstrapWorkspace,
  createToken,
  createWorkspace,
  killAllTrackedProcesses,
  processesUnder,
  startServer,
  type NxWorkspace,
  type RunningServer,
} from '../e2e/harness';
import { AreaRecord } from './support/area-record';
import { cachePut } from './support/hardening-server';
import { seal, tarGz, type TarEntry } from './support/hostile-archives';

const record = new AreaRecord('Hostile artifacts', __filename);
const key = generateEncryptionKey();
const [sealingKey] = parseEncryptionKeys(key);

let server: RunningServer;
let ws: NxWorkspace;
let proxyDir: string;

afterAll(async () => {
  try {
    await ws?.dispose();
    await server?.dispose();
  } finally {
    for (const proxy of proxyDir ? processesUnder(proxyDir) : []) process.kill(proxy.pid, 'SIGKILL');
    killAllTrackedProcesses();
    if (proxyDir) rmSync(join(proxyDir, '..'), { recursive: true, force: true });
    record.flush();
  }
});

/** An Nx 24 cache payload (entries relative to the workspace root, terminalOutput, a 4-byte code) plus hostile entries. */
function nxPayload(hostile: TarEntry[]): Promise<Buffer> {
  return tarGz([
    { header: { name: 'terminalOutput', type: 'file', mode: 0o644 }, content: 'poisoned\n' },
    { header: { name: 'code', type: 'file', mode: 0o644 }, content: Buffer.from([0, 0, 0, 0]) },
    ...hostile,
  ]);
}

test('Nx 24 through the proxy: hostile blobs under the real task hashes change nothing and escape nowhere', async () => {
  server = await startServer();
  const boot = await bootstrapWorkspace(server);
  const token = (
    await createToken(boot.target, {
      kind: 'ci',
      workspace: boot.workspace.id,
      access: 'read-write',
      name: 'ci',
      tier: 'trusted',
    })
  ).token;
  proxyDir = join(realpathSync(mkdtempSync(join(tmpdir(), 'nxsc-hardening-proxy-'))), 'state');
  ws = await createWorkspace('nx24', {
    patchNxJson: (json) => {
      json.plugins = [
        { plugin: 'nx-sealed-cache', options: { url: server.url, workspaceId: boot.workspace.id, timeoutMs: 5_000 } },
      ];
    },
    env: {
      NX_SEALED_CACHE_ACCESS_TOKEN: token,
      NX_SEALED_CACHE_ENCRYPTION_KEY: key,
      NX_SEALED_CACHE_PROXY_DIR: proxyDir,
      NX_SEALED_CACHE_PROXY_IDLE_MS: '1500',
    },
  });
  const local = assertSucceeded(await ws.build({ NX_SKIP_REMOTE_CACHE: 'true' }));
  expect(Object.values(local.outcomes).every((o) => o === 'miss')).toBe(true);
  const genuine = ws.readOutputs();
  const hashes = ws.localCacheHashes();
  expect(hashes).toHaveLength(ws.projects.length);

  const marker = `x${process.pid}`;
  const targets = [
    resolve(ws.root, `../escape-${marker}`),
    resolve(ws.root, `../../escape-${marker}`),
    join(ws.tempDir, `abs-${marker}`),
    join(ws.tempDir, `through-${marker}`),
  ];
  const hostile: TarEntry[] = [
    { header: { name: `../escape-${marker}`, type: 'file', mode: 0o644 }, content: 'x' },
    { header: { name: `dist/a/../../../../escape-${marker}`, type: 'file', mode: 0o644 }, content: 'x' },
    { header: { name: join(ws.tempDir, `abs-${marker}`), type: 'file', mode: 0o644 }, content: 'x' },
    { header: { name: 'dist/out', type: 'symlink', linkname: ws.tempDir } },
    { header: { name: `dist/out/through-${marker}`, type: 'file', mode: 0o644 }, content: 'x' },
  ];
  const plain = await nxPayload(hostile);
  const variants = ['sealed with the right key', 'sealed with the right key', 'unsealed', 'sealed, then a bit flipped'];
  for (const [i, hash] of hashes.entries()) {
    const variant = variants[i % variants.length] as string;
    let blob = variant === 'unsealed' ? plain : await seal(plain, sealingKey!, hash);
    if (variant.includes('bit flipped')) (blob = Buffer.from(blob))[blob.length - 20] ^= 0x10;
    // The server inspects unsealed gzip uploads itself: that one never becomes an entry.
    const status = await cachePut(server.url, hash, blob, token);
    if (variant === 'unsealed')
      await record.check('nx 24: the server refuses the unsealed hostile payload', () =>
        status === 403 ? undefined : `answered ${status}`,
      );
    else expect(status).toBe(200);
  }

  await ws.reset();
  rmSync(join(ws.root, 'dist'), { recursive: true, force: true });
  const result = await ws.build();
  await record.check('the run succeeds', () =>
    result.exitCode === 0 ? undefined : `exit ${result.exitCode}: ${result.stderr.slice(-300)}`,
  );
  for (const [project, outcome] of Object.entries(result.outcomes)) {
    await record.check(`nx 24, project ${project}: the task ran instead of restoring a hostile blob`, () =>
      outcome === 'miss' ? undefined : `outcome ${outcome}`,
    );
  }
  await record.check('nx 24: outputs are the genuine ones', () =>
    JSON.stringify(ws.readOutputs()) === JSON.stringify(genuine) ? undefined : 'outputs differ',
  );
  for (const target of targets)
    await record.check(`nx 24: nothing at ${target.slice(ws.tempDir.length - 20)}`, () =>
      existsSync(target) ? 'file escaped' : undefined,
    );
  expect(record.describeFailures()).toEqual([]);
});
