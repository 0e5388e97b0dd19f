/**
 * Hostile artifacts planted on the real server (by a write-token holder without the key, or, for tar-level
 * attacks, one with it), restored through the Nx 17–20 runner's remoteCache and fetched through the sealing
 * proxy. Held: the restore reports a miss, nothing is written outside the cache folder, and the proxy answers
 * Nx 404. Caps (decompression bomb, entry count) are checked at the archive layer with small limits.
 */
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { extractArchive, restoreLegacyCacheEntry } from '../../src/archive';
import { openRemoteSession, resolveClientConfig, type RemoteSession } from '../../src/client';
import { generateEncryptionKey, parseEncryptionKeys } from '../../src/crypto';
import { proxyUrl, registerRun } from '../../src/proxy/control-client';
import { startProxy, type RunningProxy } from '../../src/proxy/proxy-main';
import { createRunSecret } from '../../src/proxy/secrets';
import { readProxyState, type ProxyState } from '../../src/proxy/state-file';
import { createLegacyRemoteCache } from '../../src/runner/remote-cache';
import { AreaRecord } from './support/area-record';
import { cachePut, dataDirIn, startHardeningServer, type HardeningServer } from './support/hardening-server';
import {
  bombTar,
  hostileTars,
  legacyBase,
  manyEntries,
  seal,
  tamperedBlobs,
  tarGz,
  type TarEntry,
} from './support/hostile-archives';
import { END, gz, nxLikeTar } from './support/nx-tar-forms';
import { createSandbox, snapshotTree, treeChanges, type Sandbox } from './support/sandbox';
import { SeededRandom } from './support/seeded-random';

const record = new AreaRecord('Hostile artifacts', __filename);
const key = generateEncryptionKey();
const [sealingKey] = parseEncryptionKeys(key);
const [wrongKey] = parseEncryptionKeys(generateEncryptionKey());

let sandbox: Sandbox;
let ts: HardeningServer;
let session: RemoteSession;
let proxy: RunningProxy;
let proxyState: ProxyState;
let runSecret: string;
let hashCounter = 0;
const warnings: string[] = [];

beforeAll(async () => {
  sandbox = createSandbox('artifacts');
  mkdirSync(sandbox.dir('outside'));
  mkdirSync(sandbox.dir('home'));
  ts = await startHardeningServer(dataDirIn(sandbox.root));
  const client = {
    options: { url: ts.url, timeoutMs: 5_000 },
    env: { NX_SEALED_CACHE_ACCESS_TOKEN: ts.writeToken, NX_SEALED_CACHE_ENCRYPTION_KEY: key },
    homeDir: sandbox.dir('home'),
  };
  session = await openRemoteSession(resolveClientConfig(client), {
    warn: (line) => warnings.push(line),
    info: () => undefined,
  });
  const spec = {
    stateFile: sandbox.dir('proxy.json'),
    controlSecret: 'c'.repeat(43),
    idleMs: 60_000,
    runTtlMs: 60_000,
    requestDeadlineMs: 20_000,
    client,
  };
  proxy = await startProxy(spec, undefined, () => undefined);
  proxyState = readProxyState(spec.stateFile) as ProxyState;
  runSecret = createRunSecret();
  await registerRun(proxyState, 'hardening', runSecret);
});

afterAll(async () => {
  await proxy?.shutdown('hardening over');
  await session?.close();
  await ts?.stop();
  sandbox?.dispose();
  record.flush();
});

const nextHash = (label: string): string => `art-${label.replace(/[^A-Za-z0-9]+/g, '-').slice(0, 40)}-${hashCounter++}`;

async function plant(hash: string, blob: Buffer): Promise<void> {
  const status = await cachePut(ts.url, hash, blob, ts.writeToken);
  if (status !== 200) throw new Error(`planting ${hash} answered ${status}`);
}

/** The runner's restore into a fresh cache folder: a miss, an empty folder, and nothing changed outside it. */
async function restoreThroughRunner(hash: string, escapeTargets: string[]): Promise<string | undefined> {
  const cacheDir = sandbox.dir(`cache-${hash}`);
  mkdirSync(cacheDir);
  const before = snapshotTree(sandbox.root, [cacheDir, ts.dataDir]);
  const restored = await createLegacyRemoteCache(session).retrieve(hash, cacheDir);
  const changes = treeChanges(before, snapshotTree(sandbox.root, [cacheDir, ts.dataDir]));
  const left = readdirSync(cacheDir);
  if (restored) return 'runner restored it';
  if (left.length > 0) return `cache folder not empty after a refused restore: ${left.join(', ')}`;
  if (changes.length > 0) return `written outside the cache folder: ${changes.slice(0, 3).join(', ')}`;
  const escaped = escapeTargets.filter((path) => existsSync(path));
  return escaped.length ? `escaped to ${escaped.join(', ')}` : undefined;
}

async function fetchThroughProxy(hash: string): Promise<string | undefined> {
  const response = await request(`${proxyUrl(proxyState)}/v1/cache/${hash}`, {
    headers: { authorization: `Bearer ${runSecret}` },
  });
  await response.body.dump();
  return response.statusCode === 404 ? undefined : `proxy answered Nx ${response.statusCode}`;
}

async function plantAndCheck(name: string, blob: Buffer, escapeTargets: string[], unsealed = false): Promise<void> {
  const hash = nextHash(name);
  if (unsealed) {
    // The server reads unsealed gzip uploads by the proxy's rules: a hostile one is refused before it is an entry.
    const status = await cachePut(ts.url, hash, blob, ts.writeToken);
    await record.check(`server: ${name}`, () => (status === 403 ? undefined : `server answered ${status}`));
    if (status === 403) return;
  } else await plant(hash, blob);
  await record.check(`runner: ${name}`, () => restoreThroughRunner(hash, escapeTargets));
  await record.check(`proxy: ${name}`, () => fetchThroughProxy(hash));
}

