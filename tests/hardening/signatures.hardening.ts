/**
 * Signed trusted entries against someone who can put any bytes on the server (a compromised server, its
 * disk, a write token, a job holding the sealing key but not the signing key). Blobs go in through the
 * real server's PUT (the server does not read signatures, so that is the same as writing its disk), then
 * are restored through the Nx 17–20 runner's `remoteCache.retrieve` and fetched through the sealing proxy
 * (in-process, real server upstream), by readers that require a listed key's signature, sealed and not.
 * Held: a miss (runner false with an empty cache folder, proxy 404), counted as refused for its signature,
 * never as a failure, and at most one warning per reader.
 */
import { mkdirSync, readdirSync } from 'node:fs';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { openRemoteSession, resolveClientConfig, type RemoteSession } from '../../src/client';
import { generateEncryptionKey, parseEncryptionKeys } from '../../src/crypto';
import { createSignStream, signatureHeader } from '../../src/crypto/signature';
import { FIXED_HEADER_BYTES, SIGNATURE_BYTES } from '../../src/crypto/signed-format';
import { generateSigningKey, parseSigningKey, type SigningKey } from '../../src/crypto/signing-keys';
import { proxyUrl, registerRun } from '../../src/proxy/control-client';
import { startProxy, type RunningProxy } from '../../src/proxy/proxy-main';
import { createRunSecret } from '../../src/proxy/secrets';
import { readProxyState, type ProxyState } from '../../src/proxy/state-file';
import { createLegacyRemoteCache } from '../../src/runner/remote-cache';
import { AreaRecord } from './support/area-record';
import { cachePut, dataDirIn, startHardeningServer, type HardeningServer } from './support/hardening-server';
import { collect, legacyBase, seal, tarGz } from './support/hostile-archives';
import { END, gz, nxLikeTar } from './support/nx-tar-forms';
import { createSandbox, type Sandbox } from './support/sandbox';
import { SeededRandom } from './support/seeded-random';

const record = new AreaRecord('Signatures', __filename);
const encryptionKey = generateEncryptionKey();
const [sealingKey] = parseEncryptionKeys(encryptionKey);
const listedA = generateSigningKey();
const listedB = generateSigningKey();
const [keyA, keyB, unlisted] = [listedA, listedB, generateSigningKey()].map((k) =>
  parseSigningKey(k.privateKeyText),
) as [SigningKey, SigningKey, SigningKey];
const IDENTITY = 'ci:main';

interface Reader {
  label: 'sealed' | 'not sealed';
  session: RemoteSession;
  proxy: RunningProxy;
  proxyState: ProxyState;
  runSecret: string;
  warnings: string[];
}

let sandbox: Sandbox;
let ts: HardeningServer;
const readers: Reader[] = [];
let hashCounter = 0;
let unopenableCases = 0;

async function startReader(label: Reader['label']): Promise<Reader> {
  const client = {
    options: {
      url: ts.url,
      timeoutMs: 5_000,
      trustedSigners: [listedA, listedB].map((k) => ({ keyId: k.keyId, publicKey: k.publicKeyText })),
    },
    env: {
      NX_SEALED_CACHE_ACCESS_TOKEN: ts.writeToken,
      ...(label === 'sealed' ? { NX_SEALED_CACHE_ENCRYPTION_KEY: encryptionKey } : {}),
    },
    homeDir: sandbox.dir('home'),
  };
  const warnings: string[] = [];
  const session = await openRemoteSession(resolveClientConfig(client), {
    warn: (line) => warnings.push(line),
    info: () => undefined,
  });
  const spec = {
    stateFile: sandbox.dir(`proxy-${label.replace(' ', '-')}.json`),
    controlSecret: 'c'.repeat(43),
    idleMs: 60_000,
    runTtlMs: 60_000,
    requestDeadlineMs: 20_000,
    client,
  };
  const proxy = await startProxy(spec, undefined, () => undefined);
  const proxyState = readProxyState(spec.stateFile) as ProxyState;
  const runSecret = createRunSecret();
  await registerRun(proxyState, `hardening-${label}`, runSecret);
  return { label, session, proxy, proxyState, runSecret, warnings };
}

beforeAll(async () => {
  sandbox = createSandbox('signatures');
  mkdirSync(sandbox.dir('home'));
  ts = await startHardeningServer(dataDirIn(sandbox.root));
  readers.push(await startReader('sealed'), await startReader('not sealed'));
});

afterAll(async () => {
  for (const reader of readers) {
    await reader.proxy.shutdown('hardening over');
    await reader.session.close();
  }
  await ts?.stop();
  sandbox?.dispose();
  record.flush();
});

