/** `stats` and `retention run`: what the server stores and serves, and one retention pass now (server admins). */
import type { Command } from 'commander';
import { formatBytes } from '../../format-bytes';
import { formatDuration } from '../../format-duration';
import { announceLongWait, waitCadence } from '../../progress-line';
import { RetentionRunJson, type RetentionTallyJson, type RunTotalsJson, StatsJson } from '../../protocol';
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

const percent = (part: number, whole: number): string => `${Math.round((part / whole) * 100)}%`;

/** `37 min 12 s`, with how many hits no report tells the saving of. */
const savedOf = (t: RunTotalsJson): string =>
  `${formatDuration(t.savedMs)}${t.savedUnknown > 0 ? ` (${t.savedUnknown} hits unknown)` : ''}`;

/** Hit rate and time saved from run reports, as the statistics page shows them; nothing from older servers. */
function runReportLine(stats: StatsJson): string[] {
  const r = stats.runReports;
  if (r === undefined) return [];
  if (r.tasks === 0) return [`run reports, last ${r.days} days: none`];
  return [
    `run reports, last ${r.days} days: hit rate ${percent(r.hits, r.tasks)} (${r.hits} of ${r.tasks} tasks; ${r.misses} misses, ${r.failed} failed), time saved ${savedOf(r)}`,
  ];
}

export function statsText(stats: StatsJson): string {
  const { hits, misses } = stats.cache;
  const lookups = hits + misses;
  return [
    `stored: ${stats.storage.entries} entries, ${formatBytes(stats.storage.bytes)}`,
    `cache since the server started: ${hits} hits, ${misses} misses${lookups === 0 ? '' : ` (hit rate ${percent(hits, lookups)})`}`,
    ...runReportLine(stats),
    `last retention pass: ${stats.retention.lastRunAt ?? 'none since the server started'}`,
    '',
    table(
      stats.workspaces.map((ws) => ({
        workspace: ws.name ?? ws.workspaceId,
        org: ws.org,
        id: ws.workspaceId,
        entries: ws.entries,
        size: formatBytes(ws.bytes),
        'hit rate': ws.runs === undefined || ws.runs.tasks === 0 ? null : percent(ws.runs.hits, ws.runs.tasks),
        'time saved': ws.runs === undefined ? null : savedOf(ws.runs),
      })),
      ['workspace', 'org', 'id', 'entries', 'size', 'hit rate', 'time saved'],
    ),
  ].join('\n');
}

export function registerStatsCommands(program: Command, ctx: CommandContext): void {
  program
    .command('stats')
    .description(
      'stored entries and bytes per workspace, cache hits and misses since the server started, and hit rate and time saved from run reports',
    )
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
