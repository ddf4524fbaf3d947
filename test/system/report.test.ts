// --run-dir and `torchbridge report`, end to end: two real runs through the CLI
// (one resumed from a mid-epoch checkpoint after its later records were
// written), the report of both, opened in headless chromium. The page and its
// screenshot are kept as test artifacts in test-artifacts/ (not committed).
import test from 'ava';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readMetrics, readRuns } from '../../src/report/data';
import { renderPage } from '../../src/report/page';
import { ValidationSummary } from '../../src/train/rundir';
import { inspectReport, launchChromium } from '../helpers/browser';
import { devData as data } from '../helpers/data';
import { repoRoot, tempDir } from '../helpers/python';

const cli = path.join(repoRoot, 'dist', 'src', 'cli.js');

function run(args: string[]) {
  return spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 600_000 });
}

const uplot = (f: string) => fs.readFileSync(require.resolve(`uplot/dist/${f}`), 'utf8');
const small = ['--data', data, '--batch-size', '32', '--log-every', '2', '--limit-test', '100', '--threads', '2'];

test('train --run-dir, resume, then report: the page renders every chart in chromium', async (t) => {
  const dir = tempDir();
  t.teardown(() => { if (process.env.KEEP_REPORT_TEST !== '1') fs.rmSync(dir, { recursive: true, force: true }); });
  // Fail (not skip) at once when there is no browser, before minutes of training.
  const browser = await launchChromium();
  t.teardown(() => browser.close());

  const a = path.join(dir, 'run-a');
  const ra = run(['train', ...small, '--epochs', '2', '--limit-train', '256', '--run-dir', a]);
  t.is(ra.status, 0, ra.stderr);
  for (const f of ['config.json', 'metrics.jsonl', 'validation.json', 'model.pt']) t.true(fs.existsSync(path.join(a, f)), f);
  t.true(fs.readdirSync(path.join(a, 'checkpoints')).length > 0, 'checkpoints default to <run-dir>/checkpoints');
  const config = JSON.parse(fs.readFileSync(path.join(a, 'config.json'), 'utf8'));
  t.is(config.config.epochs, 2);
  t.is(config.versions.libtorch, '2.13.0');
  const ma = readMetrics(path.join(a, 'metrics.jsonl'));
  // 256 images in batches of 32: 8 steps an epoch, a record every 2 and one per epoch.
  t.deepEqual(ma.filter((m) => m.kind === 'step').map((m) => m.step), [2, 4, 6, 8, 10, 12, 14, 16]);
  t.deepEqual(ma.filter((m) => m.kind === 'epoch').map((m) => [m.epoch, m.step]), [[1, 8], [2, 16]]);
  const acc = /Test accuracy for AlexNet at epoch 2: (\d+\.\d\d)%/.exec(ra.stdout);
  const last = ma[ma.length - 1];
  t.is(last.kind === 'epoch' ? last.valAccuracy.toFixed(2) : null, acc?.[1] ?? 'none printed', 'the epoch record holds the printed accuracy');
  const va = JSON.parse(fs.readFileSync(path.join(a, 'validation.json'), 'utf8')) as ValidationSummary;
  t.is(va.count, 100);
  t.is(va.confusion.flat().reduce((x, y) => x + y, 0), 100);
  t.is(va.correct, Math.round(Number(acc?.[1])));

  // Run b: one epoch of 4 steps, checkpoints every 2. Deleting the epoch-end
  // checkpoint leaves the step-2 one newest, as if the run had been killed
  // after writing records for steps 4 and the epoch: resume must drop those and
  // write them again, once.
  const b = path.join(dir, 'run-b');
  const bArgs = ['train', ...small, '--epochs', '1', '--limit-train', '128', '--seed', '1', '--lr', '0.05', '--checkpoint-every', '2', '--run-dir', b];
  const rb = run(bArgs);
  t.is(rb.status, 0, rb.stderr);
  const before = readMetrics(path.join(b, 'metrics.jsonl'));
  t.deepEqual(before.map((m) => [m.kind, m.step]), [['step', 2], ['step', 4], ['epoch', 4]]);
  const ckpts = path.join(b, 'checkpoints');
  t.deepEqual(fs.readdirSync(ckpts).sort(), ['checkpoint-0000-000002.pt', 'checkpoint-0001-000000.pt']);
  fs.rmSync(path.join(ckpts, 'checkpoint-0001-000000.pt'));
  const rr = run([...bArgs, '--resume']);
  t.is(rr.status, 0, rr.stderr);
  t.regex(rr.stdout, /Dropped 2 record\(s\) past step 2/);
  const after = readMetrics(path.join(b, 'metrics.jsonl'));
  t.deepEqual(after.map((m) => [m.kind, m.step]), [['step', 2], ['step', 4], ['epoch', 4]], 'no duplicate or stale records');
  t.deepEqual(after[0], before[0], 'the record before the checkpoint is kept as it was');
  // The resumed steps retrace the first run's (resume is exact on the CPU).
  t.true(Math.abs(after[1].loss - before[1].loss) < 1e-5, `${after[1].loss} vs ${before[1].loss}`);
  t.true(Math.abs(after[1].lr - before[1].lr) < 1e-12);
  // The epoch's training accuracy counts the steps before the checkpoint too (kept in it), and validation agrees.
  const [eb, ea] = [before[2], after[2]];
  t.true(eb.kind === 'epoch' && ea.kind === 'epoch' && ea.accuracy === eb.accuracy && ea.valAccuracy === eb.valAccuracy,
    `epoch record after resume ${JSON.stringify(ea)} vs before ${JSON.stringify(eb)}`);

  const out = path.join(dir, 'report.html');
  const rep = run(['report', a, b, '--out', out]);
  t.is(rep.status, 0, rep.stderr);
  const html = fs.readFileSync(out, 'utf8');
  t.notRegex(html, /(src|href)="(?!data:)/, 'nothing is loaded from outside the page');

  const page = await browser.newPage({ viewport: { width: 1240, height: 900 } });
  const fig = await inspectReport(page, out);
  t.deepEqual(fig.errors, [], 'no console errors');
  t.deepEqual(fig.fetched, [], 'no requests');
  t.deepEqual(Object.keys(fig.charts).sort(), ['chart-accuracy', 'chart-loss', 'chart-lr', 'chart-momentum']);
  // Overlay: every chart draws both runs' curves, each in its colour.
  for (const [id, c] of Object.entries(fig.charts)) {
    t.true(c.canvases >= 1, `${id} has a canvas`);
    t.true(c.runPixels.length === 2 && c.runPixels.every((n) => n > 30), `${id} drew both runs (${c.runPixels} pixels in their colours)`);
  }
  t.deepEqual(fig.charts['chart-loss'].legend, ['run-a train', 'run-a val', 'run-b train', 'run-b val']);
  t.deepEqual(fig.charts['chart-lr'].legend, ['run-a', 'run-b']);
  t.deepEqual(fig.confusions, [{ run: 'run-a', cells: 100, sum: 100 }, { run: 'run-b', cells: 100, sum: 100 }]);
  const misses = [va, JSON.parse(fs.readFileSync(path.join(b, 'validation.json'), 'utf8')) as ValidationSummary]
    .map((v) => Math.min(48, v.count - v.correct)).reduce((x, y) => x + y, 0);
  t.true(misses > 0);
  t.deepEqual(fig.images, { total: misses, loaded: misses }, 'every misclassified image decoded');
  const artifacts = path.join(repoRoot, 'test-artifacts');
  fs.mkdirSync(artifacts, { recursive: true });
  const shot = path.join(artifacts, 'report.png');
  await page.screenshot({ path: shot, fullPage: true });
  t.true(fs.statSync(shot).size > 10_000, 'a screenshot with something in it');
  fs.copyFileSync(out, path.join(artifacts, 'report.html'));
  t.log(`artifacts: ${shot} and report.html beside it`);

  // Control: the same runs with no metrics draw axes and legends but no curves, and the measure sees that.
  const blank = path.join(dir, 'blank.html');
  const runs = readRuns([a, b]).map((r) => ({ ...r, metrics: [] }));
  fs.writeFileSync(blank, renderPage(runs, { script: uplot('uPlot.iife.min.js'), style: uplot('uPlot.min.css') }));
  const none = await inspectReport(await browser.newPage(), blank);
  t.deepEqual(none.errors, []);
  t.true(none.charts['chart-loss'].canvases >= 1);
  t.deepEqual(none.charts['chart-loss'].runPixels, [0, 0], 'no curve, no pixels in the colours of the runs');
});

test('report: a missing run dir, a dir without metrics.jsonl and a malformed line are named', (t) => {
  const dir = tempDir();
  try {
    const missing = run(['report', path.join(dir, 'nope')]);
    t.is(missing.status, 1);
    t.regex(missing.stderr, /Run directory .*nope does not exist/);
    fs.mkdirSync(path.join(dir, 'empty'));
    const empty = run(['report', path.join(dir, 'empty')]);
    t.regex(empty.stderr, /has no metrics\.jsonl/);
    fs.mkdirSync(path.join(dir, 'bad'));
    fs.writeFileSync(path.join(dir, 'bad', 'metrics.jsonl'), '{"kind":"step","epoch":1,"step":2,"loss":2,"accuracy":1,"lr":0.1,"momentum":0.9,"imagesPerSecond":1,"rssBytes":1}\n{oops\n');
    const bad = run(['report', path.join(dir, 'bad'), '--out', path.join(dir, 'r.html')]);
    t.is(bad.status, 1);
    t.regex(bad.stderr, /bad\/metrics\.jsonl:2: not JSON/);
    t.false(fs.existsSync(path.join(dir, 'r.html')), 'no page written');
    const usage = run(['report']);
    t.is(usage.status, 2);
    t.regex(usage.stderr, /report needs at least one run directory/);
    t.regex(run(['train', '--out', 'x.html']).stderr, /--out applies only to report/);
    t.regex(run(['test', '--checkpoint', 'x.pt', '--run-dir', 'x']).stderr, /--run-dir applies only to train/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
