/**
 * `npm run bench`: every section side by side in one run, a markdown table each, results as JSON in bench/results/.
 * `--quick` runs a small version of everything (goals shown but not judged); `--only a,b` picks sections by id.
 */
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { killAllTrackedProcesses } from '../tests/e2e/harness/processes';
import type { Section } from './lib/context';
import { ensurePrerequisites } from './lib/prerequisites';
import { type SectionResult, sectionMarkdown } from './lib/report';
import { type BenchRun, writeResults } from './lib/results';
import { growth } from './sections/growth';
import { largeArtifact } from './sections/large-artifact';
import { pluginFixedCost } from './sections/plugin-fixed-cost';
import { requestRate } from './sections/request-rate';
import { restoreNx20 } from './sections/restore-nx20';
import { restoreNx24 } from './sections/restore-nx24';
import { restore200, restoreLarge } from './sections/restore-scale';
import { sealingThroughput } from './sections/sealing-throughput';

const SECTIONS: Section[] = [
  restoreNx24,
  restoreNx20,
  sealingThroughput,
  requestRate,
  largeArtifact,
  growth,
  pluginFixedCost,
  restoreLarge,
  restore200,
];

export interface BenchArgs {
  quick: boolean;
  /** Section ids, in the order of SECTIONS; absent for every section. */
  only?: string[];
}

export function parseArgs(argv: string[]): BenchArgs {
  const ids = SECTIONS.map((s) => s.id);
  const args: BenchArgs = { quick: false };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--quick') args.quick = true;
    else if (argv[i] === '--only') {
      const asked = (argv[++i] ?? '').split(',').filter((id) => id !== '');
      const unknown = asked.filter((id) => !ids.includes(id));
      if (asked.length === 0 || unknown.length > 0) {
        throw new Error(
          `--only needs section ids from ${ids.join(',')}${unknown.length ? ` (not one: ${unknown.join(',')})` : ''}`,
        );
      }
      args.only = ids.filter((id) => asked.includes(id));
    } else throw new Error(`unknown argument ${argv[i]} (use --quick, --only <${ids.join(',')}>)`);
  }
  return args;
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

async function runSection(
  section: Section,
  quick: boolean,
  tempRoot: string,
): Promise<SectionResult | { id: string; title: string; error: string }> {
  const dir = mkdtempSync(join(tempRoot, `${section.id}-`));
  const started = Date.now();
  log(`\n== ${section.title}${quick ? ' (quick)' : ''}`);
  try {
    const result = await section.run({ quick, dir, log });
    process.stdout.write(`\n${sectionMarkdown(result, !quick)}\n`);
    return result;
  } catch (err) {
    const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
    log(`section ${section.id} failed: ${message}`);
    return { id: section.id, title: section.title, error: message.slice(0, 4000) };
  } finally {
    // Folders are removed at the very end: creating many files right after deleting many is slow here.
    killAllTrackedProcesses();
    log(`   (${((Date.now() - started) / 1000).toFixed(0)} s)`);
  }
}

export async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  const started = new Date();
  await ensurePrerequisites(log);
  const tempRoot = realpathSync(mkdtempSync(join(tmpdir(), 'nxsc-bench-')));
  process.once('SIGINT', () => {
    killAllTrackedProcesses();
    rmSync(tempRoot, { recursive: true, force: true });
    process.exit(130);
  });
  const run: BenchRun = {
    mode: args.quick ? 'quick' : 'full',
    ...(args.only ? { only: args.only } : {}),
    startedAt: started.toISOString(),
    finishedAt: '',
    durationSeconds: 0,
    host: { node: process.version, cpus: cpus().length, loadAverageAtStart: loadavg(), loadAverageAtEnd: [] },
    sections: [],
  };
  try {
    for (const section of SECTIONS.filter((s) => !args.only || args.only.includes(s.id))) {
      run.sections.push(await runSection(section, args.quick, tempRoot));
    }
  } finally {
    killAllTrackedProcesses();
    rmSync(tempRoot, { recursive: true, force: true });
  }
  run.finishedAt = new Date().toISOString();
  run.durationSeconds = Math.round((Date.now() - started.getTime()) / 1000);
  run.host.loadAverageAtEnd = loadavg();
  const files = writeResults(run);
  log(`\nresults: ${files.join(', ')} (${run.durationSeconds} s in all)`);
  return run.sections.some((s) => 'error' in s) ? 1 : 0;
}
