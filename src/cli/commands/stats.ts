/** `stats` and `retention run`: what the server stores and serves, and one retention pass now (server admins). */
import type { Command } from 'commander';
import { formatBytes } from '../../format-bytes';
import { announceLongWait, waitCadence } from '../../progress-line';
import { RetentionRunJson, type RetentionTallyJson, StatsJson } from '../../protocol';
import type { CommandContext } from '../command-context';
import { printResult, table } from '../output';

/** One line per reason, in the server's order: `age: 3 entries, 1.2 MiB`. */
export function tallyLines(tally: RetentionTallyJson): string[] {
  return Object.entries(tally).map(
    ([reason, { count, bytes }]) =>
      `  ${reason}: ${count} ${reason === 'ci-tokens' ? 'tokens' : 'entries'}${bytes > 0 ? `, ${formatBytes(bytes)}` : ''}`,
  );
}

export function retentionRunText(result: { removed: RetentionTallyJson }): string {
  const removed = Object.values(result.removed).reduce((sum, t) => sum + t.count, 0);
  return removed === 0
    ? 'retention: nothing to remove'
    : ['retention removed:', ...tallyLines(result.removed)].join('\n');
}

export function statsText(stats: StatsJson): string {
  const { hits, misses } = stats.cache;
  const lookups = hits + misses;
  return [
    `stored: ${stats.storage.entries} entries, ${formatBytes(stats.storage.bytes)}`,
    `cache since the server started: ${hits} hits, ${misses} misses${lookups === 0 ? '' : ` (hit rate ${Math.round((hits / lookups) * 100)}%)`}`,
    `last retention pass: ${stats.retention.lastRunAt ?? 'none since the server started'}`,
    '',
    table(
      stats.workspaces.map((ws) => ({
        workspace: ws.name ?? ws.workspaceId,
        org: ws.org,
        id: ws.workspaceId,
        entries: ws.entries,
        size: formatBytes(ws.bytes),
      })),
      ['workspace', 'org', 'id', 'entries', 'size'],
    ),
  ].join('\n');
}

export function registerStatsCommands(program: Command, ctx: CommandContext): void {
  program
    .command('stats')
    .description('stored entries and bytes per workspace, and cache hits and misses since the server started')
    .action(
      ctx.action(async ({ globals, io, client }) => {
        const stats = await client().read(StatsJson, 'GET', '/stats');
        printResult(io, globals, stats, statsText);
      }),
    );
  const retention = program.command('retention').description("the server's retention (docs/operations.md)");
  retention
    .command('run')
    .description('one retention pass now; prints what it removed, by reason')
    .action(
      ctx.action(async ({ globals, io, client }) => {
        // The server answers when the pass is over, which can take minutes on a large store.
        const result = await announceLongWait(
          client().read(RetentionRunJson, 'POST', '/retention/run'),
          (line) => io.stderr(line),
          'retention run on the server',
          waitCadence(io.stderrIsTerminal === true, io.env),
        );
        printResult(io, globals, result, retentionRunText);
      }),
    );
}
