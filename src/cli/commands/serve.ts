import { type Command, Option } from 'commander';
import { isSealedCacheError } from '../../errors';
import { initialiseAdmin } from '../../server/admin-init';
import { describeMigrated } from '../../server/offline-store';
import { buildServer } from '../../server/app';
import type { CliIo } from '../cli-io';
import { describeNewAdmin } from './admin';
import { resolveServeConfig } from '../../server/config/config-file';
import { CONFIG_OPTIONS, envVarOf, flagOf } from '../../server/config/config-options';
import type { CommandContext } from '../command-context';

/** Commander's camelCase option names are the config keys, so flags map onto the table one to one. */
function flagValues(options: Record<string, unknown>): Partial<Record<string, string>> {
  const flags: Partial<Record<string, string>> = {};
  for (const { key } of CONFIG_OPTIONS) {
    const value = options[key];
    if (typeof value === 'string') flags[key] = value;
    if (value === true) flags[key] = 'true';
  }
  return flags;
}

/** `admin init --if-needed`, in the same process, before the server takes the data dir's lock. */
async function initAdminIfNeeded(dataDir: string, databaseUrl: string | undefined, io: CliIo): Promise<void> {
  try {
    // The server's own start-up log would then say "up to date": the upgrade is said here.
    const onMigrated = (migrations: readonly string[]) => io.stderr(`${describeMigrated(migrations)}\n`);
    const created = await initialiseAdmin({ dataDir, databaseUrl, onMigrated });
    io.stdout(`${describeNewAdmin(created)}\n`);
  } catch (err) {
    if (!isSealedCacheError(err, 'ERR_ADMIN_ALREADY_INITIALISED')) throw err;
  }
}

export function registerServeCommand(program: Command, ctx: CommandContext): void {
  const serve = program
    .command('serve')
    .description(
      'run the cache server (flags > NX_SEALED_CACHE_SERVER_* env vars > --config file > defaults; stops cleanly on SIGINT/SIGTERM)',
    )
    .option(
      '--config <file>',
      'JSON config file with any of the options below by their camelCase names (env NX_SEALED_CACHE_SERVER_CONFIG)',
    );
  serve.option(
    '--init-admin',
    'first create the first administrator when the data directory has none, and print its token once (for containers, where `admin init` cannot run beside the server)',
  );
  for (const option of CONFIG_OPTIONS) {
    const takesValue = option.kind === 'boolean' ? '' : ' <value>';
    serve.addOption(new Option(`${flagOf(option.key)}${takesValue}`, `${option.help} (env ${envVarOf(option.key)})`));
  }
  serve.action(
    ctx.action(async ({ options, io }) => {
      const config = resolveServeConfig({
        flags: flagValues(options),
        env: io.env,
        configPath: options.config as string | undefined,
      });
      if (options.initAdmin === true) await initAdminIfNeeded(config.dataDir, config.databaseUrl, io);
      const server = await buildServer(config);
      io.stdout(`nx-sealed-cache listening on ${server.url}\n`);
      if (server.firstSignIn !== undefined) {
        // Only on this terminal, never in the log: the link signs in as the administrator until a password is set.
        const minutes = Math.round((server.firstSignIn.expiresAt.getTime() - Date.now()) / 60_000);
        io.stdout(
          [
            `admin page: ${server.url}/`,
            `sign in as ${server.firstSignIn.userName} and set a password with this one-time link (valid ${minutes} minutes, works once):`,
            `  ${server.url}${server.firstSignIn.path}`,
            '',
          ].join('\n'),
        );
      }
      if (!server.hasAdmin) {
        io.stdout(
          `no administrator yet: stop the server and run \`nx-sealed-cache admin init --data-dir ${config.dataDir}\` to create one\n`,
        );
      }
      const signal = await io.waitForShutdown();
      await server.close(typeof signal === 'string' ? { signal } : {});
    }),
  );
}
