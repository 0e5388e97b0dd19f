import type { Command } from 'commander';
import { formatBytes } from '../../format-bytes';
import { runBackup } from '../backup-client';
import type { CommandContext } from '../command-context';
import { printResult } from '../output';

export function registerBackupCommand(program: Command, ctx: CommandContext): void {
  program
    .command('backup')
    .description(
      'a consistent, verified copy of a serving server (database and blobs) in a new folder that `serve --data-dir` starts on; needs a server admin token',
    )
    .requiredOption('--to <dir>', 'the folder to create (it must not exist)')
    .option(
      '--metadata-only',
      'only the database, for blobs kept in an S3 bucket with its own versioning or replication',
    )
    .action(
      ctx.action(async ({ options, globals, io }) => {
        const result = await runBackup({
          url: globals.url,
          token: globals.token,
          to: options.to as string,
          includeBlobs: options.metadataOnly !== true,
          progress: (line) => io.stderr(line),
        });
        printResult(io, globals, result, (r) =>
          [
            `backup written to ${r.to}: ${r.entries} entries, ${formatBytes(r.bytes)}${r.blobs ? ', every blob checked against its entry (size and SHA-256)' : ' (database only)'}`,
            ...(r.droppedWithoutBlob > 0
              ? [`${r.droppedWithoutBlob} entries left out: retention removed their blobs while the backup ran`]
              : []),
          ].join('\n'),
        );
      }),
    );
}
