/** What a section reports: measurements, ratios against a baseline, and goals; printed as markdown tables. */
import type { Summary } from './stats';

export interface Measurement {
  name: string;
  unit: string;
  summary: Summary;
}

/** One compared pair: `ours / baseline` of the medians, judged against `goal` when there is one. */
export interface Comparison {
  what: string;
  ours: string;
  baseline: string;
  ratio: number;
  /** e.g. `<= 1.05`; absent for figures shown for context only. */
  goal?: { op: '<=' | '>=' | '<'; value: number };
}

export interface SectionResult {
  id: string;
  title: string;
  /** One line on how it was measured, printed under the title. */
  method: string;
  measurements: Measurement[];
  comparisons: Comparison[];
  notes: string[];
}

export function goalMet(comparison: Comparison): boolean | undefined {
  const { goal, ratio } = comparison;
  if (!goal || !Number.isFinite(ratio)) return goal ? false : undefined;
  if (goal.op === '<=') return ratio <= goal.value;
  if (goal.op === '<') return ratio < goal.value;
  return ratio >= goal.value;
}

function formatNumber(value: number, unit: string): string {
  if (!Number.isFinite(value)) return 'n/a';
  const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2;
  return `${value.toFixed(digits)} ${unit}`;
}

function measurementRow(m: Measurement): string {
  const { median, min, max, n } = m.summary;
  return `| ${m.name} | ${formatNumber(median, m.unit)} | ${formatNumber(min, m.unit)} – ${formatNumber(max, m.unit)} | ${n} |`;
}

function comparisonRow(c: Comparison, judge: boolean): string {
  const met = goalMet(c);
  const verdict = met === undefined ? '—' : !judge ? 'not judged (quick)' : met ? '**met**' : '**not met**';
  const goal = c.goal ? `${c.goal.op} ${c.goal.value}` : 'context';
  return `| ${c.what} | ${c.ours} | ${c.baseline} | ${Number.isFinite(c.ratio) ? c.ratio.toFixed(3) : 'n/a'} | ${goal} | ${verdict} |`;
}

export function sectionMarkdown(section: SectionResult, judge: boolean): string {
  const lines = [`### ${section.title}`, '', section.method, ''];
  lines.push('| measured | median | spread (min – max) | runs |', '|---|---:|---:|---:|');
  lines.push(...section.measurements.map(measurementRow), '');
  lines.push('| compared | ours | baseline | ratio | goal | result |', '|---|---|---|---:|---|---|');
  lines.push(...section.comparisons.map((c) => comparisonRow(c, judge)), '');
  for (const note of section.notes) lines.push(`- ${note}`);
  if (section.notes.length) lines.push('');
  return lines.join('\n');
}

/** Finds a measurement's median by name, for building comparisons. */
export function medianOf(measurements: readonly Measurement[], name: string): number {
  return measurements.find((m) => m.name === name)?.summary.median ?? Number.NaN;
}
