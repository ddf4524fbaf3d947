// metrics.jsonl: the record parser that the writer and the report share, the
// truncation a resumed run applies, and the report's reading of run directories.
import test from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readRuns } from '../../src/report/data';
import { renderPage } from '../../src/report/page';
import { parseMetricsLine, truncateMetrics } from '../../src/train/rundir';
import { tempDir } from '../helpers/python';

const base = { lr: 0.1, momentum: 0.9, imagesPerSecond: 100, rssBytes: 1e9, deviceBytes: null, time: '2026-01-01T00:00:00Z' };
const step = (s: number, epoch = 1) => JSON.stringify({ kind: 'step', epoch, step: s, loss: 2 - s / 100, accuracy: 10 + s, ...base });
const epochLine = (e: number, s: number) =>
  JSON.stringify({ kind: 'epoch', epoch: e, step: s, loss: 1.5, accuracy: 40, valLoss: 1.6, valAccuracy: 38, evalImagesPerSecond: 300, ...base });

test('parseMetricsLine checks each record and names the file and line', (t) => {
  t.is(parseMetricsLine(step(4), 'm.jsonl', 1).step, 4);
  t.is(parseMetricsLine(epochLine(1, 8), 'm.jsonl', 1).kind, 'epoch');
  // A diverged loss is written as null (JSON has no NaN) and still parses.
  t.is((parseMetricsLine(step(2).replace(/"loss":[^,]+/, '"loss":null'), 'm.jsonl', 1) as { loss: unknown }).loss, null);
  const bad: [string, RegExp][] = [
    ['{oops', /^m\.jsonl:3: not JSON/],
    ['[1]', /^m\.jsonl:3: expected a JSON object but found \[1\]/],
    [step(2).replace('"step",', '"batch",'), /^m\.jsonl:3: expected kind 'step' or 'epoch' but found "batch"/],
    [step(2).replace('"epoch":1', '"epoch":0'), /^m\.jsonl:3: expected epoch to be an integer >= 1 but found 0/],
    [step(2).replace('"step":2', '"step":2.5'), /^m\.jsonl:3: expected step to be an integer >= 0 but found 2\.5/],
    [step(2).replace('"lr":0.1', '"lr":"fast"'), /^m\.jsonl:3: expected lr to be a number but found "fast"/],
    [epochLine(1, 8).replace(/"valAccuracy":38,/, ''), /^m\.jsonl:3: expected valAccuracy to be a number but found undefined/],
    [step(2).replace('"deviceBytes":null', '"deviceBytes":"1GB"'), /^m\.jsonl:3: expected deviceBytes to be a number or null/],
  ];
  for (const [line, re] of bad) t.throws(() => parseMetricsLine(line, 'm.jsonl', 3), { message: re }, line);
});

