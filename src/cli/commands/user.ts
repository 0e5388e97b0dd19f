import type { Command } from 'commander';
import type { CommandContext } from '../command-context';
import { printResult, table } from '../output';

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
    .command('list')
    .description('all users (server admins)')
    .action(
      ctx.action(async ({ globals, io, client }) => {
        printResult(io, globals, await client().call<UserJson[]>('GET', '/users'), (l) => table(l as unknown as Record<string, unknown>[], ['id', 'name', 'bot']));
      }),
    );
}
