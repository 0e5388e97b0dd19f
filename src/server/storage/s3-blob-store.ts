/**
 * Blobs as objects in an S3-compatible bucket, under one prefix that belongs to this server alone.
 * Only the operations every S3-compatible store has: PutObject, multipart upload, GetObject,
 * DeleteObject, ListObjectsV2. No conditional writes: each upload has its own key (the caller's
 * upload id), and the metadata row written after the upload is the commit point.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Readable, Transform, pipeline } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { SealedCacheError } from '../../errors';
import {
  type BlobBackend,
  type BlobInventory,
  type BlobStore,
  type InventoryFile,
  type MissingBlob,
  type OpenedBlob,
  type StoredBlob,
  assertBlobKey,
} from './blob-store';
import { type S3Location, describeS3Location } from './s3-location';

/** S3's smallest part is 5 MiB; 8 MiB parts, two in flight, bound one upload's memory to about 24 MiB. */
export const DEFAULT_PART_SIZE = 8 * 1024 ** 2;
const DEFAULT_QUEUE_SIZE = 2;

export interface S3BlobStoreOptions {
  partSize?: number;
  queueSize?: number;
}

/**
 * An S3 failure as a code and a status only. The SDK's exceptions carry every field of the error
 * document (the access key id, the canonical request, the string to sign), so none goes to a log.
 */
export function s3Fault(operation: string, err: unknown): SealedCacheError {
  const e = err as { name?: unknown; $metadata?: { httpStatusCode?: unknown } };
  const name = typeof e.name === 'string' && /^[A-Za-z][A-Za-z0-9.]{0,63}$/.test(e.name) ? e.name : 'Error';
  const status = typeof e.$metadata?.httpStatusCode === 'number' ? ` (HTTP ${e.$metadata.httpStatusCode})` : '';
  return new SealedCacheError('ERR_BLOB_STORE_UNAVAILABLE', `S3 ${operation} failed: ${name}${status}`);
}

function isMissingKey(err: unknown): boolean {
  const e = err as { name?: unknown; $metadata?: { httpStatusCode?: unknown } };
  if (e.name === 'NoSuchKey' || e.name === 'NotFound') return true;
  return e.$metadata?.httpStatusCode === 404 && e.name !== 'NoSuchBucket';
}

export class S3BlobStore implements BlobStore {
  private readonly partSize: number;
  private readonly queueSize: number;

  constructor(
    private readonly client: S3Client,
    private readonly location: S3Location,
    options: S3BlobStoreOptions = {},
  ) {
    this.partSize = options.partSize ?? DEFAULT_PART_SIZE;
    this.queueSize = options.queueSize ?? DEFAULT_QUEUE_SIZE;
  }

  objectKey(key: string): string {
    assertBlobKey(key);
    return `${this.location.prefix}${key}`;
  }

  async put(key: string, body: AsyncIterable<Buffer>, expectedSize: number): Promise<StoredBlob> {
    const objectKey = this.objectKey(key);
    const sha256 = createHash('sha256');
    let size = 0;
    let refusal: SealedCacheError | undefined;
    // Counts and hashes on the way; a wrong length fails the stream, so the upload is never completed.
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        size += chunk.length;
        if (size > expectedSize) {
          refusal = new SealedCacheError(
            'ERR_CACHE_BODY_INCOMPLETE',
            `more than the announced ${expectedSize} bytes arrived`,
          );
          done(refusal);
          return;
        }
        sha256.update(chunk);
        done(null, chunk);
      },
      flush(done) {
        if (size !== expectedSize) {
          refusal = new SealedCacheError(
            'ERR_CACHE_BODY_INCOMPLETE',
            `${size} of the announced ${expectedSize} bytes arrived`,
          );
          done(refusal);
          return;
        }
        done();
      },
    });
    let sourceError: unknown;
    pipeline(Readable.from(body), counter, (err) => {
      if (err !== undefined && err !== null && err !== refusal) sourceError = err;
    });
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.location.bucket, Key: objectKey, Body: counter, ContentType: 'application/octet-stream' },
      partSize: this.partSize,
      queueSize: this.queueSize,
      leavePartsOnError: false,
    });
    try {
      await upload.done();
    } catch (err) {
      if (refusal !== undefined) throw refusal;
      // A body cut short by the client is the route's to name (it knows whether the request completed).
      if (sourceError !== undefined) throw sourceError;
      // The object may exist if only the answer was lost; without a row it is an orphan either way.
      await this.delete(key).catch(() => undefined);
      throw s3Fault('upload', err);
    }
    return { size, sha256: sha256.digest('hex') };
  }

  async open(key: string): Promise<OpenedBlob | MissingBlob> {
    const objectKey = this.objectKey(key);
    let answer;
    try {
      answer = await this.client.send(new GetObjectCommand({ Bucket: this.location.bucket, Key: objectKey }));
    } catch (err) {
      if (isMissingKey(err)) return { found: false };
      throw s3Fault('read', err);
    }
    const body = answer.Body;
    if (!(body instanceof Readable) || answer.ContentLength === undefined) {
      if (body instanceof Readable) body.destroy();
      throw new SealedCacheError('ERR_BLOB_STORE_UNAVAILABLE', 'S3 read answered without a body or a length');
    }
    return {
      found: true,
      size: answer.ContentLength,
      stream: () => body,
      close: async () => {
        body.destroy();
      },
    };
  }

  async delete(key: string): Promise<void> {
    const objectKey = this.objectKey(key);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.location.bucket, Key: objectKey }));
    } catch (err) {
      if (isMissingKey(err)) return;
      throw s3Fault('delete', err);
    }
  }
}

