#!/usr/bin/env node
// The README's recipe table: 5-epoch runs of each recipe with torchbridge
// (`torchbridge train --recipe R`) and with Python PyTorch (bench/python_train.py
// --recipe R, the twin), seed for seed: the same seed gives both sides the same
// initial weights, data order, crops and flips, so they differ only in arithmetic. Each run's log goes to
// bench/results/recipe-<recipe>-<side>-seed<S>-<device>.txt as it runs; the table
// (accuracy after each epoch, and minutes) is printed at the end.
//
// usage: npm run build:ts && node scripts/recipe-table.js --data <dev split>
//          [--recipes reference,fast] [--seeds 0,1,2] [--sides torchbridge,python] [--device cpu] [--threads N]
// On 2 CPU cores a torchbridge run takes about 20 minutes, a Python run longer. To run
// two tables side by side, give each --threads 1 so that they do not fight for cores.
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { parseArgs } = require('node:util');
const { torchPythonPath } = require('./paths');

const root = path.join(__dirname, '..');
const { values: a } = parseArgs({
  options: {
    data: { type: 'string' }, recipes: { type: 'string', default: 'reference,fast' }, seeds: { type: 'string', default: '0,1,2' },
    sides: { type: 'string', default: 'torchbridge,python' }, device: { type: 'string', default: 'cpu' }, epochs: { type: 'string', default: '5' },
    threads: { type: 'string' },
  },
});
if (!a.data) {
  console.error('usage: node scripts/recipe-table.js --data <folder holding cifar-10-batches-bin> [--recipes reference,fast] [--seeds 0,1,2] [--sides torchbridge,python]');
  process.exit(2);
}
const list = (s) => s.split(',').filter(Boolean);
const pythonPath = [torchPythonPath(path.join(root, 'build')), process.env.PYTHONPATH].filter(Boolean).join(path.delimiter);

// glibc serves blocks over 32 MB (fc1's 170 MB weight gradient and its GEMM buffers) with
// mmap and unmaps them on free, so Python page-faults them in again every step: on this
// machine that made the twin 2-2.5x slower. Keeping them in the heap changes only the speed
// (torchbridge's CPU caching allocator does the same for itself).
const pythonMalloc = { MALLOC_MMAP_MAX_: '0', MALLOC_TRIM_THRESHOLD_: String(2 ** 40) };

function command(side, recipe, seed) {
  const common = ['--data', path.resolve(a.data), '--epochs', a.epochs, '--seed', String(seed), '--device', a.device, '--recipe', recipe];
  if (a.threads) common.push('--threads', a.threads);
  return side === 'torchbridge'
    ? [process.execPath, [path.join(root, 'dist', 'src', 'cli.js'), 'train', ...common], {}]
    : [process.env.PYTHON ?? 'python3', [path.join(root, 'bench', 'python_train.py'), ...common], { PYTHONPATH: pythonPath, ...pythonMalloc }];
}

/** Runs one side, its output teed into the log; resolves to the accuracy after each epoch and the minutes taken. */
function run(side, recipe, seed) {
  const [cmd, args, env] = command(side, recipe, seed);
  const log = path.join(root, 'bench', 'results', `recipe-${recipe}-${side}-seed${seed}-${a.device}.txt`);
  const tmp = `${log}.tmp-${process.pid}`;
  const out = fs.createWriteStream(tmp);
  out.write(`$ ${[...Object.entries(env).map(([k, v]) => `${k}=${v}`), cmd, ...args].join(' ')}\n`);
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: root, env: { ...process.env, ...env } });
    let text = '';
    const take = (chunk) => {
      text += chunk;
      out.write(chunk);
      for (const m of String(chunk).matchAll(/Test accuracy for AlexNet at epoch (\d+): ([\d.]+)%/g)) console.error(`${side} ${recipe} seed ${seed}: epoch ${m[1]} ${m[2]}%`);
    };
    child.stdout.on('data', take);
    child.stderr.on('data', (c) => out.write(c));
    child.on('error', reject);
    child.on('close', (code) => {
      const minutes = (Date.now() - t0) / 60000;
      out.end(`\n# exit ${code}, ${minutes.toFixed(1)} minutes\n`, () => {
        fs.renameSync(tmp, log);
        const accuracies = [...text.matchAll(/Test accuracy for AlexNet at epoch \d+: ([\d.]+)%/g)].map((m) => Number(m[1]));
        if (code !== 0 || accuracies.length === 0) reject(new Error(`${side} ${recipe} seed ${seed} failed (exit ${code}); see ${log}`));
        else resolve({ accuracies, minutes });
      });
    });
  });
}

async function main() {
  const rows = [];
  for (const recipe of list(a.recipes)) {
    for (const seed of list(a.seeds).map(Number)) {
      for (const side of list(a.sides)) rows.push({ recipe, seed, side, ...(await run(side, recipe, seed)) });
    }
  }
  const epochs = Number(a.epochs);
  console.log(`| recipe | seed | run | ${Array.from({ length: epochs }, (_, i) => `epoch ${i + 1}`).join(' | ')} | minutes |`);
  console.log(`| --- | ---: | --- | ${'---: | '.repeat(epochs)}---: |`);
  for (const r of rows) console.log(`| ${r.recipe} | ${r.seed} | ${r.side} | ${r.accuracies.map((x) => x.toFixed(2)).join(' | ')} | ${r.minutes.toFixed(0)} |`);
}

main().catch((e) => {
  console.error(e.message);
  process.exitCode = 1;
});
