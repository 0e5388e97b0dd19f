/** A workspace's Runs view: each reported run (who, when, Nx, hits, misses and failures, time saved), and hit rate and time saved over time and per project. */
import type { Organisation, Workspace } from '../../metadata/records';
import { sumTotals, type DayTotals, type RunSummary, type RunTask, type Totals } from '../../runs/run-store';
import { html, type SafeHtml } from '../html';
import { csrfField, formatTime, page, type Notice, type Viewer } from '../layout';
import { formatDuration } from '../../../format-duration';
import { barChart, formatRate, hitRateOf } from './charts';

export interface RunsView {
  org: Organisation;
  workspace: Workspace;
  reportsEnabled: boolean;
  canChange: boolean;
  days: string[];
  perDay: DayTotals[];
  projects: (Totals & { project: string })[];
  runs: RunSummary[];
  notice?: Notice;
}

const hitsOf = (r: RunSummary): number => r.localHits + r.remoteHits;

/** Time saved, with how many hits it could not count. */
export function savedText(t: { savedMs: number; savedUnknown: number; hits?: number }): SafeHtml {
  const unknown =
    t.savedUnknown > 0
      ? html` <span class="hint">(${t.savedUnknown} ${t.savedUnknown === 1 ? 'hit' : 'hits'} unknown)</span>`
      : '';
  if (t.savedMs === 0 && t.savedUnknown > 0) return html`unknown${unknown}`;
  return html`${formatDuration(t.savedMs)}${unknown}`;
}

const rateText = (t: { hits: number; tasks: number }): string => {
  const rate = hitRateOf(t);
  return rate === null ? '—' : formatRate(rate);
};

function charts(view: RunsView): SafeHtml {
  const byDay = new Map(view.perDay.map((d) => [d.day, d]));
  const any = view.perDay.length > 0;
  const rateBars = view.days.map((day) => {
    const d = byDay.get(day);
    const rate = d ? hitRateOf(d) : null;
    return {
      label: day.slice(5),
      value: rate ?? 0,
      title: `${day}: ${d ? `${rateText(d)} of ${d.tasks} tasks in ${d.runs} runs` : 'no runs'}`,
    };
  });
  const savedBars = view.days.map((day) => {
    const d = byDay.get(day);
    return {
      label: day.slice(5),
      value: d?.savedMs ?? 0,
      title: `${day}: ${d ? formatDuration(d.savedMs) : 'no runs'}`,
    };
  });
  const empty = 'No runs were reported in the last 14 days.';
  return html`<div class="chart-pair">${barChart(any ? rateBars : [], {
    caption: 'Cache hit rate per day (local and remote hits over all tasks)',
    yLabel: 'hit rate',
    xLabel: 'day (UTC)',
    format: formatRate,
    max: 1,
    empty,
  })}${barChart(any ? savedBars : [], {
    caption: 'Time saved by hits per day',
    yLabel: 'time saved',
    xLabel: 'day (UTC)',
    format: formatDuration,
    empty,
  })}</div>`;
}

function projectTable(projects: RunsView['projects']): SafeHtml {
  if (projects.length === 0) return html``;
  return html`<table class="stack"><caption>Per project, last 14 days</caption><thead><tr><th scope="col">Project</th><th scope="col" class="num">Tasks</th><th scope="col" class="num">Hits</th><th scope="col" class="num">Misses</th><th scope="col" class="num">Failed</th><th scope="col" class="num">Hit rate</th><th scope="col">Time saved</th></tr></thead><tbody>${projects.map(
    (p) =>
      html`<tr><td data-label="Project" class="mono">${p.project}</td><td data-label="Tasks" class="num">${p.tasks}</td><td data-label="Hits" class="num">${p.hits}</td><td data-label="Misses" class="num">${p.misses}</td><td data-label="Failed" class="num">${p.failed}</td><td data-label="Hit rate" class="num">${rateText(p)}</td><td data-label="Time saved">${savedText(p)}</td></tr>`,
  )}</tbody></table>`;
}

function runTable(view: RunsView): SafeHtml {
  if (view.runs.length === 0)
    return html`<p class="empty">No runs reported yet. The plugin (Nx 20.8+) and the runner (Nx 17–20) report each run when it ends.</p>`;
  return html`<table class="stack" id="runs-table"><caption>Latest runs</caption><thead><tr><th scope="col">When</th><th scope="col">Who</th><th scope="col">Nx</th><th scope="col" class="num">Tasks</th><th scope="col" class="num">Hits</th><th scope="col" class="num">Misses</th><th scope="col" class="num">Failed</th><th scope="col">Time saved</th></tr></thead><tbody>${view.runs.map(
    (r) =>
      html`<tr data-run="${r.id}"><td data-label="When"><a href="/ui/workspaces/${view.workspace.id}/runs/${r.id}">${formatTime(r.reportedAt)}</a></td><td data-label="Who">${r.reporter}</td><td data-label="Nx">${r.nxVersion ?? '—'} <span class="hint">${r.client}</span></td><td data-label="Tasks" class="num">${r.tasks}</td><td data-label="Hits" class="num">${hitsOf(r)} <span class="hint">(${r.remoteHits} remote, ${r.localHits} local)</span></td><td data-label="Misses" class="num">${r.misses}</td><td data-label="Failed" class="num">${r.failed}</td><td data-label="Time saved">${hitsOf(r) === 0 ? '—' : savedText(r)}</td></tr>`,
  )}</tbody></table>`;
}

