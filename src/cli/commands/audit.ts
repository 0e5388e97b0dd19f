import { type Command, Option } from 'commander';
import type { CommandContext } from '../command-context';
import { parsePositiveInt } from '../option-parsers';
import { AuditEventJson } from '../../protocol';
import { printResult, table } from '../output';

export function registerAuditCommands(program: Command, ctx: CommandContext): void {
  const audit = program.command('audit').description('the security audit log');
  audit
    .command('list')
    .description('newest first')
    .option('--org <org>', 'only this organisation (required unless you are a server admin)')
    .option('--since <iso>', 'only events at or after this time, e.g. 2025-01-31T00:00:00Z')
    .addOption(new Option('--limit <n>', 'at most this many events').argParser(parsePositiveInt).default(100))
    .action(
      ctx.action(async ({ options, globals, io, client }) => {
        const params = new URLSearchParams({ limit: String(options.limit) });
        if (options.org !== undefined) params.set('org', options.org as string);
        if (options.since !== undefined) params.set('since', options.since as string);
        const events = await client().read(AuditEventJson.array(), 'GET', `/audit?${params.toString()}`);
        printResult(io, globals, events, (l) =>
          table(
            l.map((e) => ({ ...e, details: JSON.stringify(e.details) })),
            ['at', 'action', 'actorUserId', 'orgId', 'workspaceId', 'targetId', 'details'],
          ),
        );
      }),
    );
}
