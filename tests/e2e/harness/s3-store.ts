/**
 * A real S3-protocol server on loopback for tests: s3rver (S3's REST API over HTTP, objects on disk,
 * signatures checked against its one account). Not AWS: docs/testing.md says what that leaves untested.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';

/** s3rver's built-in account; requests signed with anything else are refused. */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

export interface RunningS3 {
  endpoint: string;
  bucket: string;
  /** The env a server process needs to reach it through the SDK's default credential chain. */
  env: Record<string, string>;
  /** Every request it answered so far, as `METHOD /bucket/key?queryNames`, in order of arrival. */
  requests: string[];
  /** A client of the tests' own, signed with s3rver's account, to look behind the server's back. */
  client: S3Client;
  /** The keys of the objects under `prefix` (one page is plenty for a test), sorted. */
  objectKeys(prefix: string): Promise<string[]>;
  /**
   * The object keys of multipart uploads begun and neither completed nor aborted, sorted. s3rver does not
   * implement ListMultipartUploads, so this reads its folder of uploads (one `<uploadId>/key` file each).
   */
  unfinishedUploadKeys(): string[];
  /** `serve` flags for the bucket under `prefix`. */
  serveArgs(prefix: string): string[];
  stop(): Promise<void>;
}

/** `parentDir`: where its folder of objects goes (default: the system temp folder). */
export async function startS3(bucket = 'nxsc-test', parentDir = tmpdir()): Promise<RunningS3> {
  const directory = mkdtempSync(join(parentDir, 'nxsc-s3rver-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    directory,
    silent: true,
    configureBuckets: [{ name: bucket, configs: [] }],
  });
  const requests: string[] = [];
  // s3rver is a Koa app: a middleware put first sees every request before its router does.
  (server as unknown as { middleware: unknown[] }).middleware.unshift(
    async (ctx: { method: string; path: string; query: Record<string, unknown> }, next: () => Promise<void>) => {
      const names = Object.keys(ctx.query).filter((name) => name !== 'x-id');
      requests.push(`${ctx.method} ${ctx.path}?${names.sort().join('&')}`);
      await next();
    },
  );
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: S3RVER_CREDENTIALS,
  });
  return {
    endpoint,
    bucket,
    requests,
    client,
    objectKeys: async (prefix) => {
      const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
      return (page.Contents ?? []).map((o) => o.Key ?? '').sort();
    },
    unfinishedUploadKeys: () => {
      const uploads = join(directory, bucket, '._S3rver_uploads');
      if (!existsSync(uploads)) return [];
      return readdirSync(uploads)
        .map((uploadId) => readFileSync(join(uploads, uploadId, 'key'), 'utf8'))
        .sort();
    },
    env: {
      AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
      AWS_REGION: 'us-east-1',
    },
    serveArgs: (prefix) => [
      '--blob-store',
      `s3://${bucket}/${prefix}`,
      '--s3-endpoint',
      endpoint,
      '--s3-force-path-style',
    ],
    stop: async () => {
      client.destroy();
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
