/** `token mint`: a trusted CI token mints a short-lived isolated token for one scope (one PR, one run). */
import { type Command, Option } from 'commander';
import type { CommandContext } from '../command-context';
import { MintedTokenJson } from '../../protocol';
import { fields, printResult } from '../output';

const describeMinted = (t: MintedTokenJson) =>
  [
    `minted isolated ci token ${t.id}`,
    fields({ workspaceId: t.workspaceId, access: t.access, writesTo: t.namespace, expiresAt: t.expiresAt }),
    'token (shown once, store it safely):',
    t.token,
  ].join('\n');

export function registerTokenMintCommand(token: Command, ctx: CommandContext): void {
  token
    .command('mint')
    .description(
      'mint a short-lived isolated CI token for one scope (authenticate with a trusted read-write CI token or as an admin)',
    )
    .requiredOption(
      '--scope <scope>',
      'e.g. pr-123 (1-100 of A-Z a-z 0-9 . _ / -); every token of one scope shares one isolated tier',
    )
    .option('--expires-in <duration>', '30m, 2h or 3d; at most 7d', '2h')
    .addOption(
      new Option('--access <level>', "at most the minter's access (default: the minter's)").choices([
        'read',
        'read-write',
      ]),
    )
    .option('--workspace <id>', 'workspace (only for admins; a CI token mints for its own)')
    .option('--name <name>', 'a label (default "minted for <scope>")')
    .action(
      ctx.action(async ({ options, globals, io, client }) => {
        const minted = await client().read(MintedTokenJson, 'POST', '/tokens/mint', {
          scope: options.scope,
          expiresIn: options.expiresIn,
          access: options.access,
          workspaceId: options.workspace,
          name: options.name,
        });
        printResult(io, globals, minted, describeMinted);
      }),
    );
}
