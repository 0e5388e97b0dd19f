import { type Command, Option } from 'commander';
import type { CommandContext } from '../command-context';
import { WorkspaceJson } from '../../protocol';
import { fields, printResult, table } from '../output';

const anonymousOption = () =>
  new Option('--anonymous <level>', 'what requests without a token may do').choices(['none', 'read', 'read-write']);
const memberDefaultOption = () =>
  new Option('--member-default <level>', "members' personal-token access unless overridden").choices([
    'read',
    'read-write',
  ]);
const personalTierOption = () =>
  new Option('--personal-tier <tier>', "where members' personal tokens write unless a token says otherwise").choices([
    'isolated',
    'trusted',
  ]);
const retentionOption = () =>
  new Option('--isolated-retention <duration>', 'how long isolated-tier entries live, e.g. 12h, 7d, 2w');
/** The organisation by name (an older server sends only its id); the id stays in `--json`. */
const orgOf = (ws: WorkspaceJson): string => ws.org ?? ws.orgId;
const describe = (ws: WorkspaceJson) => {
  const { id, name, orgId: _orgId, org: _org, ...settings } = ws;
  return fields({ id, name, org: orgOf(ws), ...settings });
};

export function registerWorkspaceCommands(program: Command, ctx: CommandContext): void {
  const workspace = program.command('workspace').description('workspaces inside organisations');
  workspace
    .command('create <name>')
    .description('create a workspace (org admins)')
    .requiredOption('--org <org>', 'organisation id or name')
    .addOption(anonymousOption())
    .addOption(memberDefaultOption())
    .addOption(personalTierOption())
    .action(
      ctx.action(async ({ args, options, globals, io, client }) => {
        const created = await client().read(WorkspaceJson, 'POST', '/workspaces', {
          org: options.org,
          name: args[0],
          anonymousAccess: options.anonymous,
          memberDefaultAccess: options.memberDefault,
          personalTokenTier: options.personalTier,
        });
        printResult(
          io,
          globals,
          created,
          (ws) => `created workspace ${ws.name} in ${orgOf(ws)} (${ws.id})\n${describe(ws)}`,
        );
      }),
    );
  workspace
    .command('set <id>')
    .description('change access levels and tier settings (org admins)')
    .addOption(anonymousOption())
    .addOption(memberDefaultOption())
    .addOption(personalTierOption())
    .addOption(retentionOption())
    .action(
      ctx.action(async ({ args, options, globals, io, client }) => {
        const updated = await client().read(WorkspaceJson, 'PATCH', `/workspaces/${encodeURIComponent(args[0])}`, {
          anonymousAccess: options.anonymous,
          memberDefaultAccess: options.memberDefault,
          personalTokenTier: options.personalTier,
          isolatedRetention: options.isolatedRetention,
        });
        printResult(io, globals, updated, (ws) => `updated workspace ${ws.name}\n${describe(ws)}`);
      }),
    );
  workspace
    .command('list')
    .description('workspaces you can see')
    .option('--org <org>', 'only this organisation (id or name)')
    .action(
      ctx.action(async ({ options, globals, io, client }) => {
        const query = options.org === undefined ? '' : `?org=${encodeURIComponent(options.org as string)}`;
        const list = await client().read(WorkspaceJson.array(), 'GET', `/workspaces${query}`);
        printResult(io, globals, list, (l) =>
          table(
            l.map((ws) => ({ ...ws, org: orgOf(ws) })),
            ['id', 'name', 'org', 'anonymousAccess', 'memberDefaultAccess', 'personalTokenTier'],
          ),
        );
      }),
    );
  workspace
    .command('get <id>')
    .description('one workspace')
    .action(
      ctx.action(async ({ args, globals, io, client }) => {
        printResult(
          io,
          globals,
          await client().read(WorkspaceJson, 'GET', `/workspaces/${encodeURIComponent(args[0])}`),
          describe,
        );
      }),
    );
}
