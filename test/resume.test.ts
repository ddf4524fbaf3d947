// Checkpoints survive kill -9 and Ctrl-C: every kill leaves a loadable
// checkpoint, and resuming gives, bit for bit, the weights of an uninterrupted
// run (CPU, fixed seed and threads, so the run is deterministic).
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { listCheckpoints, loadLatestCheckpoint } from '../src/checkpoint';
import { load } from '../src/serialize';
import { Tensor } from '../src/tensor';
import { repoRoot, tempDir } from './helpers/python';

const cli = path.join(repoRoot, 'dist', 'src', 'cli.js');
const data = path.resolve(repoRoot, '..', 'shared', 'datasets', 'cifar10-dev');
// 8 steps of 32 images per epoch, 8 epochs: long enough that no killed run can finish.
const base = ['train', '--data', data, '--no-download', '--epochs', '8', '--limit-train', '256', '--limit-test', '50',
  '--batch-size', '32', '--seed', '7', '--threads', '2'];

async function weights(file: string): Promise<Record<string, Float32Array>> {
  const sd = (await load(file)) as Record<string, Tensor>;
  const out: Record<string, Float32Array> = {};
  for (const [k, t] of Object.entries(sd)) {
    out[k] = t.data() as Float32Array;
    t.dispose();
  }
  return out;
}

function sameBits(t: { true(x: boolean, m?: string): void; deepEqual(a: unknown, b: unknown, m?: string): void }, a: Record<string, Float32Array>, b: Record<string, Float32Array>) {
  t.deepEqual(Object.keys(a), Object.keys(b));
  for (const k of Object.keys(a)) {
    const x = Buffer.from(a[k].buffer, a[k].byteOffset, a[k].byteLength);
    const y = Buffer.from(b[k].buffer, b[k].byteOffset, b[k].byteLength);
    t.true(x.equals(y), `${k} is bit-identical`);
  }
}

// A seeded PRNG so the kill points are reproducible.
function mulberry32(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let r = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
}

function runUntilKilled(args: string[], afterMs: number, signal: NodeJS.Signals): Promise<{ code: number | null; signal: string | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill(signal), afterMs);
    child.on('exit', (code, sig) => {
      clearTimeout(timer);
      resolve({ code, signal: sig, out });
    });
  });
}

let reference: Record<string, Float32Array>;
const root = tempDir('torchbridge-resume-');
test.before(async () => {
  const file = path.join(root, 'uninterrupted.pt');
  const r = spawnSync(process.execPath, [cli, ...base, '--checkpoint', file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  reference = await weights(file);
});
test.after.always(() => fs.rmSync(root, { recursive: true, force: true }));

test.serial('SIGKILL at random points, 5 times, then resume: same weights bit for bit', async (t) => {
  const dir = path.join(root, 'kill');
  const final = path.join(root, 'killed.pt');
  const args = [...base, '--checkpoint-dir', dir, '--resume', '--checkpoint', final];
  const rand = mulberry32(12345);
  let kills = 0;
  for (let attempt = 0; kills < 5 && attempt < 12; attempt++) {
    const r = await runUntilKilled(args, 2000 + Math.floor(rand() * 2000), 'SIGKILL');
    if (r.signal !== 'SIGKILL') break; // finished before the kill
    kills += 1;
    // Every kill leaves the newest checkpoint loadable (or none yet), and no temporary file is ever taken for one.
    const files = listCheckpoints(dir);
    const warnings: string[] = [];
    const latest = await loadLatestCheckpoint(dir, (m) => warnings.push(m));
    t.deepEqual(warnings, [], 'no corrupt checkpoint');
    t.is(latest === null, files.length === 0);
    if (latest) {
      for (const v of Object.values(latest.checkpoint.model)) v.dispose();
    }
  }
  t.is(kills, 5, 'the run was killed 5 times');
  const done = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
  t.is(done.status, 0, done.stderr);
  t.regex(done.stdout, /Resumed from|No checkpoint/);
  t.true(listCheckpoints(dir).length <= 2, 'only the last two checkpoints are kept');
  sameBits(t, await weights(final), reference);
});

test.serial('Ctrl-C saves the last finished step; resuming mid-epoch gives the same weights', async (t) => {
  const dir = path.join(root, 'sigint');
  const final = path.join(root, 'interrupted.pt');
  const r = await runUntilKilled([...base, '--checkpoint-dir', dir, '--checkpoint', final], 4500, 'SIGINT');
  t.is(r.code, 130, r.out);
  // Stopped mid-epoch, or (if the signal came during the last step) at an epoch's end.
  const mid = /Stopped after step (\d+) of epoch (\d+): saved (.+\.pt)/.exec(r.out);
  const end = /Stopped at the end of epoch (\d+): saved (.+\.pt)/.exec(r.out);
  t.truthy(mid ?? end, r.out);
  const [epoch, step, file] = mid ? [Number(mid[2]), Number(mid[1]), mid[3]] : [Number(end![1]) + 1, 0, end![2]];
  t.true(fs.existsSync(file));
  const resumed = spawnSync(process.execPath, [cli, ...base, '--checkpoint-dir', dir, '--resume', '--checkpoint', final], { encoding: 'utf8' });
  t.is(resumed.status, 0, resumed.stderr);
  t.regex(resumed.stdout, new RegExp(`Resumed from .* \\(epoch ${epoch}, step ${step}\\)`));
  sameBits(t, await weights(final), reference);
});

test.serial('a corrupt newest checkpoint is reported and the previous one is used', async (t) => {
  const dir = path.join(root, 'kill');
  const files = listCheckpoints(dir);
  t.true(files.length >= 2);
  fs.truncateSync(files[0], 1000);
  const warnings: string[] = [];
  const latest = await loadLatestCheckpoint(dir, (m) => warnings.push(m));
  t.is(warnings.length, 1);
  t.regex(warnings[0], new RegExp(`Skipping checkpoint ${files[0].replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: load:`));
  t.is(latest!.file, files[1]);
  for (const v of Object.values(latest!.checkpoint.model)) v.dispose();
});