const nextHash = (label: string): string => `sig-${label.replace(/[^A-Za-z0-9]+/g, '-').slice(0, 40)}-${hashCounter++}`;

function sign(body: Buffer, key: SigningKey, hash: string, identity = IDENTITY): Promise<Buffer> {
  return collect(Readable.from([body]).pipe(createSignStream(key, signatureHeader(key, identity), hash)));
}

/** What each reader path stores for `hash`: a legacy entry for the runner, Nx's own form for the proxy. */
async function bodyFor(reader: Reader, path: 'runner' | 'proxy', hash: string, marker: string): Promise<Buffer> {
  const plain = path === 'runner' ? await tarGz(legacyBase(marker)) : gz([...nxLikeTar('a'), END]);
  return reader.label === 'sealed' ? seal(plain, sealingKey!, hash) : plain;
}

async function plant(hash: string, blob: Buffer): Promise<void> {
  const status = await cachePut(ts.url, hash, blob, ts.writeToken);
  if (status !== 200) throw new Error(`planting ${hash} answered ${status}`);
}

async function restoreThroughRunner(reader: Reader, hash: string): Promise<string | undefined> {
  const cacheDir = sandbox.dir(`cache-${reader.label.replace(' ', '-')}-${hash}`);
  mkdirSync(cacheDir);
  const refusedBefore = reader.session.stats.unverified;
  const failuresBefore = reader.session.stats.failures;
  const restored = await createLegacyRemoteCache(reader.session).retrieve(hash, cacheDir);
  await new Promise((resolve) => setImmediate(resolve));
  if (restored) return 'runner restored it';
  const left = readdirSync(cacheDir);
  if (left.length > 0) return `cache folder not empty after a refused restore: ${left.join(', ')}`;
  const refused = reader.session.stats.unverified - refusedBefore;
  const unopenable = reader.session.stats.failures - failuresBefore;
  // Bytes that break the sealed format before the signature is reached fail to open first: still one miss.
  if (refused + unopenable !== 1) return `counted ${refused} times as refused and ${unopenable} as unopenable`;
  if (unopenable === 1) unopenableCases += 1;
  return undefined;
}

async function fetchThroughProxy(reader: Reader, hash: string): Promise<number> {
  const response = await request(`${proxyUrl(reader.proxyState)}/v1/cache/${hash}`, {
    headers: { authorization: `Bearer ${reader.runSecret}` },
  });
  await response.body.dump();
  return response.statusCode;
}

interface Attack {
  name: string;
  /** Bytes to plant under `hash`, given a genuine body for it. */
  make(hash: string, body: Buffer, random: SeededRandom): Promise<Buffer>;
}

const flip = (data: Buffer, offset: number): Buffer => {
  const copy = Buffer.from(data);
  copy[offset]! ^= 1 << (offset % 8);
  return copy;
};
const signedHeaderBytes = FIXED_HEADER_BYTES + IDENTITY.length;

const ATTACKS: Attack[] = [
  { name: 'unsigned (a valid body, as anyone with the sealing key can make)', make: async (_h, body) => body },
  { name: 'signed by a key not listed', make: (hash, body) => sign(body, unlisted, hash) },
  {
    name: 'signature moved from another hash',
    make: async (hash, body) => sign(body, keyA, `${hash}-elsewhere`),
  },
  {
    name: 'key id of listed key B over key A signature',
    make: async (hash, body) => {
      const signed = await sign(body, keyA, hash);
      Buffer.from(keyB.id, 'hex').copy(signed, 5);
      return signed;
    },
  },
  {
    name: 'identity rewritten (same length) under the original signature',
    make: async (hash, body) => {
      const signed = await sign(body, keyA, hash);
      Buffer.from('ci:evil').copy(signed, FIXED_HEADER_BYTES);
      return signed;
    },
  },
  {
    name: 'body of another genuine entry under the original signature',
    make: async (hash, body) => {
      const signed = await sign(body, keyA, hash);
      const other = Buffer.from(body);
      other[other.length - 1]! ^= 0xff;
      return Buffer.concat([signed.subarray(0, signedHeaderBytes), other, signed.subarray(-SIGNATURE_BYTES)]);
    },
  },
  ...(['magic', 'version', 'key id', 'identity length', 'identity', 'body', 'signature'] as const).map(
    (part): Attack => ({
      name: `bit flipped in the ${part}`,
      make: async (hash, body, random) => {
        const signed = await sign(body, keyA, hash);
        const ranges: Record<typeof part, [number, number]> = {
          magic: [0, 3],
          version: [4, 4],
          'key id': [5, 12],
          'identity length': [13, 14],
          identity: [FIXED_HEADER_BYTES, signedHeaderBytes - 1],
          body: [signedHeaderBytes, signed.length - SIGNATURE_BYTES - 1],
          signature: [signed.length - SIGNATURE_BYTES, signed.length - 1],
        };
        const [from, to] = ranges[part];
        return flip(signed, random.int(from, to));
      },
    }),
  ),
  {
    name: 'truncated by one byte',
    make: async (hash, body) => (await sign(body, keyA, hash)).subarray(0, -1),
  },
  {
    name: 'signature removed',
    make: async (hash, body) => (await sign(body, keyA, hash)).subarray(0, -SIGNATURE_BYTES),
  },
  { name: 'header only', make: async (hash, body) => (await sign(body, keyA, hash)).subarray(0, signedHeaderBytes) },
  {
    name: 'one byte appended',
    make: async (hash, body) => Buffer.concat([await sign(body, keyA, hash), Buffer.of(0)]),
  },
  {
    name: 'a second signed entry appended',
    make: async (hash, body) => Buffer.concat([await sign(body, keyA, hash), await sign(body, keyA, hash)]),
  },
  {
    name: 'a listed signature wrapped in an unlisted one',
    make: async (hash, body) => sign(await sign(body, keyA, hash), unlisted, hash),
  },
  {
    name: 'random bytes after a valid-looking header',
    make: async (hash, body, random) =>
      Buffer.concat([(await sign(body, keyA, hash)).subarray(0, signedHeaderBytes), random.bytes(2_000)]),
  },
];