test('control: a genuine artifact restores through the runner and the proxy', async () => {
  const hash = nextHash('genuine');
  await plant(hash, await seal(await tarGz(legacyBase('genuine')), sealingKey!, hash));
  const cacheDir = sandbox.dir('cache-genuine');
  mkdirSync(cacheDir);
  expect(await createLegacyRemoteCache(session).retrieve(hash, cacheDir)).toBe(true);
  // The proxy serves Nx 20.8+ clients: only the exact form their writer produces.
  const nxHash = nextHash('genuine-nx');
  await plant(nxHash, await seal(gz([...nxLikeTar('a'), END]), sealingKey!, nxHash));
  const response = await request(`${proxyUrl(proxyState)}/v1/cache/${nxHash}`, {
    headers: { authorization: `Bearer ${runSecret}` },
  });
  await response.body.dump();
  expect(response.statusCode).toBe(200);
});

test('tar entries that escape, link out or are devices, sealed with the right key (a key holder)', async () => {
  const since = record.failures.length;
  for (const hostile of hostileTars(sandbox.dir('outside'), `m${hashCounter}`)) {
    const hash = nextHash(hostile.name);
    const plain = await tarGz([...legacyBase(hostile.name), ...hostile.entries]);
    await plant(hash, await seal(plain, sealingKey!, hash));
    await record.check(`runner: ${hostile.name}`, () => restoreThroughRunner(hash, hostile.escapeTargets));
    await record.check(`proxy: ${hostile.name}`, () => fetchThroughProxy(hash));
  }
  expect(record.describeFailures(since)).toEqual([]);
});

test('tar entries that escape, unsealed (a write token without the key)', async () => {
  const since = record.failures.length;
  for (const hostile of hostileTars(sandbox.dir('outside'), `u${hashCounter}`)) {
    await plantAndCheck(
      `unsealed, ${hostile.name}`,
      await tarGz([...legacyBase(hostile.name), ...hostile.entries]),
      hostile.escapeTargets,
      true,
    );
  }
  expect(record.describeFailures(since)).toEqual([]);
});

test('sealed artifacts flipped, swapped, truncated, reordered, extended or under a wrong key', async () => {
  const since = record.failures.length;
  const random = new SeededRandom(record.seed);
  const payload: TarEntry[] = [
    ...legacyBase('tamper'),
    { header: { name: 'outputs/dist/big.bin', type: 'file', mode: 0o644 }, content: random.bytes(300_000) },
  ];
  const plain = await tarGz(payload, 0);
  for (let round = 0; round < 3; round += 1) {
    const hash = nextHash(`tamper-${round}`);
    const sealed = await seal(plain, sealingKey!, hash);
    const forOther = await seal(plain, sealingKey!, `${hash}-other`);
    const wrong = await seal(plain, wrongKey!, hash);
    for (const tampered of tamperedBlobs(random, sealed, forOther, wrong, plain)) {
      await plantAndCheck(`round ${round}, ${tampered.name}`, tampered.blob, []);
    }
  }
  expect(record.describeFailures(since)).toEqual([]);
});

test('decompression bomb and huge entry counts stop at the caps, leaving nothing', async () => {
  const since = record.failures.length;
  const bomb = await bombTar(256 * 1024 * 1024);
  record.note(`decompression bomb: ${bomb.length} bytes gzip'd, 256 MiB inflated, restored with maxBytes 16 MiB`);
  await record.check('bomb through restoreLegacyCacheEntry (maxBytes 16 MiB)', async () => {
    const cacheDir = sandbox.dir('cache-bomb');
    mkdirSync(cacheDir);
    const outcome = await restoreLegacyCacheEntry(Readable.from([bomb]), cacheDir, 'bomb', {
      maxBytes: 16 * 1024 * 1024,
    }).then(
      () => 'restored',
      (err: { code?: string }) => err.code,
    );
    const left = readdirSync(cacheDir);
    if (outcome !== 'ERR_ARCHIVE_TOO_LARGE') return `ended with ${outcome}`;
    return left.length ? `left behind: ${left.join(', ')}` : undefined;
  });
  const many = await tarGz([...legacyBase('many'), ...manyEntries(5_000)]);
  await record.check('5000 entries through restoreLegacyCacheEntry (maxEntries 1000)', async () => {
    const cacheDir = sandbox.dir('cache-many');
    mkdirSync(cacheDir);
    const outcome = await restoreLegacyCacheEntry(Readable.from([many]), cacheDir, 'many', { maxEntries: 1_000 }).then(
      () => 'restored',
      (err: { code?: string }) => err.code,
    );
    const left = readdirSync(cacheDir);
    if (outcome !== 'ERR_ARCHIVE_TOO_LARGE') return `ended with ${outcome}`;
    return left.length ? `left behind: ${left.join(', ')}` : undefined;
  });
  await record.check('bomb through extractArchive (maxBytes 16 MiB)', async () => {
    const dest = sandbox.dir('extract-bomb');
    mkdirSync(dest);
    const outcome = await extractArchive(Readable.from([bomb]), dest, { maxBytes: 16 * 1024 * 1024 }).then(
      () => 'extracted',
      (err: { code?: string }) => err.code,
    );
    return outcome === 'ERR_ARCHIVE_TOO_LARGE' ? undefined : `ended with ${outcome}`;
  });
  expect(record.describeFailures(since)).toEqual([]);
});
