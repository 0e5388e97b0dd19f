import type { Command } from 'commander';
import type { CommandContext } from '../command-context';
import { OrganisationJson, SignInPolicyJson } from '../../protocol';
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
  const policy = org.command('sign-in-policy').description("an organisation's web sign-in policy (docs/sso.md)");
  const describePolicy = (p: SignInPolicyJson): string =>
    [
      `organisation ${p.org}`,
      `  required provider: ${p.requiredProvider ?? 'none (passwords and any provider)'}`,
      `  join by verified email domain: ${p.joinDomains.length === 0 ? 'none' : p.joinDomains.map((d) => `${d.domain} as ${d.role}`).join(', ')}`,
      ...(p.recheckInterval === undefined ? [] : [`  re-check SSO identities every: ${p.recheckInterval}`]),
    ].join('\n');
  policy
    .command('get <org>')
    .description('show the policy (admins of the organisation)')
    .action(
      ctx.action(async ({ args, globals, io, client }) => {
        const shown = await client().read(
          SignInPolicyJson,
          'GET',
          `/orgs/${encodeURIComponent(args[0])}/sign-in-policy`,
        );
        printResult(io, globals, shown, describePolicy);
      }),
    );
  policy
    .command('set <org>')
    .description('replace the policy (server admins)')
    .option('--require-provider <id>', 'members must sign in on the web page with this configured provider')
    .option(
      '--join-domain <domain:role>',
      'people with a verified email of this domain may join, with role member or admin (repeatable)',
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .option('--recheck-interval <duration>', "re-check members' SSO identities this often, 5m to 30d (default 24h)")
    .action(
      ctx.action(async ({ args, options, globals, io, client }) => {
        const joinDomains = ((options.joinDomain as string[] | undefined) ?? []).map((entry) => {
          const [domain, role = 'member'] = entry.split(':');
          return { domain, role };
        });
        const saved = await client().read(
          SignInPolicyJson,
          'PUT',
          `/orgs/${encodeURIComponent(args[0])}/sign-in-policy`,
          {
            requiredProvider: (options.requireProvider as string | undefined) ?? null,
            joinDomains,
            recheckInterval: (options.recheckInterval as string | undefined) ?? null,
          },
        );
        printResult(io, globals, saved, describePolicy);
      }),
    );
}