test('control: entries signed by either listed key restore through the runner and the proxy', async () => {
  for (const reader of readers) {
    for (const [key, label] of [
      [keyA, 'A'],
      [keyB, 'B'],
    ] as const) {
      const runnerHash = nextHash(`genuine-runner-${label}`);
      await plant(runnerHash, await sign(await bodyFor(reader, 'runner', runnerHash, 'genuine'), key, runnerHash));
      const cacheDir = sandbox.dir(`cache-genuine-${reader.label.replace(' ', '-')}-${label}`);
      mkdirSync(cacheDir);
      expect(await createLegacyRemoteCache(reader.session).retrieve(runnerHash, cacheDir)).toBe(true);
      const proxyHash = nextHash(`genuine-proxy-${label}`);
      await plant(proxyHash, await sign(await bodyFor(reader, 'proxy', proxyHash, 'genuine'), key, proxyHash));
      expect(await fetchThroughProxy(reader, proxyHash)).toBe(200);
    }
    expect(reader.session.stats.verified).toEqual({ [keyA.id]: 1, [keyB.id]: 1 });
  }
});

test('unsigned, unlisted, moved, rewritten, flipped, truncated and extended entries are misses', async () => {
  const since = record.failures.length;
  const random = new SeededRandom(record.seed);
  for (let round = 0; round < 3; round += 1) {
    for (const reader of readers) {
      for (const attack of ATTACKS) {
        const name = `round ${round}, ${reader.label}, ${attack.name}`;
        const runnerHash = nextHash(`r${round}-${attack.name}`);
        await plant(
          runnerHash,
          await attack.make(runnerHash, await bodyFor(reader, 'runner', runnerHash, 'x'), random),
        );
        await record.check(`runner: ${name}`, () => restoreThroughRunner(reader, runnerHash));
        const proxyHash = nextHash(`p${round}-${attack.name}`);
        await plant(proxyHash, await attack.make(proxyHash, await bodyFor(reader, 'proxy', proxyHash, 'x'), random));
        await record.check(`proxy: ${name}`, async () => {
          const status = await fetchThroughProxy(reader, proxyHash);
          return status === 404 ? undefined : `proxy answered Nx ${status}`;
        });
      }
    }
  }
  for (const reader of readers) {
    await record.check(`${reader.label}: one warning for every refusal of the run`, () => {
      const refusals = reader.warnings.filter((line) => line.includes('treated as a miss because'));
      const unopenable = reader.warnings.filter((line) => line.includes('failed, treated as a cache miss'));
      if (refusals.length !== 1) return `${refusals.length} warnings for refused signatures`;
      return unopenable.length <= 1 ? undefined : `${unopenable.length} warnings for unopenable entries`;
    });
  }
  record.note(
    `${unopenableCases} runner cases broke the sealed format before their signature was reached: counted as unopenable misses`,
  );
  record.note(`${ATTACKS.length} attacks × 2 readers (sealed, not sealed) × 2 paths (runner, proxy) × 3 seeded rounds`);
  expect(record.describeFailures(since)).toEqual([]);
});
