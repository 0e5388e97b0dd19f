/** `entries list | quarantine | purge`: provenance and incident response over what tokens, users and tiers wrote. */
import { type Command, Option } from 'commander';
import { SealedCacheError } from '../../errors';
import type { CommandContext } from '../command-context';
import { parsePositiveInt } from '../option-parsers';
import { EntryActionJson, EntryJson } from '../../protocol';
import { printResult, table } from '../output';

/** The filter every subcommand takes; `--workspace` is required, the rest narrow. */
function withFilterOptions(command: Command): Command {
  return command
    .requiredOption('--workspace <id>', 'the workspace')
    .option('--token <id>', 'written by this token (tok_...)')
    .option('--user <user>', 'written by this user (id or name)')
    .option('--namespace <ns>', 'in this namespace: shared, s:<scope>, u:<userId>, t:<tokenId>, anonymous')
    .addOption(
      new Option('--tier <tier>', 'in the shared tier or any isolated one')
        .choices(['shared', 'isolated'])
        .conflicts('namespace'),
    )
    .option('--since <iso>', 'written at or after, e.g. 2025-01-31T00:00:00Z')
    .option('--until <iso>', 'written at or before');
}

function filterOf(options: Record<string, unknown>): Record<string, string> {
  const filter: Record<string, string> = {};
  for (const key of ['workspace', 'token', 'user', 'namespace', 'tier', 'since', 'until']) {
    if (typeof options[key] === 'string') filter[key] = options[key] as string;
  }
  return filter;
}

function requireNarrowing(filter: Record<string, string>, verb: string): void {
  if (Object.keys(filter).length > 1) return;
  throw new SealedCacheError(
    'ERR_INPUT_INVALID',
    `${verb} needs at least one of --token, --user, --namespace, --tier, --since or --until`,
  );
}

const who = (e: EntryJson) =>
  e.writerUserName ? `${e.writerUserName}${e.writerBot ? ' (bot)' : ''}` : (e.writerTokenId ?? 'anonymous');

export function registerEntriesCommands(program: Command, ctx: CommandContext): void {
  const entries = program
    .command('entries')
    .description('what was written to a workspace, by whom: list, quarantine, purge (org admins)');
  withFilterOptions(
    entries.command('list').description('entries with their writer, tier, time, size and sha256, oldest first'),
  )
    .addOption(new Option('--limit <n>', 'at most this many').argParser(parsePositiveInt).default(1000))
    .action(
      ctx.action(async ({ options, globals, io, client }) => {
        const params = new URLSearchParams({ ...filterOf(options), limit: String(options.limit) });
        const list = await client().read(EntryJson.array(), 'GET', `/entries?${params.toString()}`);
        printResult(io, globals, list, (l) =>
          table(
            l.map((e) => ({ ...e, namespace: e.namespaceDisplay, writer: who(e), quarantined: e.quarantinedAt ?? '' })),
            ['createdAt', 'hash', 'namespace', 'writer', 'writerTokenId', 'size', 'sha256', 'quarantined'],
          ),
        );
      }),
    );
  for (const [verb, done] of [
    ['quarantine', 'stop serving matching entries at once (they stay on disk for inspection; purge removes them)'],
    ['purge', 'delete matching entries and their blobs'],
  ] as const) {
    withFilterOptions(entries.command(verb).description(done)).action(
      ctx.action(async ({ options, globals, io, client }) => {
        const filter = filterOf(options);
        requireNarrowing(filter, verb);
        const result = await client().read(EntryActionJson, 'POST', `/entries/${verb}`, filter);
        printResult(
          io,
          globals,
          result,
          (r) => `${r.action} ${r.count} ${r.count === 1 ? 'entry' : 'entries'} (recorded in the audit log)`,
        );
      }),
    );
  }
}
