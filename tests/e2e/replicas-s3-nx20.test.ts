/**
 * Two server processes sharing one PostgreSQL (PGlite behind pglite-socket, or the server
 * NX_SEALED_CACHE_TEST_DATABASE_URL names) and one S3 bucket (s3rver), each with a data dir of its own, as
 * replicas behind a load balancer: the Nx 20 tasks runner writes through one and restores through the other,
 * concurrent PUTs of one hash leave one object, and a replica killed mid-upload leaves no entry and no object.
 * The tests run in order: the last one kills replica 1.
 */
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { request } from 'undici';
import { generateEncryptionKey } from '../../src/crypto/keys';
import { type TestPostgres, startTestPostgres } from '../support/postgres';
import {
  type RunEnv,
  type RunningS3,
  type RunningServer,
  type TestBed,
  assertSucceeded,
  cacheEntryStatuses,
  expectOutcomes,
  startS3,
  startServer,
  startTestBed,
} from './harness';

const MiB = 1024 ** 2;
const PREFIX = 'replicas';
const ENCRYPTION_KEY = generateEncryptionKey();

type Phase = 'uploading' | 'killed';

interface RetentionAnswer {
  removed: Record<string, { count: number; bytes: number }>;
}

async function adminCall<T>(url: string, token: string, method: 'GET' | 'POST', path: string): Promise<T> {
  const response = await request(`${url}/api/v1${path}`, { method, headers: { authorization: `Bearer ${token}` } });
  const text = await response.body.text();
  if (response.statusCode !== 200) throw new Error(`${method} ${path}: ${response.statusCode} ${text}`);
  return JSON.parse(text) as T;
}

