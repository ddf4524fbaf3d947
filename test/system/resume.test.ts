// Checkpoints survive kill -9 and Ctrl-C: every kill leaves a loadable
// checkpoint, each restart resumes from the newest one, and the resumed run
// ends, bit for bit, with the weights of an uninterrupted run (CPU, fixed seed
// and threads, so the run is deterministic).
//
// Kills are placed by the run's own progress, not by the clock: the child prints
// every step (--log-every 1) and is killed once it has printed a planned step,
// so a fast or a slow machine kills at the same points.
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { listCheckpoints, loadLatestCheckpoint } from '../../src/train';
import { load } from '../../src/serialize';
import { Tensor, zeros } from '../../src/tensor';
import { Linear } from '../../src/nn';
import { SGD } from '../../src/optim/sgd';
import { Batch, BatchSource, Reporter, trainEpoch } from '../../src/train';
import { devData as data } from '../helpers/data';
import { repoRoot, tempDir } from '../helpers/python';

const cli = path.join(repoRoot, 'dist', 'src', 'cli.js');
// 8 steps of 32 images per epoch, 3 epochs: 24 steps. Every step is printed.
const STEPS_PER_EPOCH = 8;
const TOTAL_STEPS = 24;
const base = ['train', '--data', data, '--no-download', '--epochs', '3', '--limit-train', '256', '--limit-test', '50',
  '--batch-size', '32', '--seed', '7', '--threads', '2', '--log-every', '1'];
// Checkpoints every 4 steps: at steps 4, 12 and 20 mid-epoch, and at each epoch's end (8, 16, 24).
const EVERY = 4;
// Ignores every checkpoint: a child with this preloaded (NODE_OPTIONS, so its
// training worker too) starts from scratch though --resume is given.
const ignoreCheckpoints = path.join(__dirname, '..', 'fixtures', 'ignore-checkpoints.js');

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

/** The last step (1-based, counted over the whole run) the output shows as done. */
function lastStep(out: string): number {
  let last = 0;
  for (const m of out.matchAll(/\[Epoch (\d+), Iteration (\d+)\] loss/g)) last = Math.max(last, (Number(m[1]) - 1) * STEPS_PER_EPOCH + Number(m[2]));
  return last;
}

/** Where "Resumed from ... (epoch E, step S)" says the run continued, in steps done; null when it did not resume. */
function resumedAt(out: string): number | null {
  const m = /Resumed from .* \(epoch (\d+), step (\d+)\)/.exec(out);
  return m ? (Number(m[1]) - 1) * STEPS_PER_EPOCH + Number(m[2]) : null;
}

/** Steps done at a checkpoint file, from its name (checkpoint-<0-based epoch>-<step>.pt). */
function stepsAt(file: string): number {
  const m = /checkpoint-(\d+)-(\d+)\.pt$/.exec(file)!;
  return Number(m[1]) * STEPS_PER_EPOCH + Number(m[2]);
}

function newest(dir: string): number | null {
  const files = listCheckpoints(dir);
  return files.length ? stepsAt(files[0]) : null;
}

interface Child { code: number | null; signal: string | null; out: string }

/** Runs the CLI and sends `signal` once `killAt(output so far)` holds (a 10-minute guard kills it anyway). */
function runCli(args: string[], killAt: (out: string) => boolean, signal: NodeJS.Signals, env: NodeJS.ProcessEnv = process.env): Promise<Child> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let out = '';
    let sent = false;
    const guard = setTimeout(() => child.kill('SIGKILL'), 600_000);
    const onData = (d: Buffer) => {
      out += d;
      if (!sent && killAt(out)) {
        sent = true;
        child.kill(signal);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code, sig) => {
      clearTimeout(guard);
      resolve({ code, signal: sig, out });
    });
  });
}

/** One killed run: where it started, where it was to be killed, and the checkpoints before and after. */
interface Kill {
  /** The newest checkpoint (in steps done) when the run started, and after it was killed; null: none. */
  before: number | null;
  after: number | null;
  /** Where the run said it resumed; null: it started from scratch. */
  resumed: number | null;
  /** The step after which it was to be killed, and the last step it printed. */
  target: number;
  reached: number;
  killed: boolean;
  /** Warnings from loading the newest checkpoint after the kill. */
  warnings: string[];
  /** Every checkpoint in the folder after the kill, in steps done. */
  files: number[];
  out: string;
}

