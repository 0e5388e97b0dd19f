/** Reads Nx's static output: which tasks came from the local cache, the remote cache, or ran (a miss). */
import { isDeepStrictEqual } from 'node:util';
import { type ProcessResult, describeResult } from './processes';

export type TaskOutcome = 'local' | 'remote' | 'miss';

// Matching the ESC control character is the point: it strips colour codes from Nx's output.
// eslint-disable-next-line no-control-regex
const ANSI_ESCAPE = /\u001b\[[0-9;]*m/g;
// On GitHub Actions (GITHUB_ACTIONS=true) Nx prefixes each task line with `::group::<status icon> `.
const TASK_LINE = /^(?:::group::\S*\s*)?>\s+nx run ([^\s:]+):(\S+?)(?:\s+\[([^\]]+)\])?\s*$/;

function outcomeOfTag(tag: string | undefined): TaskOutcome {
  if (tag === undefined) return 'miss';
  if (tag === 'remote cache') return 'remote';
  // "[existing outputs match the cache, left as is]" is a local hit whose outputs were already in place.
  if (tag === 'local cache' || tag.startsWith('existing outputs match the cache')) return 'local';
  throw new Error(`unknown Nx cache tag: [${tag}]`);
}

/** Per project, for one target (default `build`): `'local' | 'remote' | 'miss'`. */
export function parseTaskOutcomes(stdout: string, target = 'build'): Record<string, TaskOutcome> {
  const outcomes: Record<string, TaskOutcome> = {};
  for (const line of stdout.replace(ANSI_ESCAPE, '').split(/\r?\n/)) {
    const match = TASK_LINE.exec(line.trim());
    if (!match || match[2] !== target) continue;
    outcomes[match[1]] = outcomeOfTag(match[3]);
  }
  return outcomes;
}

/** `{a: 'remote', b: 'remote'}` -> `['a', 'b']` for the given outcome, sorted. */
export function projectsWithOutcome(outcomes: Record<string, TaskOutcome>, outcome: TaskOutcome): string[] {
  return Object.keys(outcomes)
    .filter((project) => outcomes[project] === outcome)
    .sort();
}

/** Asserts one run's outcomes; on a mismatch the error carries what Nx printed, so a failure says why. */
export function expectOutcomes(
  result: ProcessResult & { outcomes: Record<string, TaskOutcome> },
  expected: Record<string, string>,
): void {
  if (isDeepStrictEqual(result.outcomes, expected)) return;
  throw new Error(
    `task outcomes differ\nexpected ${JSON.stringify(expected)}\nreceived ${JSON.stringify(result.outcomes)}\n${describeResult(result)}`,
  );
}
