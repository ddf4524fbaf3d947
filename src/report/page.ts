// The report's HTML: one self-contained page (uPlot's script and styles, the
// data and the images are all inline; nothing is fetched). Curves are drawn by
// uPlot in the browser from the embedded data; the tables (summary, per-class
// accuracy, confusion matrices, misclassified images, config) are plain HTML
// written here, as they need no drawing code.
import type { RunData } from './data';

/** The chart library's files, inlined into the page. */
export interface PageAssets {
  /** uPlot's IIFE build (defines the global uPlot). */
  script: string;
  /** uPlot's stylesheet. */
  style: string;
}

/** One colour per run, in order (Tableau 10, readable on white). */
const runColors = ['#4e79a7', '#e15759', '#59a14f', '#f28e2b', '#b07aa1', '#76b7b2', '#edc948', '#ff9da7', '#9c755f', '#bab0ac'];

function esc(x: unknown): string {
  return String(x).replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

function color(i: number): string {
  return runColors[i % runColors.length];
}

/** JSON that can sit inside a <script> element: no '<' to end it early. */
function scriptJson(x: unknown): string {
  return JSON.stringify(x).replace(/</g, '\\u003c');
}

function pct(x: number | null | undefined): string {
  return x === null || x === undefined || !Number.isFinite(x) ? '–' : `${x.toFixed(2)}%`;
}

function fixed(x: number | null | undefined, digits: number): string {
  return x === null || x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(digits);
}

function runLabel(run: RunData, i: number): string {
  return `<span class="swatch" style="background:${color(i)}"></span>${esc(run.name)}`;
}

function summary(runs: RunData[]): string {
  const rows = runs.map((r, i) => {
    const epochs = r.metrics.filter((m) => m.kind === 'epoch');
    const last = epochs[epochs.length - 1];
    const peakRss = Math.max(0, ...r.metrics.map((m) => m.rssBytes));
    const device = r.metrics.map((m) => m.deviceBytes).filter((b): b is number => typeof b === 'number');
    return `<tr><td>${runLabel(r, i)}</td><td>${epochs.length}</td><td>${last ? last.step : '–'}</td>` +
      `<td>${pct(last?.valAccuracy)}</td><td>${fixed(last?.valLoss, 3)}</td><td>${pct(last?.accuracy)}</td>` +
      `<td>${fixed(last?.imagesPerSecond, 1)}</td><td>${(peakRss / 2 ** 20).toFixed(0)} MB</td>` +
      `<td>${device.length ? `${(Math.max(...device) / 2 ** 20).toFixed(0)} MB` : '–'}</td><td>${esc(r.dir)}</td></tr>`;
  });
  return `<table class="summary"><thead><tr><th>run</th><th>epochs</th><th>steps</th><th>val accuracy</th><th>val loss</th>` +
    `<th>train accuracy</th><th>train img/s</th><th>peak RSS</th><th>peak device memory</th><th>folder</th></tr></thead>` +
    `<tbody>${rows.join('')}</tbody></table>`;
}

function perClass(runs: RunData[]): string {
  const all = runs.map((r, i) => ({ r, i })).filter((x) => x.r.validation);
  if (all.length === 0) return '<p class="none">No run wrote a validation summary (it is written when training finishes).</p>';
  // One table per set of classes: runs on different datasets are not compared class by class.
  const groups = new Map<string, typeof all>();
  for (const x of all) {
    const key = JSON.stringify(x.r.validation!.classes);
    groups.set(key, [...(groups.get(key) ?? []), x]);
  }
  return [...groups.values()].map(perClassTable).join('\n');
}

function perClassTable(withVal: { r: RunData; i: number }[]): string {
  const classes = withVal[0].r.validation!.classes;
  const head = withVal.map(({ r, i }) => `<th>${runLabel(r, i)}</th>`).join('');
  const rows = classes.map((name, c) => `<tr><th>${esc(name)}</th>${withVal.map(({ r, i }) => {
    const acc = r.validation!.perClassAccuracy[c];
    const w = acc ?? 0;
    return `<td class="bar-cell"><div class="bar" style="width:${w.toFixed(1)}%;background:${color(i)}"></div><span>${pct(acc)}</span></td>`;
  }).join('')}</tr>`);
  return `<table class="per-class"><thead><tr><th>class</th>${head}</tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function confusion(run: RunData, i: number): string {
  const v = run.validation!;
  const max = Math.max(1, ...v.confusion.flat());
  const head = v.classes.map((c) => `<th class="pred"><span>${esc(c)}</span></th>`).join('');
  const rows = v.confusion.map((row, t) => `<tr><th>${esc(v.classes[t])}</th>${row.map((n, p) => {
    // Darker for larger counts; the diagonal (correct) in the run's colour, errors in grey.
    const alpha = (0.08 + (0.92 * n) / max).toFixed(3);
    const bg = t === p ? `${color(i)}${Math.round(Number(alpha) * 255).toString(16).padStart(2, '0')}` : `rgba(90,90,90,${alpha})`;
    return `<td class="cm-cell" style="background:${bg};color:${Number(alpha) > 0.55 ? '#fff' : '#222'}" title="true ${esc(v.classes[t])}, predicted ${esc(v.classes[p])}: ${n}">${n}</td>`;
  }).join('')}</tr>`);
  return `<figure class="confusion" data-run="${esc(run.name)}"><figcaption>${runLabel(run, i)}: ${v.correct} of ${v.count} correct ` +
    `(rows: true class, columns: predicted)</figcaption><table><thead><tr><th></th>${head}</tr></thead><tbody>${rows.join('')}</tbody></table></figure>`;
}

function misclassified(run: RunData, i: number): string {
  const v = run.validation!;
  if (v.misclassified.length === 0) return `<p class="none">${runLabel(run, i)}: no misclassified images.</p>`;
  const cells = v.misclassified.map((m, k) => `<figure class="mis"><img src="${v.imageUrls[k]}" alt="validation image ${m.index}" width="64" height="64">` +
    `<figcaption><span class="true">${esc(v.classes[m.label])}</span> → <span class="pred">${esc(v.classes[m.predicted])}</span>` +
    ` <span class="prob">${(100 * m.probability).toFixed(0)}%</span></figcaption></figure>`).join('');
  return `<div class="mis-run" data-run="${esc(run.name)}"><h3>${runLabel(run, i)}: the first ${v.misclassified.length} misclassified ` +
    `(true → predicted, the prediction's probability)</h3><div class="mis-grid">${cells}</div></div>`;
}

function configTable(runs: RunData[]): string {
  const flat = runs.map((r) => ({ ...(r.config ?? {}), ...Object.fromEntries(Object.entries(r.versions ?? {}).map(([k, x]) => [`version.${k}`, x])) }));
  const keys = [...new Set(flat.flatMap((f) => Object.keys(f)))];
  const show = (x: unknown) => (x === undefined ? '' : typeof x === 'string' ? x : JSON.stringify(x));
  const rows = keys.map((k) => {
    const values = flat.map((f) => show((f as Record<string, unknown>)[k]));
    const differs = new Set(values).size > 1;
    return `<tr${differs ? ' class="differs"' : ''}><th>${esc(k)}</th>${values.map((x) => `<td>${esc(x)}</td>`).join('')}</tr>`;
  });
  return `<table class="config"><thead><tr><th>setting</th>${runs.map((r, i) => `<th>${runLabel(r, i)}</th>`).join('')}</tr></thead>` +
    `<tbody>${rows.join('')}</tbody></table>${runs.length > 1 ? '<p class="note">Highlighted: settings that differ between runs.</p>' : ''}`;
}

// Runs in the browser: builds the four uPlot charts from the embedded metrics.
// Runs log at different steps, so each chart joins their x values (uPlot.join)
// and spans the gaps.
const clientScript = String.raw`
(function () {
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var charts = [
    { id: 'chart-loss', title: 'Loss', train: 'loss', val: 'valLoss' },
    { id: 'chart-accuracy', title: 'Accuracy (%)', train: 'accuracy', val: 'valAccuracy' },
    { id: 'chart-lr', title: 'Learning rate', train: 'lr' },
    { id: 'chart-momentum', title: 'Momentum', train: 'momentum' }
  ];
  function column(records, key) {
    return [records.map(function (r) { return r.step; }), records.map(function (r) { return r[key] === undefined ? null : r[key]; })];
  }
  charts.forEach(function (c) {
    var tables = [];
    var series = [{ label: 'step' }];
    data.runs.forEach(function (run, i) {
      var steps = run.metrics.filter(function (m) { return m.kind === 'step'; });
      var epochs = run.metrics.filter(function (m) { return m.kind === 'epoch'; });
      // A run logging less often than once an epoch has only its epoch records.
      var train = steps.length ? steps : epochs;
      tables.push(column(train, c.train));
      series.push({ label: run.name + (c.val ? ' train' : ''), stroke: data.colors[i], width: 1.5, spanGaps: true, points: { show: train.length < 3 } });
      if (c.val) {
        tables.push(column(epochs, c.val));
        series.push({ label: run.name + ' val', stroke: data.colors[i], width: 2.5, dash: [8, 4], spanGaps: true, points: { show: true, size: 7, fill: data.colors[i] } });
      }
    });
    var el = document.getElementById(c.id);
    new uPlot({
      title: c.title, width: 560, height: 300, series: series,
      scales: { x: { time: false } },
      axes: [{ label: 'training step' }, { size: 60 }],
      legend: { live: false }
    }, uPlot.join(tables), el);
  });
})();
`;

/** The whole page for `runs`, with the chart library's files inlined. */
export function renderPage(runs: RunData[], assets: PageAssets, generated: Date = new Date()): string {
  const data = { colors: runs.map((_, i) => color(i)), runs: runs.map((r) => ({ name: r.name, metrics: r.metrics })) };
  const withVal = runs.map((r, i) => ({ r, i })).filter((x) => x.r.validation);
  const title = `torchbridge report: ${runs.map((r) => r.name).join(', ')}`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${esc(title)}</title>
<link rel="icon" href="data:,">
<style>${assets.style}</style>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; max-width: 1200px; }
h1 { font-size: 20px; } h2 { font-size: 17px; margin-top: 32px; border-bottom: 1px solid #ddd; } h3 { font-size: 14px; font-weight: normal; }
table { border-collapse: collapse; margin: 8px 0; } th, td { padding: 3px 8px; text-align: left; border-bottom: 1px solid #eee; }
.swatch { display: inline-block; width: 12px; height: 12px; border-radius: 2px; margin-right: 6px; vertical-align: -1px; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, 580px); gap: 12px; }
.per-class .bar-cell { position: relative; width: 160px; } .per-class .bar { position: absolute; left: 0; top: 3px; bottom: 3px; opacity: .35; }
.per-class .bar-cell span { position: relative; }
.confusions { display: flex; flex-wrap: wrap; gap: 24px; } .confusion td.cm-cell { text-align: right; min-width: 28px; border: 1px solid #fff; }
.confusion th.pred { height: 80px; vertical-align: bottom; } .confusion th.pred span { writing-mode: vertical-rl; transform: rotate(180deg); }
.mis-grid { display: flex; flex-wrap: wrap; gap: 6px; } figure.mis { margin: 0; width: 96px; text-align: center; font-size: 11px; }
figure.mis img { image-rendering: pixelated; display: block; margin: 0 auto; width: 64px; height: 64px; }
.mis .true { color: #2a7a2a; } .mis .pred { color: #b22; } .mis .prob { color: #666; }
.config td, .config th { font-family: ui-monospace, monospace; font-size: 12px; } .config tr.differs { background: #fff4cc; }
.none, .note { color: #666; }
</style>
</head>
<body>
<h1>${esc(title)}</h1>
<p class="note">Generated ${esc(generated.toISOString())}. Training curves: every logged window (solid); validation: every epoch (dashed, dots).</p>
<h2>Runs</h2>
${summary(runs)}
<h2>Curves</h2>
<div class="charts"><div id="chart-loss" class="chart"></div><div id="chart-accuracy" class="chart"></div>
<div id="chart-lr" class="chart"></div><div id="chart-momentum" class="chart"></div></div>
<h2>Per-class validation accuracy</h2>
${perClass(runs)}
<h2>Confusion matrices</h2>
<div class="confusions">${withVal.map(({ r, i }) => confusion(r, i)).join('\n') || '<p class="none">No validation summary.</p>'}</div>
<h2>Misclassified validation images</h2>
${withVal.map(({ r, i }) => misclassified(r, i)).join('\n') || '<p class="none">No validation summary.</p>'}
<h2>Config</h2>
${configTable(runs)}
<script id="report-data" type="application/json">${scriptJson(data)}</script>
<script>${assets.script.replace(/<\/script/gi, '<\\/script')}</script>
<script>${clientScript}</script>
</body>
</html>
`;
}
