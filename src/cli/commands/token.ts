import { type Command, Option } from 'commander';
import type { CommandContext } from '../command-context';
import { IssuedTokenJson, TokenJson } from '../../protocol';
import { TIER_MEANING, tierWithMeaning } from '../../access-text';
import { SealedCacheError } from '../../errors';
import { fields, printResult, table } from '../output';
import { registerTokenMintCommand } from './token-mint';

const issued = (verb: string) => (t: IssuedTokenJson) =>
  [
    `${verb} ${t.kind} token ${t.id}`,
    fields({
      workspaceId: t.workspaceId,
      userId: t.userId,
      access: t.access,
      tier: t.writeTier ? tierWithMeaning(t.writeTier) : null,
      expiresAt: t.expiresAt ?? 'never',
    }),
    'token (shown once, store it safely):',
    t.token,
  ].join('\n');

export function registerTokenCommands(program: Command, ctx: CommandContext): void {
  const token = program.command('token').description('CI, personal and admin access tokens');
  token
    .command('create')
    .description('create a token and print its value once')
    .addOption(new Option('--kind <kind>', 'token kind').choices(['ci', 'personal', 'admin']).makeOptionMandatory())
    .option('--workspace <id>', 'workspace (required for ci; optional binding for personal)')
    .option('--user <user>', 'owner of a personal token (default: you)')
    .addOption(
      new Option('--access <level>', 'ci: the access; personal: the most it may ever get').choices([
        'read',
        'read-write',
      ]),
    )
    .option('--name <name>', 'a label, e.g. "github-actions main"')
    .addOption(
      new Option(
        '--tier <tier>',
        `where writes land (required for read-write ci tokens): trusted ${TIER_MEANING.trusted}; isolated ${TIER_MEANING.isolated}; personal tokens default to the workspace policy`,
      ).choices(['trusted', 'isolated']),
    )
    .option('--expires-in <duration>', '30m, 2h, 30d, 4w, 1y or never (personal default 1y, others never)')
    .action(
      ctx.action(async ({ options, globals, io, client }) => {
        // A writing CI token's tier decides who reads what it writes, so it is asked for, never assumed.
        if (options.kind === 'ci' && options.access === 'read-write' && options.tier === undefined) {
          throw new SealedCacheError(
            'ERR_INPUT_INVALID',
            `a read-write CI token needs --tier: trusted ${TIER_MEANING.trusted}, or isolated ${TIER_MEANING.isolated}`,
          );
        }
        const created = await client().read(IssuedTokenJson, 'POST', '/tokens', {
          kind: options.kind,
          workspaceId: options.workspace,
          user: options.user,
          access: options.access,
          name: options.name,
          expiresIn: options.expiresIn,
          tier: options.tier,
        });
        printResult(io, globals, created, issued('created'));
      }),
    );
  registerTokenMintCommand(token, ctx);
  token
    .command('list')
    .description('tokens you may manage (never their values)')
    .option('--workspace <id>', 'only this workspace')
    .option('--user <user>', 'only this user')
    .action(
      ctx.action(async ({ options, globals, io, client }) => {
        const params = new URLSearchParams();
        if (options.workspace !== undefined) params.set('workspace', options.workspace as string);
        if (options.user !== undefined) params.set('user', options.user as string);
        const query = params.size > 0 ? `?${params.toString()}` : '';
        const list = await client().read(TokenJson.array(), 'GET', `/tokens${query}`);
        printResult(io, globals, list, (l) =>
          // The tier column says where writes land now, as the web page's token tables do.
          table(
            // Names where the server gives them (ids for older servers): people read this list.
            l.map((t) => ({
              ...t,
              tier: t.writeTier ?? null,
              workspace: t.workspaceName ?? t.workspaceId,
              user: t.userName ?? t.userId,
            })),
            [
              'id',
              'kind',
              'name',
              'workspace',
              'user',
              'access',
              'tier',
              'scope',
              'expiresAt',
              'lastUsedAt',
              'revokedAt',
            ],
          ),
        );
      }),
    );
  token.command('get <id>').action(
    ctx.action(async ({ args, globals, io, client }) => {
      printResult(io, globals, await client().read(TokenJson, 'GET', `/tokens/${encodeURIComponent(args[0])}`), (t) =>
        fields({ ...t }),
      );
    }),
  );
  token
    .command('rotate <id>')
    .description('new value, same id and settings; the old value stops working at once')
    .action(
      ctx.action(async ({ args, globals, io, client }) => {
        printResult(
          io,
          globals,
          await client().read(IssuedTokenJson, 'POST', `/tokens/${encodeURIComponent(args[0])}/rotate`),
          issued('rotated'),
        );
      }),
    );
  token
    .command('set <id>')
    .description("change a token's access (read <-> read-write), same value, effective at once")
    .addOption(
      new Option('--access <level>', 'the new access level').choices(['read', 'read-write']).makeOptionMandatory(),
    )
    .action(
      ctx.action(async ({ args, options, globals, io, client }) => {
        const changed = await client().read(TokenJson, 'PATCH', `/tokens/${encodeURIComponent(args[0])}`, {
          access: options.access,
        });
        printResult(io, globals, changed, (t) => `token ${t.id} now has ${t.access ?? 'no'} access`);
      }),
    );
  token
    .command('revoke <id>')
    .description('stop a token working, at once')
    .action(
      ctx.action(async ({ args, globals, io, client }) => {
        const revoked = await client().read(TokenJson, 'POST', `/tokens/${encodeURIComponent(args[0])}/revoke`);
        printResult(io, globals, revoked, (t) => `revoked token ${t.id} at ${t.revokedAt}`);
      }),
    );
}
