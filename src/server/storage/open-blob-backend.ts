/** The blob backend a server configuration names: the data dir's folder, or an S3-compatible bucket. */
import { SealedCacheError } from '../../errors';
import type { ServerConfig } from '../config/server-config';
import type { DataDirLayout } from '../data-dir';
import type { BlobBackend } from './blob-store';
import { folderBlobBackend } from './fs-blob-store';
import { s3BlobBackend } from './s3-blob-store';
import { parseS3Location } from './s3-location';

type StorageConfig = Pick<
  ServerConfig,
  'blobStore' | 's3Endpoint' | 's3Region' | 's3ForcePathStyle' | 'maxConnections'
>;

export function openBlobBackend(config: StorageConfig, layout: DataDirLayout): BlobBackend {
  if (config.blobStore === undefined) return folderBlobBackend(layout.blobsDir, layout.tmpDir);
  return s3BlobBackend({
    location: parseS3Location(config.blobStore),
    endpoint: config.s3Endpoint,
    region: config.s3Region,
    forcePathStyle: config.s3ForcePathStyle,
    // Each client connection streams at most one blob; a few more for probes and retention.
    maxSockets: (config.maxConnections === 0 ? 2000 : config.maxConnections) + 16,
  });
}

/** Start-up refuses a store it cannot write to, rather than turning every upload into a refusal. */
export async function assertBlobBackendWritable(backend: BlobBackend): Promise<void> {
  try {
    await backend.probe();
  } catch (err) {
    const why = err instanceof SealedCacheError ? err.message : ((err as NodeJS.ErrnoException).code ?? 'failed');
    throw new SealedCacheError(
      'ERR_BLOB_STORE_UNAVAILABLE',
      `the blob store ${backend.description} takes no write: ${why}`,
    );
  }
}