/**
 * Every object under the prefix with its age. Objects whose names this server could not have written
 * are not listed, so retention never removes them. Unfinished multipart uploads are not listed either:
 * ListMultipartUploads is missing from several S3-compatible stores, so a bucket lifecycle rule
 * (AbortIncompleteMultipartUpload) cleans those (docs/operations.md).
 */
export class S3BlobInventory implements BlobInventory {
  constructor(
    private readonly client: S3Client,
    private readonly location: S3Location,
    private readonly store: S3BlobStore,
  ) {}

  async *blobs(): AsyncIterable<InventoryFile> {
    let continuation: string | undefined;
    do {
      let page;
      try {
        page = await this.client.send(
          new ListObjectsV2Command({
            Bucket: this.location.bucket,
            Prefix: this.location.prefix,
            ContinuationToken: continuation,
          }),
        );
      } catch (err) {
        throw s3Fault('list', err);
      }
      for (const object of page.Contents ?? []) {
        const name = object.Key?.slice(this.location.prefix.length);
        if (name === undefined || !isBlobKey(name) || object.LastModified === undefined) continue;
        yield { name, modifiedAt: object.LastModified.getTime(), size: object.Size ?? 0 };
      }
      continuation = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (continuation !== undefined);
  }

  // eslint-disable-next-line require-yield
  async *tmpFiles(): AsyncIterable<InventoryFile> {
    return;
  }

  removeBlob(key: string): Promise<void> {
    return this.store.delete(key);
  }

  async removeTmp(): Promise<void> {
    return;
  }
}

function isBlobKey(name: string): boolean {
  try {
    assertBlobKey(name);
    return true;
  } catch {
    return false;
  }
}

export interface S3BackendOptions extends S3BlobStoreOptions {
  location: S3Location;
  endpoint?: string;
  region?: string;
  forcePathStyle?: boolean;
  /** Open sockets to the store; each download being streamed holds one. */
  maxSockets?: number;
  /** Tests pass credentials; the server leaves them to the SDK's default chain (env, files, instance roles). */
  credentials?: S3ClientConfig['credentials'];
}

export function s3ClientOf(options: S3BackendOptions): S3Client {
  return new S3Client({
    endpoint: options.endpoint,
    // Most S3-compatible stores ignore the region, but the SDK needs one to sign.
    region: options.region ?? (options.endpoint !== undefined ? 'us-east-1' : undefined),
    forcePathStyle: options.forcePathStyle ?? false,
    credentials: options.credentials,
    // Checksums only where S3 requires them: the newer default trailers are unknown to many compatible stores.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: {
      connectionTimeout: 10_000,
      httpAgent: { keepAlive: true, maxSockets: options.maxSockets ?? 256 },
      httpsAgent: { keepAlive: true, maxSockets: options.maxSockets ?? 256 },
    },
  });
}

export function s3BlobBackend(options: S3BackendOptions, client: S3Client = s3ClientOf(options)): BlobBackend {
  const store = new S3BlobStore(client, options.location, options);
  return {
    kind: 's3',
    description: describeS3Location(options.location, options.endpoint),
    store,
    inventory: new S3BlobInventory(client, options.location, store),
    probe: async () => {
      const key = `${options.location.prefix}ready-probe/${randomBytes(6).toString('hex')}`;
      try {
        await client.send(new PutObjectCommand({ Bucket: options.location.bucket, Key: key, Body: 'ok' }));
        await client.send(new DeleteObjectCommand({ Bucket: options.location.bucket, Key: key }));
      } catch (err) {
        throw s3Fault('probe write', err);
      }
    },
    close: async () => {
      client.destroy();
    },
  };
}
