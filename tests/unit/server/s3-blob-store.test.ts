/** The S3 blob store over the real S3 protocol (s3rver on loopback): bytes, multipart, refusals, inventory, sweep. */
import { createHash, randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { isSealedCacheError } from '../../../src/errors';
import { S3BlobStore, s3BlobBackend, s3ClientOf } from '../../../src/server/storage/s3-blob-store';
import { type RunningS3, S3RVER_CREDENTIALS, startS3 } from '../../e2e/harness/s3-store';

const MiB = 1024 ** 2;
const PART = 5 * MiB;

/** Yields `data` in chunks of `chunk` bytes, as a request body arrives. */
async function* chunks(data: Buffer, chunk = 64 * 1024): AsyncIterable<Buffer> {
  for (let at = 0; at < data.length; at += chunk) yield data.subarray(at, at + chunk);
}

async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

describe('S3 blob store against an S3-protocol server', () => {
  let s3: RunningS3;
  let client: S3Client;
  let store: S3BlobStore;
  /** Every S3 operation the client sent, by command name. */
  const sent: string[] = [];
  const location = { bucket: 'nxsc-test', prefix: 'cache/' };

  beforeAll(async () => {
    s3 = await startS3(location.bucket);
    client = s3ClientOf({
      location,
      endpoint: s3.endpoint,
      forcePathStyle: true,
      credentials: S3RVER_CREDENTIALS,
    });
    client.middlewareStack.add(
      (next, context) => (args) => {
        sent.push(context.commandName ?? '?');
        return next(args);
      },
      { step: 'initialize' },
    );
    store = new S3BlobStore(client, location, { partSize: PART });
  });
  afterAll(async () => {
    client.destroy();
    await s3.stop();
  });

  const objectKeys = async (prefix = ''): Promise<string[]> => {
    const page = await client.send(new ListObjectsV2Command({ Bucket: location.bucket, Prefix: prefix }));
    return (page.Contents ?? []).map((o) => o.Key ?? '').sort();
  };

  it('stores a blob under the prefix in one PutObject and streams it back, with its size and sha256', async () => {
    const data = randomBytes(300_000);
    sent.length = 0;
    const stored = await store.put('ws1/shared/h1.u1', chunks(data), data.length);
    expect(stored).toEqual({ size: data.length, sha256: sha256(data) });
    expect(sent).toEqual(['PutObjectCommand']);
    expect(await objectKeys('cache/ws1/')).toEqual(['cache/ws1/shared/h1.u1']);
    const opened = await store.open('ws1/shared/h1.u1');
    if (!opened.found) throw new Error('expected the blob');
    expect(opened.size).toBe(data.length);
    expect((await readAll(opened.stream())).equals(data)).toBe(true);
  });

  it('stores an empty blob', async () => {
    expect(await store.put('ws1/shared/empty.u1', chunks(Buffer.alloc(0)), 0)).toEqual({
      size: 0,
      sha256: sha256(Buffer.alloc(0)),
    });
    const opened = await store.open('ws1/shared/empty.u1');
    expect(opened.found && opened.size).toBe(0);
    if (opened.found) await opened.close();
  });

  it('uploads an artifact above one part in several parts and reads it back byte for byte', async () => {
    const data = randomBytes(PART + 3 * MiB + 12_345);
    sent.length = 0;
    const stored = await store.put('ws1/shared/big.u1', chunks(data, 256 * 1024), data.length);
    expect(stored.sha256).toBe(sha256(data));
    expect(sent.sort()).toEqual([
      'CompleteMultipartUploadCommand',
      'CreateMultipartUploadCommand',
      'UploadPartCommand',
      'UploadPartCommand',
    ]);
    const head = await client.send(new HeadObjectCommand({ Bucket: location.bucket, Key: 'cache/ws1/shared/big.u1' }));
    expect(head.ContentLength).toBe(data.length);
    const opened = await store.open('ws1/shared/big.u1');
    if (!opened.found) throw new Error('expected the blob');
    expect(sha256(await readAll(opened.stream()))).toBe(sha256(data));
  });

  it('answers a missing key as not found, distinct from a fault', async () => {
    expect(await store.open('ws1/shared/never-written.u1')).toEqual({ found: false });
    await expect(store.delete('ws1/shared/never-written.u1')).resolves.toBeUndefined();
  });

  it('stores nothing when fewer or more bytes arrive than announced, in one part or several', async () => {
    const cases: Array<[string, Buffer, number]> = [
      ['short.u1', randomBytes(1000), 1001],
      ['long.u1', randomBytes(1001), 1000],
      ['short-multi.u1', randomBytes(PART + MiB), PART + MiB + 1],
      ['long-multi.u1', randomBytes(PART + MiB + 1), PART + MiB],
    ];
    for (const [name, data, announced] of cases) {
      const failure = await store.put(`ws2/shared/${name}`, chunks(data), announced).catch((err: unknown) => err);
      expect(isSealedCacheError(failure) && failure.code).toBe('ERR_CACHE_BODY_INCOMPLETE');
    }
    expect(await objectKeys('cache/ws2/')).toEqual([]);
  });

  it('stores nothing when the body fails midway (a client gone), and passes that failure on', async () => {
    const gone = new Error('client went away');
    async function* broken(): AsyncIterable<Buffer> {
      yield randomBytes(PART);
      yield randomBytes(MiB);
      throw gone;
    }
    await expect(store.put('ws3/shared/cut.u1', broken(), PART + 4 * MiB)).rejects.toBe(gone);
    expect(await objectKeys('cache/ws3/')).toEqual([]);
  });

  it('refuses keys of an unexpected shape before any request', async () => {
    for (const key of ['../escape', 'ws/../x', '/abs', 'ws//x']) {
      const failure = await store.open(key).catch((err: unknown) => err);
      expect(isSealedCacheError(failure) && failure.code).toBe('ERR_INTERNAL');
    }
  });

  it('lists only what this server could have written under its prefix, and removes what it is told to', async () => {
    const other = { bucket: location.bucket, prefix: 'inventory/' };
    const backend = s3BlobBackend({ location: other, endpoint: s3.endpoint, forcePathStyle: true }, client);
    await backend.store.put('ws4/shared/a.u1', chunks(Buffer.from('a')), 1);
    await client.send(new PutObjectCommand({ Bucket: location.bucket, Key: 'inventory/.hidden', Body: 'x' }));
    await client.send(new PutObjectCommand({ Bucket: location.bucket, Key: 'inventory-not-mine/x', Body: 'x' }));
    const listed: string[] = [];
    for await (const blob of backend.inventory.blobs()) {
      listed.push(blob.name);
      expect(Math.abs(blob.modifiedAt - Date.now())).toBeLessThan(10 * 60_000);
    }
    expect(listed).toEqual(['ws4/shared/a.u1']);
    await backend.inventory.removeBlob('ws4/shared/a.u1');
    expect(await objectKeys('inventory/')).toEqual(['inventory/.hidden']);
  });

  it('probes a write and leaves no probe object behind', async () => {
    const backend = s3BlobBackend({ location: { bucket: location.bucket, prefix: 'probe/' } }, client);
    await backend.probe();
    expect(await objectKeys('probe/')).toEqual([]);
  });

  it('names a refused request by its S3 code only, never with a credential', async () => {
    const secret = 'wrong-secret-key-value-0123456789';
    const wrong = s3ClientOf({
      location,
      endpoint: s3.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: 'AKIAWRONGKEYID000000', secretAccessKey: secret },
    });
    try {
      const backend = s3BlobBackend({ location, endpoint: s3.endpoint }, wrong);
      const failure = await backend.probe().catch((err: unknown) => err);
      expect(isSealedCacheError(failure) && failure.code).toBe('ERR_BLOB_STORE_UNAVAILABLE');
      const text = JSON.stringify(failure, Object.getOwnPropertyNames(failure));
      expect(text).toMatch(/InvalidAccessKeyId|SignatureDoesNotMatch/);
      expect(text).not.toContain(secret);
      expect(text).not.toContain('AKIAWRONGKEYID000000');
      expect((failure as Error).cause).toBeUndefined();
    } finally {
      wrong.destroy();
    }
  });
});