async function getEntry(url: string, hash: string, token: string): Promise<{ status: number; body: Buffer }> {
  const response = await request(`${url}/v1/cache/${hash}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: response.statusCode, body: Buffer.from(await response.body.arrayBuffer()) };
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((name) => statSync(join(dir, name)).isFile());
}

/** A PUT whose body the test writes piece by piece over a socket of its own, so it can stop at any byte. */
function startUpload(url: string, hash: string, token: string, declaredBytes: number) {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  const closed = new Promise<void>((resolveClose) => socket.once('close', () => resolveClose()));
  // The server dies mid-body: a reset or a broken pipe is how this upload is meant to end.
  socket.on('error', () => undefined);
  socket.write(
    `PUT /v1/cache/${hash} HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: Bearer ${token}\r\n` +
      `Content-Type: application/octet-stream\r\nContent-Length: ${declaredBytes}\r\n\r\n`,
  );
  let sent = 0;
  return {
    closed,
    sent: () => sent,
    write: (bytes: Buffer): Promise<void> =>
      new Promise((resolveWrite, reject) => {
        socket.write(bytes, (err) => (err ? reject(err) : resolveWrite()));
        sent += bytes.length;
      }),
    destroy: () => socket.destroy(),
  };
}

describe('two servers sharing one PostgreSQL and one S3 bucket, each with its own data dir', () => {
  let pg: TestPostgres | undefined;
  let s3: RunningS3 | undefined;
  let bed: TestBed | undefined;
  let second: RunningServer | undefined;

  const first = (): TestBed => bed as TestBed;
  const other = (): RunningServer => second as RunningServer;
  const bucket = (): RunningS3 => s3 as RunningS3;
  const adminToken = (): string => first().boot.target.token;
  /** Objects of entries (not the readiness probe) under the servers' prefix. */
  const entryObjects = async (): Promise<string[]> =>
    (await bucket().objectKeys(`${PREFIX}/`)).filter((key) => key.startsWith(`${PREFIX}/ws_`));
  const objectsOf = async (hash: string): Promise<string[]> =>
    (await entryObjects()).filter((key) => key.endsWith(`/${hash}`) || key.includes(`/${hash}.`));
  /** The S3 requests that named one hash's objects, as `METHOD ?queryNames`. */
  const requestsFor = (hash: string): string[] =>
    bucket()
      .requests.filter((r) => r.includes(`/${hash}.`))
      .map((r) => r.replace(/ \/.*\?/, ' ?'));

  beforeAll(async () => {
    pg = await startTestPostgres();
    s3 = await startS3('nxsc-replicas');
    const server = {
      args: s3.serveArgs(PREFIX),
      env: { ...s3.env, NX_SEALED_CACHE_SERVER_DATABASE_URL: pg.url },
    };
    bed = await startTestBed('nx20', {
      server,
      runnerNodePath: true,
      workspace: ({ server: one }) => ({
        patchNxJson: (nxJson) => {
          nxJson.useLegacyCache = true;
          nxJson.tasksRunnerOptions = { default: { runner: 'nx-sealed-cache', options: { url: one.url } } };
        },
      }),
    });
    // A fresh data dir of its own: the administrator, the org and the tokens are in the shared database.
    second = await startServer({ ...server, initAdmin: false });
  });

  afterAll(async () => {
    await second?.dispose();
    await bed?.dispose();
    await s3?.stop();
    await pg?.stop();
  });

  it('restores through server 2 every task the Nx 20 runner stored through server 1, byte for byte', async () => {
    const { ws, writeToken, readToken, server } = first();
    const runnerEnv = (token: string, url?: string): RunEnv => ({
      NX_SEALED_CACHE_ACCESS_TOKEN: token,
      NX_SEALED_CACHE_ENCRYPTION_KEY: ENCRYPTION_KEY,
      NX_SEALED_CACHE_URL: url,
    });
    const allProjects = (outcome: string): Record<string, string> =>
      Object.fromEntries(ws.projects.map((p) => [p, outcome]));

    const primed = assertSucceeded(await ws.build(runnerEnv(writeToken.token)));
    expectOutcomes(primed, allProjects('miss'));
    expect(primed.stderr + primed.stdout).toContain(`nx-sealed-cache: remote cache ${server.url} `);
    const outputs = ws.readOutputs();
    const hashes = ws.localCacheHashes();
    expect(hashes).toHaveLength(ws.projects.length);
    // One object per task in the bucket, and no blob in either replica's data dir.
    expect(
      (await entryObjects()).map((key) => key.slice(key.lastIndexOf('/') + 1, key.lastIndexOf('.'))).sort(),
    ).toEqual([...hashes].sort());
    for (const dataDir of [server.dataDir, other().dataDir]) expect(filesUnder(join(dataDir, 'blobs'))).toEqual([]);
    expect(Object.values(await cacheEntryStatuses(other().url, hashes, readToken.token))).toEqual(
      hashes.map(() => 200),
    );

    await ws.reset();
    rmSync(join(ws.root, 'dist'), { recursive: true, force: true });
    const restored = assertSucceeded(await ws.build(runnerEnv(readToken.token, other().url)));
    expectOutcomes(restored, allProjects('remote'));
    expect(restored.stderr + restored.stdout).toContain(`nx-sealed-cache: remote cache ${other().url} `);
    expect(ws.readOutputs()).toEqual(outputs);
  });

  it('lets exactly one of concurrent PUTs of one hash over both servers store it, and keeps one object', async () => {
    const { writeToken, readToken, server } = first();
    const hash = `feedbeef${'1'.repeat(8)}`;
    const puts = await Promise.all(
      Array.from({ length: 8 }, async (_, i) => {
        const response = await request(`${i % 2 === 0 ? server.url : other().url}/v1/cache/${hash}`, {
          method: 'PUT',
          headers: { authorization: `Bearer ${writeToken.token}`, 'content-type': 'application/octet-stream' },
          body: Buffer.alloc(64 * 1024, i),
        });
        await response.body.dump();
        return response.statusCode;
      }),
    );
    expect([...puts].sort()).toEqual([200, 409, 409, 409, 409, 409, 409, 409]);
    const winner = puts.indexOf(200);

    await adminCall<RetentionAnswer>(other().url, adminToken(), 'POST', '/retention/run');
    const objects = await objectsOf(hash);
    expect(objects).toHaveLength(1);
    expect(objects[0]).toMatch(new RegExp(`^${PREFIX}/ws_[A-Za-z0-9]+/shared/${hash}\\.[A-Za-z0-9]+$`));
    // A loser that found the row already there was refused before its upload; every other loser's object was deleted.
    const uploads = requestsFor(hash).filter((r) => r === 'PUT ?').length;
    expect(uploads).toBeGreaterThanOrEqual(1);
    expect(requestsFor(hash).filter((r) => r === 'DELETE ?')).toHaveLength(uploads - 1);
    for (const url of [server.url, other().url]) {
      const got = await getEntry(url, hash, readToken.token);
      expect(got.status).toBe(200);
      expect(got.body.equals(Buffer.alloc(64 * 1024, winner))).toBe(true);
    }
  });

  it('leaves no entry and no object of an upload cut by SIGKILL, and server 2 answers throughout', async () => {
    const { writeToken, readToken, server } = first();
    const hash = `deadbeef${'2'.repeat(8)}`;
    const known = `feedbeef${'1'.repeat(8)}`;
    const knownBody = (await getEntry(other().url, known, readToken.token)).body;
    expect(knownBody).toHaveLength(64 * 1024);

    // Server 2 is read the whole time: before the upload, during it, across the kill and the sweep.
    let phase = 'uploading' as Phase;
    let polling = true;
    const answers: { phase: Phase; status: number; same: boolean }[] = [];
    const poller = (async () => {
      while (polling) {
        const at = phase;
        const got = await getEntry(other().url, known, readToken.token);
        answers.push({ phase: at, status: got.status, same: got.body.equals(knownBody) });
      }
    })();

    try {
      const upload = startUpload(server.url, hash, writeToken.token, 64 * MiB);
      try {
        // Write until the server has sent the bucket a part of a multipart upload, never the whole body.
        const chunk = Buffer.alloc(MiB, 0x5a);
        while (!requestsFor(hash).includes('PUT ?partNumber&uploadId')) {
          if (upload.sent() >= 48 * MiB)
            throw new Error(`no UploadPart after ${upload.sent()} bytes\n${server.output()}`);
          await upload.write(chunk);
        }
        expect(requestsFor(hash)[0]).toBe('POST ?uploads');
        expect(await cacheEntryStatuses(other().url, [hash], readToken.token)).toEqual({ [hash]: 404 });

        await server.kill('SIGKILL');
        phase = 'killed';
        await upload.closed;
      } finally {
        upload.destroy();
      }

      expect(await cacheEntryStatuses(other().url, [hash], readToken.token)).toEqual({ [hash]: 404 });
      // What it leaves in its own data dir: its upload folder, empty, since uploads stream to the bucket.
      expect(readdirSync(join(server.dataDir, 'tmp'))).toEqual([expect.stringMatching(/^replica-[0-9a-f-]{36}$/)]);
      expect(filesUnder(join(server.dataDir, 'tmp'))).toEqual([]);
      const sweptAfter = new Date().toISOString();
      const sweep = await adminCall<RetentionAnswer>(other().url, adminToken(), 'POST', '/retention/run');
      // Not a pass skipped for another replica's: server 2 ran this one.
      const stats = await adminCall<{ retention: { lastRunAt: string | null } }>(
        other().url,
        adminToken(),
        'GET',
        '/stats',
      );
      expect(stats.retention.lastRunAt! >= sweptAfter).toBe(true);
      expect(sweep.removed.orphan).toEqual({ count: 0, bytes: 0 });
      expect(await cacheEntryStatuses(other().url, [hash], readToken.token)).toEqual({ [hash]: 404 });
      expect(await objectsOf(hash)).toEqual([]);
      // The multipart upload was begun and never completed, so no object can appear from it later; the killed
      // replica could not abort it and no server lists unfinished uploads: it is left to the bucket's lifecycle rule.
      const requests = requestsFor(hash);
      expect(requests.filter((r) => r !== 'PUT ?partNumber&uploadId')).toEqual(['POST ?uploads']);
      expect(
        bucket()
          .unfinishedUploadKeys()
          .filter((key) => key.includes(`/${hash}.`)),
      ).toHaveLength(1);
    } finally {
      // Also when an expectation failed, so no GET is still in flight once server 2 stops.
      polling = false;
    }
    await poller;
    expect(answers.filter((a) => a.phase === 'uploading').length).toBeGreaterThan(0);
    expect(answers.filter((a) => a.phase === 'killed').length).toBeGreaterThan(0);
    expect(answers.filter((a) => a.status !== 200 || !a.same)).toEqual([]);
  });
});
