/** The page's stylesheet, served from /ui/assets/app.css (a TS module so it ships inside dist/). */
export const APP_CSS = `
:root { --fg:#1b1f24; --muted:#57606a; --line:#d0d7de; --bg:#ffffff; --panel:#f6f8fa; --accent:#0b5cad; --accent-fg:#ffffff;
  --danger:#b42318; --ok:#1a7f37; --warn:#8a5a00; --focus:#ffbf47; font-size:15px; }
* { box-sizing:border-box; }
html { color:var(--fg); background:var(--bg); font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif; line-height:1.5; }
body { margin:0; }
a { color:var(--accent); }
:focus-visible { outline:3px solid var(--focus); outline-offset:2px; }
.skip { position:absolute; left:-999px; top:0; background:var(--fg); color:#fff; padding:.5rem 1rem; }
.skip:focus { left:0; }
header.top { display:flex; flex-wrap:wrap; align-items:center; gap:.5rem 1.5rem; padding:.6rem 1.5rem; background:#1b1f24; color:#fff; }
header.top .brand { font-weight:700; color:#fff; text-decoration:none; letter-spacing:.01em; }
header.top nav ul { display:flex; gap:.25rem; list-style:none; margin:0; padding:0; flex-wrap:wrap; }
header.top nav a { color:#e6edf3; text-decoration:none; padding:.35rem .65rem; border-radius:6px; display:inline-block; }
header.top nav a[aria-current="page"] { background:#3b434c; color:#fff; }
header.top nav a:hover { background:#30363d; }
header.top .who { margin-left:auto; display:flex; align-items:center; gap:.75rem; color:#c9d1d9; }
header.top .who form { margin:0; }
header.top .who button { background:transparent; color:#e6edf3; border:1px solid #57606a; }
main { max-width:72rem; margin:0 auto; padding:1.5rem; }
main.narrow { max-width:28rem; margin-top:3rem; }
h1 { font-size:1.6rem; margin:0 0 .25rem; }
h2 { font-size:1.15rem; margin:2rem 0 .5rem; }
.card > h2:first-child { margin-top:0; }
p.lead { color:var(--muted); margin-top:0; }
section.card, .card { border:1px solid var(--line); border-radius:8px; padding:1rem 1.25rem; background:var(--bg); margin:1rem 0; }
table { width:100%; border-collapse:collapse; margin:.5rem 0 1rem; }
caption { text-align:left; color:var(--muted); padding:.25rem 0; }
th, td { text-align:left; padding:.5rem .6rem; border-bottom:1px solid var(--line); vertical-align:middle; overflow-wrap:break-word; }
td .mono, td.mono, td code { overflow-wrap:anywhere; }
time span { white-space:nowrap; }
.details { margin:0; padding:0; list-style:none; }
.details li { display:inline; }
.details li + li::before { content:" · "; color:var(--muted); }
th { background:var(--panel); font-weight:600; font-size:.9rem; }
td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; }
td .actions, .actions { display:flex; gap:.4rem; flex-wrap:wrap; }
td form { margin:0; }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size:.88rem; }
pre.secret { background:var(--panel); border:1px solid var(--line); border-radius:6px; padding:.75rem; white-space:pre-wrap; word-break:break-all; margin:.25rem 0; }
label { display:block; font-weight:600; margin:.75rem 0 .25rem; }
.hint { color:var(--muted); font-size:.88rem; font-weight:400; }
textarea { width:100%; max-width:48rem; padding:.45rem .6rem; border:1px solid #8c959f; border-radius:6px; background:#fff; color:var(--fg);
  font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size:.85rem; }
details { margin:.75rem 0; }
summary { cursor:pointer; font-weight:600; }
article.policy { border:1px solid var(--line); border-radius:8px; padding:.5rem 1rem .75rem; margin:.75rem 0; }
.policy-head { display:flex; justify-content:space-between; align-items:center; gap:.75rem; }
.policy-head h3 { margin:.25rem 0; font-size:1.05rem; overflow-wrap:anywhere; }
.policy-head form { margin:0; }
article.policy dl.facts { margin:.25rem 0; }
p.rules-lead { margin:.5rem 0 .25rem; font-weight:600; }
ol.rules { margin:0; padding-left:1.5rem; }
ol.rules li { overflow-wrap:anywhere; margin:.15rem 0; }
input[type=text], input[type=password], select { width:100%; max-width:28rem; padding:.45rem .6rem; border:1px solid #8c959f; border-radius:6px; font:inherit; background:#fff; color:var(--fg); }
.inline-form { display:flex; gap:.75rem; align-items:flex-end; flex-wrap:wrap; }
.inline-form label { margin-top:0; }
td .inline-form { flex-wrap:nowrap; align-items:center; gap:.4rem; }
td .inline-form select { width:auto; }
.tier-field { border:1px solid var(--line); border-radius:6px; padding:.4rem .75rem .6rem; margin:0; flex-basis:100%; min-width:0; }
.tier-field legend { font-weight:600; padding:0 .25rem; }
.tier-field label { font-weight:400; margin:.3rem 0 0; }
.sr-only { position:absolute; width:1px; height:1px; padding:0; margin:-1px; overflow:hidden; clip:rect(0,0,0,0); white-space:nowrap; border:0; }
button, .button { font:inherit; padding:.42rem .9rem; border-radius:6px; border:1px solid #8c959f; background:var(--panel); color:var(--fg); cursor:pointer; text-decoration:none; display:inline-block; }
button.primary, .button.primary { background:var(--accent); color:var(--accent-fg); border-color:var(--accent); }
button.danger { color:var(--danger); border-color:var(--danger); background:#fff; }
button.small { padding:.2rem .6rem; font-size:.88rem; }
.notice { border-left:4px solid var(--accent); background:#eef5fc; padding:.6rem .9rem; margin:1rem 0; border-radius:0 6px 6px 0; }
.notice.ok { border-color:var(--ok); background:#eef8f0; }
.notice.error { border-color:var(--danger); background:#fdf0ef; }
.notice.warn { border-color:var(--warn); background:#fff8e6; }
.empty { color:var(--muted); padding:1rem; border:1px dashed var(--line); border-radius:8px; text-align:center; }
.badge { white-space:nowrap; display:inline-block; padding:0 .45rem; border-radius:999px; font-size:.8rem; border:1px solid var(--line); background:var(--panel); }
.badge.rw { border-color:#8fb8e0; background:#eef5fc; }
.badge.none { color:var(--muted); }
.badge.bad { color:var(--danger); border-color:#f0b4ae; background:#fdf0ef; }
dl.facts { display:grid; grid-template-columns:max-content minmax(0, 1fr); gap:.3rem 1rem; }
dl.facts dt { color:var(--muted); }
/* A long host name, program or id wraps inside its column instead of widening the page. */
dl.facts dd { margin:0; min-width:0; overflow-wrap:anywhere; }
.user-code { font-size:2rem; letter-spacing:.2em; font-family: ui-monospace, Menlo, Consolas, monospace; }
.grid { display:grid; grid-template-columns:repeat(auto-fit, minmax(12rem, 1fr)); gap:1rem; }
.stat { border:1px solid var(--line); border-radius:8px; padding:.75rem 1rem; }
.stat .value { font-size:1.6rem; font-weight:700; font-variant-numeric:tabular-nums; }
.stat .label { color:var(--muted); font-size:.88rem; }
svg.chart { width:100%; max-width:48rem; height:auto; }
svg.chart .bar { fill:var(--accent); }
svg.chart text { font-size:10px; fill:var(--muted); }
svg.chart .axis { stroke:var(--muted); stroke-width:1; }
svg.chart .grid-line { stroke:var(--line); stroke-width:1; }
svg.chart .axis-label { font-size:11px; font-weight:600; }
figure.chart { margin:.5rem 0 1rem; }
figure.chart figcaption { color:var(--muted); font-size:.85rem; }
/* Narrow screens: a table marked .stack shows each row as a card, each cell under its column's name. */
@media (max-width: 60rem) {
  table.stack, table.stack tbody, table.stack tr, table.stack td { display:block; width:100%; }
  table.stack thead { position:absolute; width:1px; height:1px; overflow:hidden; clip:rect(0,0,0,0); }
  table.stack tr { border:1px solid var(--line); border-radius:8px; margin:.5rem 0; padding:.35rem .6rem; }
  table.stack td { border:0; padding:.2rem 0; display:flex; gap:.25rem .75rem; flex-wrap:wrap; align-items:baseline; }
  table.stack td[data-label]::before { content:attr(data-label); font-weight:600; color:var(--muted); min-width:6.5rem; }
  td .inline-form { flex-wrap:wrap; }
  main { padding:1rem .75rem; }
}
/* Phones: the facts' names go above their values. */
@media (max-width: 30rem) {
  dl.facts { grid-template-columns:minmax(0, 1fr); gap:0; }
  dl.facts dd { margin-bottom:.4rem; }
}
footer { color:var(--muted); font-size:.8rem; text-align:center; padding:2rem 0; }
`;
