import { type Command, Option } from 'commander';
import type { CommandContext } from '../command-context';
import { parsePositiveInt } from '../option-parsers';
import { AuditEventJson } from '../../protocol';
import { printResult, table } from '../output';
import { type AuditNames, auditActorId, auditDetailsLine, auditName, auditNameWithId } from '../../audit-text';

/** A token keeps its id beside its name (tokens share names; the id is what `token revoke` takes). */
const shown = (id: string | null, names: AuditNames): string | null =>
  id === null ? null : id.startsWith('tok_') ? auditNameWithId(id, names) : auditName(id, names);

/** Names where the log holds ids, details as `key: value`; ids alone only where the server knows no name. */
export function auditTable(events: AuditEventJson[]): string {
  return table(
    events.map((e) => {
      const names = e.names ?? {};
      return {
        at: e.at,
        action: e.action,
        by: shown(auditActorId(e), names) ?? 'anonymous',
        target: shown(e.targetId, names),
        workspace: shown(e.workspaceId, names),
        details: Object.keys(e.details).length === 0 ? null : auditDetailsLine(e.details, names),
      };
    }),
    ['at', 'action', 'by', 'target', 'workspace', 'details'],
  );
}

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
        printResult(io, globals, events, auditTable);
      }),
    );
}
