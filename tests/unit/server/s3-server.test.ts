/**
 * The server with `--blob-store s3://...` over the real S3 protocol (s3rver on loopback): the entry row
 * is the commit point, an aborted upload leaves no row and no object, orphans are swept after their grace,
 * an object deleted from outside reads as a miss (a hot small one once its 10 s in memory are over), and a
 * store that takes no write stops the start.
 */
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { DeleteObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';

import { request } from 'undici';
import { isSealedCacheError } from '../../../src/errors';
import { tarGz } from '../../hardening/support/hostile-archives';
import { END, gz, nxLikeTar } from '../../hardening/support/nx-tar-forms';
import { parseServerConfig } from '../../../src/server/config/server-config';
import { SMALL_BLOB_TTL_MS } from '../../../src/server/storage/small-blob-cache';
import { type RunningS3, S3RVER_CREDENTIALS, startS3 } from '../../e2e/harness/s3-store';
import { type OpsServer, startOpsServer, testClock, workspaceWithTokens } from './ops-test-kit';
import { http } from './test-server';

const MiB = 1024 ** 2;
const HOUR = 3_600_000;

describe('server with an S3 blob store', () => {
  let s3: RunningS3;
  let client: S3Client;
  let ts: OpsServer | undefined;
  const savedEnv = { ...process.env };

  beforeAll(async () => {
    s3 = await startS3('nxsc-server');
    // The server finds credentials by the SDK's default chain, as in production.
    Object.assign(process.env, s3.env);
    client = s3.client;
  });
  afterEach(async () => {
    await ts?.stop();
    ts = undefined;
  });
  afterAll(async () => {
    process.env = savedEnv;
    await s3.stop();
  });

  const start = (prefix: string, clock = testClock()) =>
    startOpsServer({
      retentionInterval: 0,
      clock,
      blobStore: `s3://${s3.bucket}/${prefix}`,
      s3Endpoint: s3.endpoint,
      s3ForcePathStyle: true,
    });
  const objects = (prefix: string): Promise<string[]> => s3.objectKeys(prefix);

  describe('on one server', () => {
    let one: OpsServer;
    let rw: string;
    let wsId: string;
    beforeAll(async () => {
      one = await start('one');
      ({ rw, wsId } = await workspaceWithTokens(one));
    });
    afterAll(() => one.stop());
    const keysOf = async (hash: string) => (await objects('one/')).filter((key) => key.includes(`/${hash}.`));

    it('stores, serves and refuses a second write of a hash, one object per entry', async () => {
      const ts = one;
      const body = randomBytes(MiB + 77);
      const first = await http(`${ts.url}/v1/cache/h1`, { method: 'PUT', token: rw, raw: body });
      expect(first.status).toBe(200);
      const again = await http(`${ts.url}/v1/cache/h1`, { method: 'PUT', token: rw, raw: randomBytes(10) });
      expect(again.status).toBe(409);
      const got = await request(`${ts.url}/v1/cache/h1`, { headers: { authorization: `Bearer ${rw}` } });
      expect(got.statusCode).toBe(200);
      expect(Buffer.from(await got.body.arrayBuffer()).equals(body)).toBe(true);
      const keys = await keysOf('h1');
      expect(keys).toHaveLength(1);
      expect(keys[0]).toMatch(/^one\/ws_[A-Za-z0-9]+\/shared\/h1\.[A-Za-z0-9]+$/);
      expect((await http(`${ts.url}/readyz`)).status).toBe(200);
      // The store is named in the log, and no credential anywhere in it.
      expect(
        ts.logs.some((line) => line.includes('"blobs in an S3 bucket"') && line.includes('s3://nxsc-server/one/')),
      ).toBe(true);
      expect(ts.logs.join('')).not.toContain(S3RVER_CREDENTIALS.secretAccessKey);
    });

    it('inspects an upload on its way to the bucket: no GET, and an unsafe multipart one leaves no object', async () => {
      const ts = one;
      const requestsOf = (hash: string): string[] => s3.requests.filter((r) => r.includes(`/${hash}.`));
      // Not gzip (a sealed blob is the same: opaque here), and a safe unsealed Nx artifact.
      const opaque = await http(`${ts.url}/v1/cache/insp-opaque`, { method: 'PUT', token: rw, raw: randomBytes(4096) });
      const safe = await http(`${ts.url}/v1/cache/insp-safe`, {
        method: 'PUT',
        token: rw,
        raw: gz([...nxLikeTar('a'), END]),
      });
      expect([opaque.status, safe.status]).toEqual([200, 200]);
      expect([...requestsOf('insp-opaque'), ...requestsOf('insp-safe')].filter((r) => r.startsWith('GET '))).toEqual(
        [],
      );
      // A link out of the workspace, then 9 MiB that does not compress: more than one part goes to the bucket.
      const unsafe = await tarGz([
        { header: { name: 'terminalOutput', type: 'file' }, content: 'built' },
        { header: { name: 'code', type: 'file' }, content: Buffer.alloc(4) },
        { header: { name: 'outputs/dist/a/out', type: 'symlink', linkname: '/etc/passwd' } },
        { header: { name: 'outputs/dist/a/big.bin', type: 'file' }, content: randomBytes(9 * MiB) },
      ]);
      const refused = await http(`${ts.url}/v1/cache/insp-unsafe`, { method: 'PUT', token: rw, raw: unsafe });
      expect([refused.status, refused.text.split(':')[0]]).toEqual([403, 'ERR_CACHE_ARTIFACT_UNSAFE']);
      expect(requestsOf('insp-unsafe').filter((r) => r.startsWith('PUT ') && r.includes('partNumber'))).toHaveLength(2);
      expect(requestsOf('insp-unsafe').filter((r) => r.startsWith('GET '))).toEqual([]);
      expect(await keysOf('insp-unsafe')).toEqual([]);
      expect((await http(`${ts.url}/v1/cache/insp-unsafe`, { token: rw })).status).toBe(404);
    });

    it('leaves no row and no object when the client goes away mid-upload', async () => {
      const ts = one;
      const { hostname, port } = new URL(ts.url);
      const cutRequests = (): string[] => s3.requests.filter((r) => r.includes('/cut.'));
      await new Promise<void>((resolve, reject) => {
        const socket = connect(Number(port), hostname, () => {
          socket.write(
            `PUT /v1/cache/cut HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${rw}\r\nContent-Length: ${20 * MiB}\r\n\r\n`,
          );
          // More than one 8 MiB part, so a multipart upload is under way when the connection drops.
          socket.write(randomBytes(11 * MiB), () => {
            socket.destroy();
            resolve();
          });
        });
        socket.on('error', reject);
      });
      // The server's last word to the store about this upload is the abort of its multipart upload.
      for (let i = 0; i < 500 && !cutRequests().some((r) => r.startsWith('DELETE ')); i++)
        await new Promise((r) => setTimeout(r, 20));
      expect(cutRequests().map((r) => r.replace(/ \/.*\?/, ' ?'))).toEqual([
        'POST ?uploads',
        'PUT ?partNumber&uploadId',
        'DELETE ?uploadId',
      ]);
      expect(await ts.server.context.store.findEntry(wsId, 'shared', 'cut')).toBeUndefined();
      expect((await http(`${ts.url}/v1/cache/cut`, { token: rw })).status).toBe(404);
      expect(await keysOf('cut')).toEqual([]);
    });

    it('answers a miss when the object of a row was deleted from outside', async () => {
      const ts = one;
      expect((await http(`${ts.url}/v1/cache/gone`, { method: 'PUT', token: rw, raw: 'bytes' })).status).toBe(200);
      const keys = await keysOf('gone');
      expect(keys).toHaveLength(1);
      await client.send(new DeleteObjectCommand({ Bucket: s3.bucket, Key: keys[0] }));
      expect((await http(`${ts.url}/v1/cache/gone`, { token: rw })).status).toBe(404);
      expect(ts.server.context.counters.storageFaultMisses).toBe(1);
    });
  });

  it('serves a hit of a small entry from memory for a few seconds, then from the bucket again', async () => {
    ts = await start('hot');
    const { rw, wsId } = await workspaceWithTokens(ts);
    const body = randomBytes(10 * 1024);
    expect((await http(`${ts.url}/v1/cache/hot`, { method: 'PUT', token: rw, raw: body })).status).toBe(200);
    const [key] = await objects('hot/');
    const reads = (): number => s3.requests.filter((r) => r.startsWith('GET ') && r.includes('/hot.')).length;
    const get = async () => {
      const answer = await request(`${ts!.url}/v1/cache/hot`, { headers: { authorization: `Bearer ${rw}` } });
      return [answer.statusCode, Buffer.from(await answer.body.arrayBuffer()).equals(body)];
    };
    // The upload's own inspection (one read) does not fill the memory; the first hit reads the bucket, the next not.
    const inspected = reads();
    expect(await get()).toEqual([200, true]);
    expect(await get()).toEqual([200, true]);
    expect(reads() - inspected).toBe(1);
    // Deleted from outside the server: still served until its seconds are over, then a miss.
    await client.send(new DeleteObjectCommand({ Bucket: s3.bucket, Key: key }));
    ts.clock.advance(SMALL_BLOB_TTL_MS - 1);
    expect(await get()).toEqual([200, true]);
    ts.clock.advance(1);
    expect((await get())[0]).toBe(404);
    expect(reads() - inspected).toBe(2);
    // A purge through the server is seen at once: the row is read on every request.
    expect((await http(`${ts.url}/v1/cache/kept`, { method: 'PUT', token: rw, raw: body })).status).toBe(200);
    expect((await http(`${ts.url}/v1/cache/kept`, { token: rw })).status).toBe(200);
    await ts.server.context.store.tiers.quarantineEntries({ workspaceId: wsId }, ts.clock.now.toISOString());
    expect((await http(`${ts.url}/v1/cache/kept`, { token: rw })).status).toBe(404);
  });

  it('sweeps an object without a row once it is older than the grace, and keeps it before', async () => {
    const clock = testClock();
    clock.now = new Date();
    ts = await start('orphans', clock);
    const { rw } = await workspaceWithTokens(ts);
    expect((await http(`${ts.url}/v1/cache/kept`, { method: 'PUT', token: rw, raw: 'kept bytes' })).status).toBe(200);
    // What a crash between the upload and the row leaves behind.
    await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: 'orphans/ws_x/shared/lost.u1', Body: 'lost' }));
    const young = await ts.server.context.ops.retention.run();
    expect(young.orphan.count).toBe(0);
    expect(await objects('orphans/ws_x/')).toEqual(['orphans/ws_x/shared/lost.u1']);
    clock.advance(2 * HOUR);
    const old = await ts.server.context.ops.retention.run();
    expect(old.orphan).toEqual({ count: 1, bytes: 4 });
    expect(await objects('orphans/ws_x/')).toEqual([]);
    expect((await http(`${ts.url}/v1/cache/kept`, { token: rw })).text).toBe('kept bytes');
  });

  it('does not start when the bucket takes no write, naming the store but no credential', async () => {
    const failure = await startOpsServer({
      blobStore: 's3://no-such-bucket/x',
      s3Endpoint: s3.endpoint,
      s3ForcePathStyle: true,
    }).catch((err: unknown) => err);
    expect(isSealedCacheError(failure) && failure.code).toBe('ERR_BLOB_STORE_UNAVAILABLE');
    expect((failure as Error).message).toContain('s3://no-such-bucket/x/');
    expect((failure as Error).message).toContain('NoSuchBucket');
    expect((failure as Error).message).not.toContain(S3RVER_CREDENTIALS.secretAccessKey);
  });

  it.each([
    ['credentials in the URL', 's3://AKIA:secret@bucket/x'],
    ['another scheme', 'https://bucket/x'],
    ['a bad bucket name', 's3://Bucket_Name/x'],
    ['a dot-dot prefix', 's3://bucket/a/../b'],
  ])('refuses --blob-store with %s', async (_label, blobStore) => {
    let failure: unknown;
    try {
      parseServerConfig({ blobStore });
    } catch (err) {
      failure = err;
    }
    expect(isSealedCacheError(failure) && failure.code).toBe('ERR_CONFIG_INVALID');
    expect((failure as Error).message).not.toContain('secret');
  });
});