test('truncateMetrics keeps the records up to the checkpoint step and drops a torn last line', async (t) => {
  const dir = tempDir();
  try {
    const file = path.join(dir, 'metrics.jsonl');
    const lines = [step(2), step(4), epochLine(1, 4), step(6, 2), step(8, 2), epochLine(2, 8)];
    fs.writeFileSync(file, `${lines.join('\n')}\n${step(10, 3).slice(0, 30)}`);
    const log: string[] = [];
    await truncateMetrics(file, 4, (l) => log.push(l));
    t.is(fs.readFileSync(file, 'utf8'), `${lines.slice(0, 3).join('\n')}\n`);
    t.true(log.some((l) => /metrics\.jsonl:7: not JSON/.test(l)), log.join('\n'));
    t.true(log.some((l) => l.startsWith('Dropped 4 record(s) past step 4')), log.join('\n'));
    t.deepEqual(fs.readdirSync(dir), ['metrics.jsonl'], 'no temporary file left');
    // Idempotent: truncating again at the same step changes nothing.
    await truncateMetrics(file, 4, () => t.fail('nothing more to drop'));
    t.is(fs.readFileSync(file, 'utf8').split('\n').length, 4);
    // A fresh run (step 0) empties it; a missing file becomes an empty one.
    await truncateMetrics(file, 0, () => {});
    t.is(fs.readFileSync(file, 'utf8'), '');
    const fresh = path.join(dir, 'new.jsonl');
    await truncateMetrics(fresh, 7, () => {});
    t.is(fs.readFileSync(fresh, 'utf8'), '');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('readRuns: errors name the folder, the file and the line', (t) => {
  const dir = tempDir();
  try {
    t.throws(() => readRuns([path.join(dir, 'missing')]), { message: /^Run directory .*missing does not exist; expected a folder written by `torchbridge train --run-dir`/ });
    fs.writeFileSync(path.join(dir, 'file'), '');
    t.throws(() => readRuns([path.join(dir, 'file')]), { message: /file is not a folder/ });
    fs.mkdirSync(path.join(dir, 'a'));
    t.throws(() => readRuns([path.join(dir, 'a')]), { message: /^Run directory .*a has no metrics\.jsonl/ });
    fs.writeFileSync(path.join(dir, 'a', 'metrics.jsonl'), `${step(2)}\n\n${step(4).replace('"loss"', '"los"')}\n`);
    t.throws(() => readRuns([path.join(dir, 'a')]), { message: `${path.join(dir, 'a', 'metrics.jsonl')}:3: expected loss to be a number but found undefined` });
    fs.writeFileSync(path.join(dir, 'a', 'metrics.jsonl'), `${step(2)}\n${epochLine(1, 2)}\n`);
    fs.writeFileSync(path.join(dir, 'a', 'validation.json'), JSON.stringify({ classes: ['x', 'y'], confusion: [[1, 0]], misclassified: [] }));
    t.throws(() => readRuns([path.join(dir, 'a')]), { message: /validation\.json: expected confusion to be a 2x2 matrix of counts/ });
    fs.writeFileSync(path.join(dir, 'a', 'validation.json'),
      JSON.stringify({ classes: ['x', 'y'], count: 2, correct: 1, confusion: [[1, 0], [1, 0]], perClassAccuracy: [100, 0], misclassified: [{ index: 1, image: 'misclassified/000001.png', label: 1, predicted: 0, probability: 0.6 }] }));
    t.throws(() => readRuns([path.join(dir, 'a')]), { message: /validation\.json names misclassified\/000001\.png, which is missing/ });
    fs.rmSync(path.join(dir, 'a', 'validation.json'));
    // Without validation.json (a stopped run) the run still reads; two folders named alike get their parents' names.
    fs.mkdirSync(path.join(dir, 'b', 'a'), { recursive: true });
    fs.copyFileSync(path.join(dir, 'a', 'metrics.jsonl'), path.join(dir, 'b', 'a', 'metrics.jsonl'));
    const runs = readRuns([path.join(dir, 'a'), path.join(dir, 'b', 'a')]);
    t.deepEqual(runs.map((r) => [r.name, r.metrics.length, r.validation]), [[path.join(path.basename(dir), 'a'), 2, null], [path.join('b', 'a'), 2, null]]);
    // The page embeds the data without letting it close its script element.
    runs[0].name = '</script><b>x';
    const html = renderPage(runs, { script: '/* uPlot */', style: '' });
    t.false(html.includes('</script><b>x'));
    t.true(html.includes('&#60;/script&#62;&#60;b&#62;x'));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('renderPage: runs with different classes get separate per-class tables', (t) => {
  const validation = (classes: string[]) => ({
    classes, count: 2, correct: 1, confusion: classes.map((_, i) => classes.map((__, j) => (i === j && i === 0 ? 1 : j === 0 && i === 1 ? 1 : 0))),
    perClassAccuracy: classes.map((_, i) => (i === 0 ? 100 : i === 1 ? 0 : null)), misclassified: [], imageUrls: [],
  });
  const run = (name: string, classes: string[]) => ({ name, dir: `/runs/${name}`, config: null, versions: null, metrics: [], validation: validation(classes) });
  const html = renderPage([run('a', ['cat', 'dog']), run('b', ['cat', 'dog']), run('c', ['x', 'y', 'z'])], { script: '', style: '' });
  t.is(html.match(/<table class="per-class">/g)?.length, 2);
  t.is(html.match(/<figure class="confusion"/g)?.length, 3);
  t.is(html.match(/class="cm-cell"/g)?.length, 4 + 4 + 9);
});