function switchForm(viewer: Viewer, view: RunsView): SafeHtml {
  const state = view.reportsEnabled
    ? html`<p>This workspace <strong>takes run reports</strong>.</p>`
    : html`<p>This workspace <strong>takes no run reports</strong>: clients are answered and nothing is stored.</p>`;
  if (!view.canChange) return state;
  return html`${state}<form method="post" action="/ui/workspaces/${view.workspace.id}/run-reports" class="inline-form">${csrfField(viewer)}<input type="hidden" name="enabled" value="${view.reportsEnabled ? 'off' : 'on'}"><button type="submit" class="small">${view.reportsEnabled ? 'Turn run reports off' : 'Turn run reports on'}</button></form>`;
}

export function runsPage(viewer: Viewer, view: RunsView): string {
  const totals = { runs: view.perDay.reduce((n, d) => n + d.runs, 0), ...sumTotals(view.perDay) };
  const ws = view.workspace;
  return page(
    { title: `Runs of ${ws.name}`, viewer, active: 'orgs', notice: view.notice },
    html`<h1>Runs of ${ws.name}</h1>
<p class="lead">In <a href="/ui/orgs/${view.org.name}/workspaces">${view.org.name}</a>${view.canChange ? html` · <a href="/ui/workspaces/${ws.id}">settings</a>` : ''}</p>
<div class="grid">
<div class="stat"><div class="value">${totals.runs}</div><div class="label">runs, last 14 days</div></div>
<div class="stat"><div class="value">${rateText(totals)}</div><div class="label">hit rate (${totals.hits} of ${totals.tasks} tasks)</div></div>
<div class="stat"><div class="value">${savedText(totals)}</div><div class="label">time saved by hits</div></div>
</div>
${charts(view)}
${projectTable(view.projects)}
${runTable(view)}
<section class="card" aria-labelledby="reports"><h2 id="reports">Run reports</h2>${switchForm(viewer, view)}
<p class="hint">A report holds task ids, hashes, cache status and durations, the Nx version and who ran it; never file contents, environment or secrets. Time saved by a hit is how long the task took in the reported run that stored it; when no such report is known it counts as unknown.</p></section>`,
  );
}

export function runPage(viewer: Viewer, org: Organisation, ws: Workspace, run: RunSummary, tasks: RunTask[]): string {
  const rows = tasks.map(
    (t) =>
      html`<tr data-task="${t.id}" data-status="${t.status}"><td data-label="Task" class="mono">${t.id}</td><td data-label="Status"><span class="badge${t.status === 'miss' || t.status === 'failed' ? ' none' : ' rw'}">${t.status}</span></td><td data-label="Duration" class="num">${t.durationMs === null ? '—' : formatDuration(t.durationMs)}</td><td data-label="Time saved">${t.status === 'remote-hit' || t.status === 'local-hit' ? (t.savedMs === null ? 'unknown' : formatDuration(t.savedMs)) : '—'}</td><td data-label="Hash" class="mono hint">${t.hash}</td></tr>`,
  );
  return page(
    { title: `Run of ${ws.name}`, viewer, active: 'orgs' },
    html`<h1>Run of ${ws.name}</h1>
<p class="lead"><a href="/ui/workspaces/${ws.id}/runs">All runs of ${ws.name}</a> in ${org.name}</p>
<dl class="facts"><dt>When</dt><dd>${formatTime(run.reportedAt)}</dd><dt>Who</dt><dd>${run.reporter}</dd><dt>Nx</dt><dd>${run.nxVersion ?? 'unknown'} (${run.client})</dd>
<dt>Tasks</dt><dd>${run.tasks}: ${counted(run.remoteHits, 'remote hit')}, ${counted(run.localHits, 'local hit')}, ${counted(run.misses, 'miss', 'misses')}, ${run.failed} failed</dd><dt>Time saved</dt><dd>${savedText(run)}</dd></dl>
<table class="stack"><caption>Tasks of this run</caption><thead><tr><th scope="col">Task</th><th scope="col">Status</th><th scope="col" class="num">Duration</th><th scope="col">Time saved</th><th scope="col">Hash</th></tr></thead><tbody>${rows}</tbody></table>`,
  );
}

/** `1 remote hit`, `2 remote hits`. */
function counted(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
