/** Cache statistics: totals per workspace and an inline SVG bar chart rendered by the server. */
import { html, type SafeHtml } from '../html';
import { formatBytes } from '../../../format-bytes';
import { page, type Viewer } from '../layout';

export interface WorkspaceStats {
  orgName: string;
  workspaceName: string;
  workspaceId: string;
  entries: number;
  bytes: number;
}

export interface StatsView {
  workspaces: WorkspaceStats[];
  perDay: { day: string; entries: number; bytes: number }[];
  /** Hits / (hits + misses) when the server counts them; null otherwise. */
  hitRate: number | null;
}

const CHART_W = 640;
const CHART_H = 180;
const PAD_BOTTOM = 24;

export function barChart(perDay: StatsView['perDay'], label: string): SafeHtml {
  if (perDay.length === 0) return html`<p class="empty">No entries were written in the last 14 days.</p>`;
  const max = Math.max(...perDay.map((d) => d.bytes), 1);
  const slot = CHART_W / perDay.length;
  const bars = perDay.map((d, i) => {
    const h = Math.max(1, Math.round(((CHART_H - PAD_BOTTOM - 12) * d.bytes) / max));
    const x = Math.round(i * slot + slot * 0.15);
    const y = CHART_H - PAD_BOTTOM - h;
    return html`<g><rect class="bar" x="${x}" y="${y}" width="${Math.round(slot * 0.7)}" height="${h}"><title>${d.day}: ${d.entries} entries, ${formatBytes(d.bytes)}</title></rect><text x="${x}" y="${CHART_H - 8}">${d.day.slice(5)}</text></g>`;
  });
  return html`<svg class="chart" viewBox="0 0 ${CHART_W} ${CHART_H}" role="img" aria-label="${label}"><title>${label}</title>${bars}</svg>`;
}

export function statsPage(viewer: Viewer, view: StatsView): string {
  const totalEntries = view.workspaces.reduce((n, w) => n + w.entries, 0);
  const totalBytes = view.workspaces.reduce((n, w) => n + w.bytes, 0);
  const table =
    view.workspaces.length === 0
      ? html`<p class="empty">No workspaces you can see.</p>`
      : html`<table><caption>Stored entries per workspace</caption><thead><tr><th scope="col">Organisation</th><th scope="col">Workspace</th><th scope="col" class="num">Entries</th><th scope="col" class="num">Bytes</th></tr></thead><tbody>${view.workspaces.map(
          (w) =>
            html`<tr><td>${w.orgName}</td><td>${w.workspaceName} <span class="hint mono">${w.workspaceId}</span></td><td class="num">${w.entries}</td><td class="num">${formatBytes(w.bytes)}</td></tr>`,
        )}</tbody></table>`;
  return page(
    { title: 'Cache statistics', viewer, active: 'stats' },
    html`<h1>Cache statistics</h1>
<div class="grid">
<div class="stat"><div class="value">${totalEntries}</div><div class="label">entries</div></div>
<div class="stat"><div class="value">${formatBytes(totalBytes)}</div><div class="label">stored</div></div>
<div class="stat"><div class="value">${view.hitRate === null ? '—' : `${(view.hitRate * 100).toFixed(1)} %`}</div><div class="label">hit rate${view.hitRate === null ? ' (not counted by this server yet)' : ''}</div></div>
</div>
<h2>Bytes written per day (last 14 days)</h2>
${barChart(view.perDay, 'Bytes written per day')}
${table}`,
  );
}
