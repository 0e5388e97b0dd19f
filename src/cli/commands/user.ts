import type { Command } from 'commander';
import type { CommandContext } from '../command-context';
import { printResult, table } from '../output';
import { readSecretInput } from './login';

interface UserJson {
  id: string;
  name: string;
  bot: boolean;
}

export function registerUserCommands(program: Command, ctx: CommandContext): void {
  const user = program.command('user').description('users (people and bots)');
  user
    .command('create <name>')
    .description('create a user (server admins)')
    .option('--bot', 'a machine user, for tokens that prime the cache')
    .action(
      ctx.action(async ({ args, options, globals, io, client }) => {
        const created = await client().call<UserJson>('POST', '/users', { name: args[0], bot: options.bot === true });
        printResult(io, globals, created, (u) => `created ${u.bot ? 'bot ' : ''}user ${u.name} (${u.id})`);
      }),
    );
  user
    .command('set-password <name>')
    .description("set a user's password for the admin web page (piped stdin, or a hidden prompt); ends their web sessions")
    .action(
      ctx.action(async ({ args, globals, io, client }) => {
        const password = await readSecretInput({ stdin: process.stdin, err: (line) => io.stderr(`${line}\n`) }, `New password for ${args[0]}: `);
        await client().call('POST', `/users/${encodeURIComponent(args[0])}/password`, { password });
        printResult(io, globals, { user: args[0], passwordSet: true, sessionsEnded: true }, () => `password set for ${args[0]}; their web sessions were ended`);
      }),
    );
  user
    .command('list')
    .description('all users (server admins)')
    .action(
      ctx.action(async ({ globals, io, client }) => {
        printResult(io, globals, await client().call<UserJson[]>('GET', '/users'), (l) => table(l as unknown as Record<string, unknown>[], ['id', 'name', 'bot']));
      }),
    );
}
