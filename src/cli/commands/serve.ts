import { type Command, Option } from 'commander';
import { buildServer } from '../../server/app';
import { DEFAULT_DATA_DIR, DEFAULT_HOST, DEFAULT_PORT, parseByteSize } from '../../server/config';
import type { CommandContext } from '../command-context';
import { parsePort } from '../option-parsers';

export function registerServeCommand(program: Command, ctx: CommandContext): void {
  program
    .command('serve')
    .description('run the cache server (logs JSON lines; stops cleanly on SIGINT/SIGTERM)')
    .option('--data-dir <dir>', 'where metadata and blobs live', DEFAULT_DATA_DIR)
    .option('--host <host>', 'address to listen on', DEFAULT_HOST)
    .addOption(new Option('--port <port>', 'port to listen on (0 = a free port)').default(DEFAULT_PORT).argParser(parsePort))
    .addOption(new Option('--max-artifact-size <bytes>', 'largest accepted artifact, e.g. 2GiB').argParser(parseByteSize))
    .action(
      ctx.action(async ({ options, io }) => {
        const server = await buildServer({
          dataDir: options.dataDir as string,
          host: options.host as string,
          port: options.port as number,
          maxArtifactSize: options.maxArtifactSize as number | undefined,
        });
        io.stdout(`nx-sealed-cache listening on ${server.url}\n`);
        if (!server.hasAdmin) {
          io.stdout(`no administrator yet: run \`nx-sealed-cache admin init --data-dir ${options.dataDir as string}\` (in another terminal is fine) to create one\n`);
        }
        await io.waitForShutdown();
        await server.close();
      }),
    );
}
