import { type Command, Option } from 'commander';
import type { CommandContext } from '../command-context';
import {
  InvitationAnswerJson,
  InvitationJson,
  MemberAddedJson,
  MemberJson,
  MemberRemovedJson,
  WorkspaceJson,
} from '../../protocol';
import { printResult, table } from '../output';

const memberPath = (org: unknown, user?: unknown) =>
  `/orgs/${encodeURIComponent(String(org))}/members${user === undefined ? '' : `/${encodeURIComponent(String(user))}`}`;

const roleOption = () => new Option('--role <role>', 'member role').choices(['admin', 'member']);
/** A member's per-workspace overrides as `web: read-write, docs: none`, by name where `names` knows one. */
const overridesOf = (m: MemberJson, names: ReadonlyMap<string, string> = new Map()): string =>
  Object.entries(m.workspaceAccess)
    .map(([id, access]) => `${names.get(id) ?? id}: ${access}`)
    .join(', ');
const describe = (m: MemberJson) =>
  `${m.userName ?? m.userId} is ${m.role} of ${m.orgId}${Object.keys(m.workspaceAccess).length ? ` (overrides: ${overridesOf(m)})` : ''}`;

export function registerMemberCommands(program: Command, ctx: CommandContext): void {
  const member = program.command('member').description('organisation membership (org admins)');
  member
    .command('add')
    .requiredOption('--org <org>', 'organisation id or name')
    .requiredOption('--user <user>', 'user id or name')
    .addOption(roleOption().default('member'))
    .action(
      ctx.action(async ({ options, globals, io, client }) => {
        const added = await client().read(MemberAddedJson, 'POST', memberPath(options.org), {
          user: options.user,
          role: options.role,
        });
        printResult(io, globals, added, (m) =>
          'invited' in m
            ? `invited ${m.invitation.userName ?? String(options.user)} as ${m.invitation.role}; they join when they run \`member accept ${m.invitation.id}\` (or accept on the web page)`
            : `added: ${describe(m)}`,
        );
      }),
    );
  member
    .command('remove')
    .requiredOption('--org <org>', 'organisation id or name')
    .requiredOption('--user <user>', 'user id or name')
    .action(
      ctx.action(async ({ options, globals, io, client }) => {
        const removed = await client().read(MemberRemovedJson, 'DELETE', memberPath(options.org, options.user));
        printResult(
          io,
          globals,
          removed,
          (r) => `removed ${r.userId} from ${r.orgId}; their personal tokens lose access now`,
        );
      }),
    );
  member
    .command('set')
    .description('change the role, or the access to one workspace (default = the workspace member default)')
    .requiredOption('--org <org>', 'organisation id or name')
    .requiredOption('--user <user>', 'user id or name')
    .addOption(roleOption())
    .option('--workspace <id>', 'workspace for --access')
    .addOption(
      new Option('--access <level>', 'access to --workspace').choices(['read', 'read-write', 'none', 'default']),
    )
    .action(
      ctx.action(async ({ options, globals, io, client }) => {
        const changed = await client().read(MemberJson, 'PATCH', memberPath(options.org, options.user), {
          role: options.role,
          workspace: options.workspace,
          access: options.access,
        });
        printResult(io, globals, changed, (m) => `updated: ${describe(m)}`);
      }),
    );
  member
    .command('invitations')
    .description('your open invitations to join organisations')
    .action(
      ctx.action(async ({ globals, io, client }) => {
        const list = await client().read(InvitationJson.array(), 'GET', '/invitations');
        printResult(io, globals, list, (l) => table(l, ['id', 'orgName', 'role', 'expiresAt']));
      }),
    );
  for (const answer of ['accept', 'decline'] as const) {
    member
      .command(`${answer} <invitation>`)
      .description(`${answer} an invitation to join an organisation (see \`member invitations\`)`)
      .action(
        ctx.action(async ({ args, globals, io, client }) => {
          const result = await client().read(
            InvitationAnswerJson,
            'POST',
            `/invitations/${encodeURIComponent(args[0])}/${answer}`,
          );
          printResult(io, globals, result, (r) =>
            r.accepted ? `joined ${r.orgId}` : `declined the invitation to ${r.orgId}`,
          );
        }),
      );
  }
  member
    .command('list')
    .requiredOption('--org <org>', 'organisation id or name')
    .action(
      ctx.action(async ({ options, globals, io, client }) => {
        const list = await client().read(MemberJson.array(), 'GET', memberPath(options.org));
        const names = new Map<string, string>();
        if (!globals.json && list.some((m) => Object.keys(m.workspaceAccess).length > 0)) {
          const query = `?org=${encodeURIComponent(String(options.org))}`;
          for (const ws of await client().read(WorkspaceJson.array(), 'GET', `/workspaces${query}`))
            names.set(ws.id, ws.name);
        }
        printResult(io, globals, list, (l) =>
          table(
            l.map((m) => ({ user: m.userName ?? m.userId, role: m.role, overrides: overridesOf(m, names) || null })),
            ['user', 'role', 'overrides'],
          ),
        );
      }),
    );
}
