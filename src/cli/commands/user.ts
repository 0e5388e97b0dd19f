import type { Command } from 'commander';
import type { CommandContext } from '../command-context';
import { UserJson } from '../../protocol';
import { printResult, table } from '../output';
import { localServerCommands, serverNotInstalled } from '../server-gateway';
import { readSecretInput } from './login';

/** Two secrets: from a terminal, two hidden prompts; piped, the first two lines. */
async function readPasswordChange(
  io: Parameters<typeof readSecretInput>[0],
  name: string,
): Promise<{ currentPassword: string; password: string }> {
  if (!io.stdin.isTTY) {
    const [currentPassword = '', password = ''] = (await readSecretInput(io, '')).split(/\r?\n/);
    return { currentPassword, password };
  }
  const currentPassword = await readSecretInput(io, `Current password of ${name}: `);
  return { currentPassword, password: await readSecretInput(io, `New password for ${name}: `) };
}

export function registerUserCommands(program: Command, ctx: CommandContext): void {
  const user = program.command('user').description('users (people and bots)');
  user
    .command('create <name>')
    .description('create a user (server admins)')
    .option('--bot', 'a machine user, for tokens that prime the cache')
    .option('--org <org>', 'with --bot: the one organisation that owns the bot (it becomes a member)')
    .action(
      ctx.action(async ({ args, options, globals, io, client }) => {
        const created = await client().read(UserJson, 'POST', '/users', {
          name: args[0],
          bot: options.bot === true,
          ...(options.org === undefined ? {} : { org: options.org }),
        });
        printResult(io, globals, created, (u) => `created ${u.bot ? 'bot ' : ''}user ${u.name} (${u.id})`);
      }),
    );
  user
    .command('set-password <name>')
    .description(
      "change your own web-page password (asks the current one first; piped stdin: current and new on two lines), or with --data-dir set anyone's on the stopped server (server admins); ends their web sessions",
    )
    .option(
      '--data-dir <dir>',
      "the server's data directory: set the password offline, on the server machine, with the server stopped",
    )
    .action(
      ctx.action(async ({ args, options, globals, io, client }) => {
        const promptIo = { stdin: process.stdin, err: (line: string) => io.stderr(`${line}\n`) };
        const done = () =>
          printResult(
            io,
            globals,
            { user: args[0], passwordSet: true, sessionsEnded: true },
            () => `password set for ${args[0]}; their web sessions were ended`,
          );
        if (typeof options.dataDir === 'string') {
          // runCli hands this form to nx-sealed-cache-server when this copy has no server.
          const server = localServerCommands();
          if (!server) throw serverNotInstalled('user set-password --data-dir');
          await server.setPasswordOffline({
            dataDir: options.dataDir,
            user: args[0],
            password: await readSecretInput(promptIo, `New password for ${args[0]}: `),
          });
          return done();
        }
        const { currentPassword, password } = await readPasswordChange(promptIo, args[0]);
        await client().call('POST', `/users/${encodeURIComponent(args[0])}/password`, { currentPassword, password });
        done();
      }),
    );
  user
    .command('list')
    .description('all users (server admins)')
    .action(
      ctx.action(async ({ globals, io, client }) => {
        printResult(io, globals, await client().read(UserJson.array(), 'GET', '/users'), (l) =>
          table(l as unknown as Record<string, unknown>[], ['id', 'name', 'bot']),
        );
      }),
    );
}
