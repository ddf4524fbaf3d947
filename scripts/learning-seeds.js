#!/usr/bin/env node
// Runs the learning test (test/system/learning.test.ts) and its Python twin
// (test/python/learning_ref.py) for several seeds and prints the README's table.
// usage: npm run build:ts && node scripts/learning-seeds.js [seeds, default 0,1,2,3,4]
// About 3 minutes per seed and side on 2 cores.
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const { torchPythonPath } = require('./paths');

const root = path.join(__dirname, '..');
const seeds = (process.argv[2] ?? '0,1,2,3,4').split(',').map(Number);
const testFile = path.join(root, 'dist', 'test', 'system', 'learning.test.js');
const pythonPath = [torchPythonPath(path.join(root, 'build')), process.env.PYTHONPATH].filter(Boolean).join(path.delimiter);

function run(cmd, args, env) {
  const r = spawnSync(cmd, args, { cwd: root, env: { ...process.env, ...env }, encoding: 'utf8' });
  const out = `${r.stdout}\n${r.stderr}`;
  const m = /accuracy ([\d.]+)% -> ([\d.]+)%/.exec(out);
  if (!m) throw new Error(`${cmd} ${args.join(' ')} printed no accuracy (exit ${r.status}):\n${out}`);
  return Number(m[2]);
}

const rows = [];
for (const seed of seeds) {
  const ours = run(process.execPath, [path.join(root, 'node_modules', 'ava', 'entrypoints', 'cli.mjs'), '--verbose', '--timeout=60m', testFile], { TORCHBRIDGE_LEARNING_SEED: String(seed) });
  const python = run(process.env.PYTHON ?? 'python3', [path.join(root, 'test', 'python', 'learning_ref.py'), '--seed', String(seed)], { PYTHONPATH: pythonPath });
  rows.push({ seed, ours, python });
  console.error(`seed ${seed}: torchbridge ${ours.toFixed(1)}%, Python ${python.toFixed(1)}%`);
}
console.log('| seed | torchbridge | Python PyTorch |\n|---|---|---|');
for (const r of rows) console.log(`| ${r.seed} | ${r.ours.toFixed(1)}% | ${r.python.toFixed(1)}% |`);
