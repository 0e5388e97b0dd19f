/** Bar charts as inline SVG, drawn by the server: a y axis with labelled ticks, a labelled x axis, a title per bar. */
import { html, type SafeHtml } from '../html';

export interface Bar {
  /** Under the bar, e.g. `01-14`. */
  label: string;
  value: number;
  /** The bar's tooltip, e.g. `2030-01-14: 12 runs`. */
  title: string;
}

export interface ChartSpec {
  caption: string;
  /** The y axis's name, e.g. `hit rate` or `time saved`. */
  yLabel: string;
  xLabel: string;
  format: (value: number) => string;
  /** The top of the axis when it is fixed (a rate: 1); else the largest value. */
  max?: number;
  empty: string;
}

const W = 640;
const H = 220;
const LEFT = 84;
const RIGHT = 10;
const TOP = 12;
const BOTTOM = 44;

export function barChart(bars: Bar[], spec: ChartSpec): SafeHtml {
  if (bars.length === 0) return html`<p class="empty">${spec.empty}</p>`;
  const max = spec.max ?? Math.max(...bars.map((b) => b.value), 0);
  const top = max > 0 ? max : 1;
  const plotW = W - LEFT - RIGHT;
  const plotH = H - TOP - BOTTOM;
  const y = (v: number): number => TOP + plotH - Math.round((plotH * v) / top);
  const ticks = [0, top / 2, top].map(
    (v) =>
      html`<g class="tick"><line x1="${LEFT - 4}" x2="${W - RIGHT}" y1="${y(v)}" y2="${y(v)}" class="grid-line"></line><text x="${LEFT - 6}" y="${y(v) + 3}" text-anchor="end">${spec.format(v)}</text></g>`,
  );
  const slot = plotW / bars.length;
  const every = Math.max(1, Math.ceil(bars.length / 10));
  const drawn = bars.map((b, i) => {
    const x = Math.round(LEFT + i * slot + slot * 0.15);
    const h = b.value > 0 ? Math.max(1, TOP + plotH - y(b.value)) : 0;
    const label =
      i % every === 0
        ? html`<text x="${Math.round(LEFT + i * slot + slot / 2)}" y="${TOP + plotH + 14}" text-anchor="middle">${b.label}</text>`
        : '';
    return html`<g><rect class="bar" x="${x}" y="${TOP + plotH - h}" width="${Math.max(1, Math.round(slot * 0.7))}" height="${h}"><title>${b.title}</title></rect>${label}</g>`;
  });
  return html`<figure class="chart"><svg class="chart" viewBox="0 0 ${W} ${H}" role="img" aria-label="${spec.caption}"><title>${spec.caption}</title>${ticks}<line class="axis" x1="${LEFT}" x2="${LEFT}" y1="${TOP}" y2="${TOP + plotH}"></line><line class="axis" x1="${LEFT}" x2="${W - RIGHT}" y1="${TOP + plotH}" y2="${TOP + plotH}"></line>${drawn}<text class="axis-label" x="${LEFT + plotW / 2}" y="${H - 6}" text-anchor="middle">${spec.xLabel}</text><text class="axis-label" x="12" y="${TOP + plotH / 2}" text-anchor="middle" transform="rotate(-90 12 ${TOP + plotH / 2})">${spec.yLabel}</text></svg><figcaption>${spec.caption}</figcaption></figure>`;
}

export const formatRate = (rate: number): string => `${Math.round(rate * 100)} %`;

/** Hits over all reported tasks (misses and failures included), or null when there were none. */
export const hitRateOf = (t: { hits: number; tasks: number }): number | null =>
  t.tasks === 0 ? null : t.hits / t.tasks;

/** The last `days` UTC days, oldest first, as `YYYY-MM-DD`. */
export function lastDays(now: Date, days: number): string[] {
  return Array.from({ length: days }, (_, i) =>
    new Date(now.getTime() - (days - 1 - i) * 86_400_000).toISOString().slice(0, 10),
  );
}
