import type { Command } from 'commander';
import type { CommandContext } from '../command-context';
import { OrganisationJson } from '../../protocol';
import { fields, printResult, table } from '../output';

export function registerOrgCommands(program: Command, ctx: CommandContext): void {
  const org = program.command('org').description('organisations');
  org
    .command('create <name>')
    .description('create an organisation (server admins)')
    .option('--public', 'non-members may read its workspaces with a personal token')
    .action(
      ctx.action(async ({ args, options, globals, io, client }) => {
        const created = await client().read(OrganisationJson, 'POST', '/orgs', {
          name: args[0],
          public: options.public === true,
        });
        printResult(
          io,
          globals,
          created,
          (o) => `created organisation ${o.name} (${o.id})${o.public ? ', public' : ''}`,
        );
      }),
    );
  org
    .command('list')
    .description('organisations you can see')
    .action(
      ctx.action(async ({ globals, io, client }) => {
        printResult(io, globals, await client().read(OrganisationJson.array(), 'GET', '/orgs'), (orgs) =>
          table(orgs as unknown as Record<string, unknown>[], ['id', 'name', 'public']),
        );
      }),
    );
  org
    .command('get <org>')
    .description('one organisation, by id or name')
    .action(
      ctx.action(async ({ args, globals, io, client }) => {
        printResult(
          io,
          globals,
          await client().read(OrganisationJson, 'GET', `/orgs/${encodeURIComponent(args[0])}`),
          (o) => fields({ ...o }),
        );
      }),
    );
}
