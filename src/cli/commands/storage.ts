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
      "copy a stopped data directory's blobs into an S3-compatible bucket and its metadata into PostgreSQL, resumable, then verify: every object read back against its entry (size and SHA-256), every table's rows counted and checksummed",
    )
    .requiredOption('--data-dir <dir>', 'the server data directory (its server must be stopped)')
    .option('--blob-store <url>', 'the target bucket, s3://bucket/prefix, as `serve --blob-store` will use it')
    .option(
      '--database-url <url>',
      'the target PostgreSQL database, postgres://…, as `serve --database-url` will use it (env NX_SEALED_CACHE_SERVER_DATABASE_URL)',
    )
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
        const databaseUrl =
          (options.databaseUrl as string | undefined) ?? io.env.NX_SEALED_CACHE_SERVER_DATABASE_URL ?? undefined;
        const result = await migrateStorage({
          dataDir: options.dataDir as string,
          target: { ...parsed.data, maxConnections: 0 },
          ...(databaseUrl ? { databaseUrl } : {}),
          progress: (line) => io.stderr(line),
        });
        const { blobs, metadata } = result;
        if (blobs && blobs.failed.length > 0)
          throw new SealedCacheError(
            'ERR_MIGRATE_VERIFY_FAILED',
            `${blobs.failed.length} of ${blobs.entries} entries have no matching object in ${blobs.target} (missing or changed in the data directory; the rest were copied and verified${result.metadataSkipped ? '; no metadata was copied' : ''}): ${blobs.failed.slice(0, 10).join(', ')}`,
          );
        if (metadata && metadata.failed.length > 0)
          throw new SealedCacheError(
            'ERR_MIGRATE_VERIFY_FAILED',
            `${metadata.failed.length} of ${metadata.tables} tables differ between the data directory and ${metadata.target}: ${metadata.failed.join(', ')}`,
          );
        printResult(io, globals, result, () =>
          [
            ...(blobs
              ? [
                  `blobs: ${blobs.copied} copied, ${blobs.alreadyThere} already there, ${blobs.verified} of ${blobs.entries} verified (${formatBytes(blobs.bytes)}) in ${blobs.target}`,
                ]
              : []),
            ...(metadata
              ? [
                  `metadata: ${metadata.copied} rows copied, ${metadata.alreadyThere} already there, ${metadata.verified} of ${metadata.rows} verified in ${metadata.tables} tables of ${metadata.target}`,
                ]
              : []),
            `start the server with${blobs ? ` --blob-store ${parsed.data.blobStore ?? ''}` : ''}${metadata ? ' --database-url …' : ''} (the data directory is left as it was)`,
          ].join('\n'),
        );
      }),
    );
}