/** Kills the run once per entry of `plan`: the i-th run once it has done `plan[i]` steps (past where it started). */
async function killLoop(dir: string, args: string[], plan: number[], env?: NodeJS.ProcessEnv): Promise<Kill[]> {
  const kills: Kill[] = [];
  for (const ahead of plan) {
    const before = newest(dir);
    const r = await runCli(args, (out) => lastStep(out) >= (resumedAt(out) ?? 0) + ahead, 'SIGKILL', env);
    const target = (resumedAt(r.out) ?? 0) + ahead;
    const warnings: string[] = [];
    const latest = await loadLatestCheckpoint(dir, (m) => warnings.push(m));
    if (latest) for (const v of Object.values(latest.checkpoint.model)) v.dispose();
    if ((latest === null) !== (listCheckpoints(dir).length === 0)) warnings.push('a checkpoint file is there but none loaded');
    kills.push({
      before, after: newest(dir), resumed: resumedAt(r.out), target, reached: lastStep(r.out), killed: r.signal === 'SIGKILL',
      warnings, files: listCheckpoints(dir).map(stepsAt), out: r.out,
    });
  }
  return kills;
}

/** What a run of kills did wrong: each restart resumes from the newest checkpoint, and no kill loses or corrupts one. */
function problems(kills: Kill[]): string[] {
  const bad: string[] = [];
  kills.forEach((k, i) => {
    const run = `run ${i + 1}`;
    if (!k.killed) bad.push(`${run} was not killed (it ended first)`);
    if (k.reached < k.target) bad.push(`${run} was killed at step ${k.reached}, before step ${k.target}`);
    if (k.resumed !== k.before) bad.push(`${run} resumed from ${k.resumed ?? 'nothing (started from scratch)'}, but the newest checkpoint was at ${k.before ?? 'none'}`);
    if (k.before !== null && (k.after === null || k.after < k.before)) bad.push(`${run}: the kill lost checkpoint ${k.before}`);
    if (k.warnings.length) bad.push(`${run}: ${k.warnings.join('; ')}`);
    const misplaced = k.files.filter((s) => s % EVERY !== 0 && s % STEPS_PER_EPOCH !== 0);
    if (misplaced.length) bad.push(`${run}: checkpoints at steps ${misplaced.join(', ')}, not every ${EVERY} steps`);
  });
  return bad;
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

// Kill points, in steps past the checkpoint the run resumes from (saves come every 4 steps, and
// a save ends before the next step starts): 5 is past a save; 3 is before the next one, so the
// run leaves nothing new; 6 is past a save (an epoch's end); 4 is the step whose save follows,
// so the kill lands during that save or just after it; 6 again past a save.
const PLAN = [5, 3, 6, 4, 6];

test.serial('SIGKILL 5 times, placed by progress; each restart resumes from the newest checkpoint; same weights bit for bit', async (t) => {
  const dir = path.join(root, 'kill');
  const final = path.join(root, 'killed.pt');
  const args = [...base, '--checkpoint-dir', dir, '--checkpoint-every', String(EVERY), '--resume', '--checkpoint', final];
  const kills = await killLoop(dir, args, PLAN);
  for (const k of kills) t.log(`started at ${k.before ?? 0}, resumed ${k.resumed === null ? 'nothing' : `from ${k.resumed}`}, killed after step ${k.reached} (planned ${k.target}): newest checkpoint ${k.after ?? 'none'}`);
  t.deepEqual(problems(kills), []);
  t.is(kills.length, 5);
  t.true(kills[kills.length - 1].reached < TOTAL_STEPS, 'the last kill still came before the run could end');
  // The kills make progress: at least 3 of the 5 land after a new checkpoint.
  const progressed = kills.filter((k) => k.after !== null && k.after > (k.before ?? -1)).length;
  t.true(progressed >= 3, `${progressed} of 5 kills came after a new checkpoint`);

  const last = newest(dir);
  const done = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
  t.is(done.status, 0, done.stderr);
  // The final run resumes too: the restarts' starting points never go back and end past the middle of the run.
  t.not(last, null);
  t.is(resumedAt(done.stdout), last, done.stdout);
  const starts = [...kills.slice(1).map((k) => k.resumed ?? -1), resumedAt(done.stdout) ?? -1];
  t.deepEqual(starts, [...starts].sort((a, b) => a - b), `resume points ${starts.join(', ')} never decrease`);
  t.true(last! >= 12, `the final run resumed at step ${last} of ${TOTAL_STEPS}`);
  t.true(lastStep(done.stdout) === TOTAL_STEPS && !done.stdout.includes(`[Epoch 1, Iteration 1] loss`), 'the final run trained only the rest');
  t.true(listCheckpoints(dir).length <= 2, 'only the last two checkpoints are kept');
  sameBits(t, await weights(final), reference);
});

test.serial('control: a child that ignores its checkpoints is caught by the kill test\'s checks', async (t) => {
  // The kill test's folder holds the finished run's checkpoints; a child that
  // ignores them starts from scratch (and is killed after its first step), and problems() must say so.
  const dir = path.join(root, 'ignore');
  fs.mkdirSync(dir);
  const src = listCheckpoints(path.join(root, 'kill'))[0];
  fs.linkSync(src, path.join(dir, path.basename(src))); // read only: a link is enough
  const args = [...base, '--checkpoint-dir', dir, '--checkpoint-every', String(EVERY), '--resume'];
  const env = { ...process.env, NODE_OPTIONS: [process.env.NODE_OPTIONS, `--require ${ignoreCheckpoints}`].filter(Boolean).join(' ') };
  const kills = await killLoop(dir, args, [1], env);
  t.regex(kills[0].out, /No checkpoint in .*; starting from scratch/, 'the preload took effect');
  const found = problems(kills);
  t.log(found.join('\n'));
  t.true(found.some((p) => /run 1 resumed from nothing \(started from scratch\), but the newest checkpoint was at \d+/.test(p)), found.join('\n'));
});

test.serial('Ctrl-C saves the last finished step; resuming mid-epoch gives the same weights', async (t) => {
  const dir = path.join(root, 'sigint');
  const final = path.join(root, 'interrupted.pt');
  // SIGINT once step 3 of epoch 1 is printed: the run stops after that step or a later one.
  const r = await runCli([...base, '--checkpoint-dir', dir, '--checkpoint', final], (out) => lastStep(out) >= 3, 'SIGINT');
  t.is(r.code, 130, r.out);
  // Stopped mid-epoch, or (if the signal came during the last step) at an epoch's end.
  const mid = /Stopped after step (\d+) of epoch (\d+): saved (.+\.pt)/.exec(r.out);
  const end = /Stopped at the end of epoch (\d+): saved (.+\.pt)/.exec(r.out);
  t.truthy(mid ?? end, r.out);
  const [epoch, step, file] = mid ? [Number(mid[2]), Number(mid[1]), mid[3]] : [Number(end![1]) + 1, 0, end![2]];
  t.true((epoch - 1) * STEPS_PER_EPOCH + step >= 3, `stopped after step ${step} of epoch ${epoch}`);
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

test('after a resume mid-window, the printed loss is the mean of the steps in that window', (t) => {
  // A run that resumes at step 2 with logEvery 4 has 2 steps in its first window.
  const net = new Linear(2, 1);
  const opt = new SGD(net.parameters(), { lr: 0 });
  const batches: Batch[] = [];
  const source: BatchSource = {
    length: 8,
    *[Symbol.iterator]() {
      for (let i = 2; i < 8; i++) {
        const b = { inputs: zeros([1, 2]), targets: zeros([1, 1]).add(i) };
        batches.push(b);
        yield b;
      }
    },
  };
  const lines: string[] = [];
  const reporter: Reporter = { line: (l) => lines.push(l), barStart() {}, barUpdate() {}, barEnd() {} };
  const bias = net.parameters()[1].item();
  const r = trainEpoch(net, source, (o, y) => o.sub(y).mul(o.sub(y)).mean(), opt, null, 0, { logEvery: 4, startStep: 2, reporter });
  const loss = (i: number) => (i - bias) ** 2;
  const printed = lines.map((l) => /^\[Epoch 1, Iteration (\d+)\] loss: (\d+\.\d{3})$/.exec(l));
  t.is(r.steps, 6);
  t.deepEqual(printed.map((m) => m?.[1]), ['4', '8'], lines.join('\n'));
  // Printed to 3 decimals (the float32 losses round the same way to within 0.0015).
  t.true(Math.abs(Number(printed[0]![2]) - (loss(2) + loss(3)) / 2) < 0.0015, `${lines[0]}: the mean of steps 3 and 4`);
  t.true(Math.abs(Number(printed[1]![2]) - (loss(4) + loss(5) + loss(6) + loss(7)) / 4) < 0.0015, lines[1]);
  net.dispose();
  opt.dispose();
});
