/**
 * Writes a run as JSON and markdown under bench/results/: a timestamped file, plus `latest.*` (full) or
 * `quick-latest.*`. A run of some sections (`--only`) is named `only-…` (`quick-only-…`), so it never replaces the
 * full run's `latest.*`, which is the one committed.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../tests/e2e/harness/paths';
import { type SectionResult, goalMet, sectionMarkdown } from './report';

export interface BenchRun {
  mode: 'quick' | 'full';
  /** The section ids asked for with `--only`; absent when every section ran. */
  only?: string[];
  startedAt: string;
  finishedAt: string;
  durationSeconds: number;
  host: { node: string; cpus: number; loadAverageAtStart: number[]; loadAverageAtEnd: number[] };
  sections: Array<SectionResult | { id: string; title: string; error: string }>;
}

export const RESULTS_DIR = join(REPO_ROOT, 'bench', 'results');

function goalSummary(run: BenchRun): string[] {
  const lines = ['| section | compared | ratio | goal | result |', '|---|---|---:|---|---|'];
  for (const section of run.sections) {
    if ('error' in section) {
      lines.push(`| ${section.title} | — | — | — | **failed to run** |`);
      continue;
    }
    for (const c of section.comparisons.filter((x) => x.goal)) {
      const met = goalMet(c);
      const verdict = run.mode === 'quick' ? 'not judged (quick)' : met ? '**met**' : '**not met**';
      lines.push(
        `| ${section.title} | ${c.what} | ${c.ratio.toFixed(3)} | ${c.goal!.op} ${c.goal!.value} | ${verdict} |`,
      );
    }
  }
  return lines;
}

export function runMarkdown(run: BenchRun): string {
  const load = (values: number[]): string => values.map((v) => v.toFixed(2)).join(' / ');
  const lines = [
    `## Benchmark results (${run.mode}${run.only ? `, only ${run.only.join(', ')}` : ''})`,
    '',
    `${run.startedAt} · ${run.durationSeconds} s · Node ${run.host.node} · ${run.host.cpus} CPUs · load average (1/5/15 min) ${load(run.host.loadAverageAtStart)} at start, ${load(run.host.loadAverageAtEnd)} at end`,
    '',
    ...goalSummary(run),
    '',
  ];
  for (const section of run.sections) {
    if ('error' in section) lines.push(`### ${section.title}`, '', '```', section.error, '```', '');
    else lines.push(sectionMarkdown(section, run.mode === 'full'));
  }
  return lines.join('\n');
}

/** Returns the files written. */
export function writeResults(run: BenchRun, dir: string = RESULTS_DIR): string[] {
  mkdirSync(dir, { recursive: true });
  const stamp = run.startedAt.replace(/[:.]/g, '-');
  const prefix = `${run.mode === 'quick' ? 'quick-' : ''}${run.only ? 'only-' : ''}`;
  const json = `${JSON.stringify(run, null, 2)}\n`;
  const markdown = `${runMarkdown(run)}\n`;
  const files = [
    join(dir, `${prefix}${stamp}.json`),
    join(dir, `${prefix}latest.json`),
    join(dir, `${prefix}latest.md`),
  ];
  writeFileSync(files[0]!, json);
  writeFileSync(files[1]!, json);
  writeFileSync(files[2]!, markdown);
  return files;
}
