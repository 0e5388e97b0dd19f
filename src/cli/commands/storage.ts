import type { Command } from 'commander';
import { z } from 'zod';
import { SealedCacheError } from '../../errors';
import { formatBytes } from '../../format-bytes';
import { storageConfigFields } from '../../server/config/storage-config';
import { migrateStorage } from '../../server/storage/storage-migrate';
import type { CommandContext } from '../command-context';
import { printResult } from '../output';

const Target = z.object(storageConfigFields);

export function registerStorageCommands(program: Command, ctx: CommandContext): void {
  const storage = program.command('storage').description("moving a data directory's storage (the server stopped)");
  storage
    .command('migrate')
    .description(
      "copy a stopped data directory's blobs into an S3-compatible bucket, resumable, then read every one back and check it against its entry (size and SHA-256)",
    )
    .requiredOption('--data-dir <dir>', 'the server data directory (its server must be stopped)')
    .requiredOption('--blob-store <url>', 'the target bucket, s3://bucket/prefix, as `serve --blob-store` will use it')
    .option('--s3-endpoint <url>', 'URL of an S3-compatible store (unset: AWS S3)')
    .option('--s3-region <region>', 'region to sign S3 requests for')
    .option('--s3-force-path-style', 'address the bucket in the path, as most S3-compatible stores want')
    .action(
      ctx.action(async ({ options, globals, io }) => {
        const parsed = Target.safeParse({
          blobStore: options.blobStore,
          s3Endpoint: options.s3Endpoint,
          s3Region: options.s3Region,
          s3ForcePathStyle: options.s3ForcePathStyle === true,
        });
        if (!parsed.success)
          throw new SealedCacheError('ERR_CONFIG_INVALID', `invalid target: ${z.prettifyError(parsed.error)}`);
        const result = await migrateStorage({
          dataDir: options.dataDir as string,
          target: { ...parsed.data, maxConnections: 0 },
          progress: (line) => io.stderr(line),
        });
        const { blobs } = result;
        if (blobs.failed.length > 0)
          throw new SealedCacheError(
            'ERR_MIGRATE_VERIFY_FAILED',
            `${blobs.failed.length} of ${blobs.entries} entries have no matching object in ${blobs.target} (missing or changed in the data directory; the rest were copied and verified): ${blobs.failed.slice(0, 10).join(', ')}`,
          );
        printResult(io, globals, result, () =>
          [
            `blobs: ${blobs.copied} copied, ${blobs.alreadyThere} already there, ${blobs.verified} of ${blobs.entries} verified (${formatBytes(blobs.bytes)}) in ${blobs.target}`,
            `start the server with --blob-store ${parsed.data.blobStore ?? ''} (the local blobs/ folder is left as it was)`,
          ].join('\n'),
        );
      }),
    );
}
