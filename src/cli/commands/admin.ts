import type { Command } from 'commander';
import { isSealedCacheError } from '../../errors';
import { initialiseAdmin, resetAdminToken } from '../../server/admin-init';
import { describeMigrated } from '../../server/offline-store';
import type { CommandContext } from '../command-context';
import { printResult } from '../output';

/** What `admin init` (and `serve --init-admin`) prints once: the administrator and their token. */
export function describeNewAdmin(created: { user: { id: string; name: string }; token: string }): string {
  return [
    `created administrator ${created.user.name} (${created.user.id})`,
    `admin token (shown once, store it safely):`,
    created.token,
    `use it with the admin CLI: export NX_SEALED_CACHE_ADMIN_TOKEN=<the token above>`,
  ].join('\n');
}

export function registerAdminCommands(program: Command, ctx: CommandContext): void {
  const admin = program.command('admin').description('server administration on the data directory itself');
  admin
    .command('init')
    .description('create the first administrator and print its token once (offline: the server must not be running)')
    .requiredOption('--data-dir <dir>', 'the server data directory')
    .option(
      '--database-url <url>',
      'the PostgreSQL metadata database the servers use, if any (env NX_SEALED_CACHE_SERVER_DATABASE_URL)',
    )
    .option('--name <name>', 'the administrator user name', 'admin')
    .option('--if-needed', 'do nothing (and succeed) when the data directory already has an administrator')
    .action(
      ctx.action(async ({ options, globals, io }) => {
        const result = await initialiseAdmin({
          dataDir: options.dataDir as string,
          databaseUrl: (options.databaseUrl as string | undefined) ?? io.env.NX_SEALED_CACHE_SERVER_DATABASE_URL,
          name: options.name as string,
          onMigrated: (migrations) => io.stderr(`${describeMigrated(migrations)}\n`),
        }).catch((err: unknown) => {
          if (options.ifNeeded === true && isSealedCacheError(err, 'ERR_ADMIN_ALREADY_INITIALISED')) return undefined;
          throw err;
        });
        if (result === undefined) {
          printResult(
            io,
            globals,
            { alreadyInitialised: true },
            () => `${options.dataDir as string} already has an administrator`,
          );
          return;
        }
        printResult(io, globals, { user: result.user, token: result.token }, describeNewAdmin);
      }),
    );
  admin
    .command('reset-token')
    .description(
      "recover a lost admin token: revoke the administrator's admin tokens and print a new one once (offline: on the server machine, with the server stopped)",
    )
    .requiredOption('--data-dir <dir>', 'the server data directory')
    .option('--name <name>', 'the administrator (default: the only one)')
    .action(
      ctx.action(async ({ options, globals, io }) => {
        const result = await resetAdminToken({
          dataDir: options.dataDir as string,
          ...(typeof options.name === 'string' ? { name: options.name } : {}),
          onMigrated: (migrations) => io.stderr(`${describeMigrated(migrations)}\n`),
        });
        printResult(
          io,
          globals,
          { user: result.user, token: result.token, revokedTokenIds: result.revokedTokenIds },
          (r) =>
            [
              `revoked ${r.revokedTokenIds.length} earlier admin token(s) of ${r.user.name}`,
              `new admin token (shown once, store it safely):`,
              r.token,
            ].join('\n'),
        );
      }),
    );
}
