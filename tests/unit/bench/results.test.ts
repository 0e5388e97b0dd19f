import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from '../../../bench/main';
import { type BenchRun, writeResults } from '../../../bench/lib/results';

function run(overrides: Partial<BenchRun> = {}): BenchRun {
  return {
    mode: 'full',
    startedAt: '2026-12-04T18:37:54.093Z',
    finishedAt: '2026-12-04T18:40:09.000Z',
    durationSeconds: 135,
    host: { node: 'v20.20.2', cpus: 2, loadAverageAtStart: [0, 0, 0], loadAverageAtEnd: [1, 1, 1] },
    sections: [],
    ...overrides,
  };
}

describe('bench results', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'nxsc-bench-results-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('a full run of every section writes latest.*, the files that are committed', () => {
    writeResults(run(), dir);
    expect(readdirSync(dir).sort()).toEqual(['2026-12-04T18-37-54-093Z.json', 'latest.json', 'latest.md']);
    expect(readFileSync(join(dir, 'latest.md'), 'utf8')).toMatch(/^## Benchmark results \(full\)\n/);
  });

  it('a run of some sections never replaces the full latest.*, and says which sections ran', () => {
    writeResults(run({ only: ['restore-200'] }), dir);
    expect(readdirSync(dir).sort()).toEqual([
      'only-2026-12-04T18-37-54-093Z.json',
      'only-latest.json',
      'only-latest.md',
    ]);
    expect(readFileSync(join(dir, 'only-latest.md'), 'utf8')).toMatch(
      /^## Benchmark results \(full, only restore-200\)\n/,
    );
    expect(JSON.parse(readFileSync(join(dir, 'only-latest.json'), 'utf8')).only).toEqual(['restore-200']);
    writeResults(run({ mode: 'quick', only: ['growth'] }), dir);
    expect(
      readdirSync(dir)
        .filter((name) => name.startsWith('quick-'))
        .sort(),
    ).toEqual(['quick-only-2026-12-04T18-37-54-093Z.json', 'quick-only-latest.json', 'quick-only-latest.md']);
  });
});

describe('bench arguments', () => {
  it('keeps the sections asked for in the order the bench runs them', () => {
    expect(parseArgs(['--only', 'restore-200,growth', '--quick'])).toEqual({
      quick: true,
      only: ['growth', 'restore-200'],
    });
    expect(parseArgs([])).toEqual({ quick: false });
  });

  it('refuses a section id it does not know, or none, instead of running nothing', () => {
    expect(() => parseArgs(['--only', 'growth,restore200'])).toThrow(/not one: restore200/);
    expect(() => parseArgs(['--only'])).toThrow(/--only needs section ids/);
    expect(() => parseArgs(['--fast'])).toThrow(/unknown argument --fast/);
  });
});
