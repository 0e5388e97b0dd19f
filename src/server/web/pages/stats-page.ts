/** Cache statistics: stored entries per workspace, hit rate and time saved from run reports, and charts with axes. */
import { html } from '../html';
import { formatBytes } from '../../../format-bytes';
import { page, type Viewer } from '../layout';
import { NO_TOTALS, sumTotals, type Totals } from '../../runs/run-store';
import { barChart, formatRate, hitRateOf } from './charts';
import { savedText } from './runs-page';

export interface WorkspaceStats {
  orgName: string;
  workspaceName: string;
  workspaceId: string;
  entries: number;
  bytes: number;
  /** From run reports of the last 14 days; undefined when none arrived. */
  runs?: Totals;
}

export interface StatsView {
  workspaces: WorkspaceStats[];
  /** The last 14 days, oldest first. */
  days: string[];
  perDay: { day: string; entries: number; bytes: number }[];
}

const rate = (t: Totals | undefined): string => {
  const r = t === undefined ? null : hitRateOf(t);
  return r === null ? '—' : formatRate(r);
};

export function statsPage(viewer: Viewer, view: StatsView): string {
  const totalEntries = view.workspaces.reduce((n, w) => n + w.entries, 0);
  const totalBytes = view.workspaces.reduce((n, w) => n + w.bytes, 0);
  const runs = sumTotals(view.workspaces.map((w) => w.runs ?? NO_TOTALS));
  const byDay = new Map(view.perDay.map((d) => [d.day, d]));
  const bars = view.days.map((day) => {
    const d = byDay.get(day);
    return {
      label: day.slice(5),
      value: d?.bytes ?? 0,
      title: `${day}: ${d?.entries ?? 0} entries, ${formatBytes(d?.bytes ?? 0)}`,
    };
  });
  const table =
    view.workspaces.length === 0
      ? html`<p class="empty">No workspaces you can see.</p>`
      : html`<table class="stack"><caption>Per workspace (hit rate and time saved: run reports of the last 14 days)</caption><thead><tr><th scope="col">Organisation</th><th scope="col">Workspace</th><th scope="col" class="num">Entries</th><th scope="col" class="num">Stored</th><th scope="col" class="num">Hit rate</th><th scope="col">Time saved</th></tr></thead><tbody>${view.workspaces.map(
          (w) =>
            html`<tr data-workspace="${w.workspaceName}"><td data-label="Organisation">${w.orgName}</td><td data-label="Workspace"><a href="/ui/workspaces/${w.workspaceId}/runs">${w.workspaceName}</a></td><td data-label="Entries" class="num">${w.entries}</td><td data-label="Stored" class="num">${formatBytes(w.bytes)}</td><td data-label="Hit rate" class="num">${rate(w.runs)}</td><td data-label="Time saved">${w.runs === undefined ? '—' : savedText(w.runs)}</td></tr>`,
        )}</tbody></table>`;
  return page(
    { title: 'Cache statistics', viewer, active: 'stats' },
    html`<h1>Cache statistics</h1>
<div class="grid">
<div class="stat"><div class="value">${totalEntries}</div><div class="label">entries</div></div>
<div class="stat"><div class="value">${formatBytes(totalBytes)}</div><div class="label">stored</div></div>
<div class="stat"><div class="value" id="hit-rate">${rate(runs)}</div><div class="label">hit rate, last 14 days (${runs.hits} of ${runs.tasks} reported tasks)</div></div>
<div class="stat"><div class="value">${runs.tasks === 0 ? '—' : savedText(runs)}</div><div class="label">time saved by hits, last 14 days</div></div>
</div>
<h2>Bytes written per day (last 14 days)</h2>
${barChart(view.perDay.length === 0 ? [] : bars, {
  caption: 'Bytes written per day',
  yLabel: 'bytes written',
  xLabel: 'day (UTC)',
  format: (v) => formatBytes(Math.round(v)),
  empty: 'No entries were written in the last 14 days.',
})}
${table}
<p class="hint">Hit rate and time saved come from the run reports the plugin and the runner send at the end of each run; open a workspace for its runs.</p>`,
  );
}
