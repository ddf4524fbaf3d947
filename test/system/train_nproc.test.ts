// torchbridge train --nproc: data parallel training through the CLI. Each rank trains its rows
// of every global batch, with dropout masks drawn for the whole batch, so N ranks compute what
// one process computes (up to the order of the gradient sums), and rank 0's checkpoint resumes
// with any number of ranks. Runs are small: 512 images, 4 steps an epoch, 2 cores.
import test from 'ava';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { backends, load, Tensor, tidy } from '../../src/index';
import { devData } from '../helpers/data';
import { repoRoot, tempDir } from '../helpers/python';
import { freePort } from '../helpers/ranks';

const cli = path.join(repoRoot, 'dist', 'src', 'cli.js');
const small = ['--data', devData, '--limit-train', '512', '--limit-test', '100', '--log-every', '2', '--no-download'];

test.before(() => {
  const d = backends().distributed;
  if (!d.built) throw new Error(`the distributed module is not built into this addon: ${d.reason} (apt-get install libgloo-dev; .ci/run does)`);
});

interface Run { code: number | null; stdout: string; stderr: string }

/** The CLI in a child process, killed after limitMs; env is added to this process's (WORLD_SIZE removed unless given). */
function train(args: string[], env: NodeJS.ProcessEnv = {}, limitMs = 240_000): Promise<Run> {
  const base = { ...process.env };
  for (const k of ['WORLD_SIZE', 'RANK', 'LOCAL_RANK', 'LOCAL_WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT']) delete base[k];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, 'train', ...args], { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), limitMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function ok(t: { is: (a: unknown, b: unknown, m?: string) => void }, r: Run, what: string): void {
  t.is(r.code, 0, `${what}: exit ${r.code}\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-3000)}`);
}

/** The largest difference between two weight files, relative to the largest weight change `from` -> b. */
async function compare(a: string, b: string, from?: string): Promise<{ maxDiff: number; maxMove: number }> {
  const [wa, wb, w0] = (await Promise.all([a, b, ...(from ? [from] : [])].map((f) => load(f)))) as Record<string, Tensor>[];
  let maxDiff = 0;
  let maxMove = 0;
  for (const k of Object.keys(wb)) {
    maxDiff = Math.max(maxDiff, tidy(() => wa[k].sub(wb[k]).abs().max().item()));
    if (w0) maxMove = Math.max(maxMove, tidy(() => w0[k].sub(wb[k]).abs().max().item()));
  }
  for (const w of [wa, wb, w0]) for (const x of Object.values(w ?? {})) x.dispose();
  return { maxDiff, maxMove };
}

const accuracyLines = (s: string) => s.split('\n').filter((l) => /^Test accuracy for AlexNet at epoch \d+: [\d.]+%$/.test(l));
const lossLines = (s: string) => s.split('\n').filter((l) => l.startsWith('[Epoch '));

test.serial('train --nproc 2 prints one run, and trains what one process trains (dropout included)', async (t) => {
  const dir = tempDir('torchbridge-nproc-');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const f = (n: string) => path.join(dir, n);
  const one = await train([...small, '--epochs', '1', '--checkpoint', f('one.pt')]);
  ok(t, one, '1 process');
  const two = await train([...small, '--epochs', '1', '--nproc', '2', '--checkpoint', f('two.pt')]);
  ok(t, two, '--nproc 2');

  // Rank 0 alone prints: one accuracy line, the loss lines once, and the other rank is silent.
  t.is(accuracyLines(two.stdout).length, 1, two.stdout);
  t.is(lossLines(two.stdout).length, 2);
  t.regex(two.stdout, /on 2 ranks on cpu; evaluation on rank 0/);
  t.notRegex(two.stderr, /\[rank 1\]/);
  // Same printed figures as one process (losses to 3 decimals, accuracy on 100 images).
  t.deepEqual(lossLines(two.stdout), lossLines(one.stdout));
  t.deepEqual(accuracyLines(two.stdout), accuracyLines(one.stdout));

  const { maxDiff } = await compare(f('two.pt'), f('one.pt'));
  t.log(`max |2 ranks - 1 process| = ${maxDiff.toExponential(2)}`);
  t.true(maxDiff <= 1e-5, `max |2 ranks - 1 process| = ${maxDiff}`);
});

test.serial('a checkpoint of 2 ranks resumes in 1 process and in 2, to the weights of an unbroken run', async (t) => {
  const dir = tempDir('torchbridge-nproc-resume-');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const f = (n: string) => path.join(dir, n);
  const twoEpochs = [...small, '--schedule-epochs', '2'];
  // Unbroken: 2 epochs in 2 ranks, and in 1 process.
  const unbroken = await train([...twoEpochs, '--epochs', '2', '--nproc', '2', '--checkpoint', f('unbroken.pt')]);
  ok(t, unbroken, 'unbroken, 2 ranks');
  // Broken: epoch 1 in 2 ranks; then epoch 2 from its checkpoint, in 2 ranks and in 1.
  const first = await train([...twoEpochs, '--epochs', '1', '--nproc', '2', '--checkpoint-dir', f('ck'), '--checkpoint', f('epoch1.pt')]);
  ok(t, first, 'epoch 1, 2 ranks');
  fs.cpSync(f('ck'), f('ck-copy'), { recursive: true });
  const again2 = await train([...twoEpochs, '--epochs', '2', '--nproc', '2', '--checkpoint-dir', f('ck'), '--resume', '--checkpoint', f('resumed2.pt')]);
  ok(t, again2, 'resumed in 2 ranks');
  const again1 = await train([...twoEpochs, '--epochs', '2', '--checkpoint-dir', f('ck-copy'), '--resume', '--checkpoint', f('resumed1.pt')]);
  ok(t, again1, 'resumed in 1 process');
  for (const r of [again2, again1]) t.regex(r.stdout, /Resumed from .*\(epoch 2, step 0\)/);

  // The same world size resumes bit for bit; one process to the order of the gradient sums.
  const same = await compare(f('resumed2.pt'), f('unbroken.pt'), f('epoch1.pt'));
  const other = await compare(f('resumed1.pt'), f('unbroken.pt'), f('epoch1.pt'));
  t.log(`epoch 2 moved the weights by up to ${same.maxMove.toExponential(2)}; resumed in 2 ranks: max diff ${same.maxDiff}, ` +
    `in 1 process: ${other.maxDiff.toExponential(2)}`);
  // Control: epoch 2 changed the weights far beyond the tolerance.
  t.true(same.maxMove > 1e-3);
  t.is(same.maxDiff, 0);
  t.true(other.maxDiff <= 1e-5, `resumed in 1 process: max diff ${other.maxDiff}`);
  // And the unbroken run's log: the epoch's accuracy as the resumed runs print it.
  t.deepEqual(accuracyLines(again2.stdout), accuracyLines(unbroken.stdout).slice(1));
  t.deepEqual(accuracyLines(again1.stdout), accuracyLines(unbroken.stdout).slice(1));
});

test.serial('Ctrl-C reaches every rank: they stop after the same step, rank 0 saves it, and 1 process resumes from it', async (t) => {
  const dir = tempDir('torchbridge-nproc-stop-');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const base = { ...process.env };
  for (const k of ['WORLD_SIZE', 'RANK', 'LOCAL_RANK', 'LOCAL_WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT']) delete base[k];
  // Its own process group, as a terminal's foreground job: the SIGINT goes to the launcher and both ranks.
  const child = spawn(process.execPath, [cli, 'train', ...small, '--epochs', '1', '--log-every', '1', '--nproc', '2', '--checkpoint-dir', path.join(dir, 'ck')],
    { env: base, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let stdout = '';
  let stderr = '';
  let sent = false;
  child.stdout.on('data', (d) => {
    stdout += d;
    if (!sent && stdout.includes('[Epoch 1, Iteration 1]')) {
      sent = true;
      process.kill(-child.pid!, 'SIGINT');
    }
  });
  child.stderr.on('data', (d) => { stderr += d; });
  const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 180_000);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearTimeout(timer);
  t.true(sent, stdout);
  t.is(code, 130, `${stdout}\n${stderr}`);
  const stopped = /Stopped after step (\d) of epoch 1: saved (\S+)/.exec(stdout);
  t.truthy(stopped, stdout);
  t.is((stderr.match(/Stopping after this step/g) ?? []).length, 2, 'each rank saw the Ctrl-C');
  const resumed = await train([...small, '--epochs', '1', '--checkpoint-dir', path.join(dir, 'ck'), '--resume']);
  ok(t, resumed, 'resumed in 1 process');
  t.regex(resumed.stdout, new RegExp(`Resumed from .*\\(epoch 1, step ${stopped![1]}\\)`));
  t.is(accuracyLines(resumed.stdout).length, 1);
});

test.serial('two machines, each starting its ranks (--nnodes 2 --node-rank i), make one job', async (t) => {
  const dir = tempDir('torchbridge-nnodes-');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const port = await freePort();
  const node = (i: number) => train([...small, '--epochs', '1', '--nproc', '1', '--nnodes', '2', '--node-rank', String(i),
    '--master-addr', '127.0.0.1', '--master-port', String(port), '--checkpoint', path.join(dir, `node${i}.pt`)]);
  const [n0, n1] = await Promise.all([node(0), node(1)]);
  ok(t, n0, 'node 0');
  ok(t, n1, 'node 1');
  t.is(accuracyLines(n0.stdout).length, 1);
  t.is(n1.stdout, '', 'node 1 holds rank 1 only, which prints nothing');
  t.true(fs.existsSync(path.join(dir, 'node0.pt')));
  t.false(fs.existsSync(path.join(dir, 'node1.pt')), 'only rank 0 writes');
});

test.serial('a rank that dies stops the job with an error naming it', async (t) => {
  // A preloaded script makes rank 1 exit with code 7 after 3 s; the launcher must stop rank 0 and name rank 1.
  const preload = path.join(repoRoot, 'dist', 'test', 'fixtures', 'exit-rank.js');
  const started = Date.now();
  const r = await train([...small, '--epochs', '1', '--nproc', '2'], { NODE_OPTIONS: `--require ${preload}` }, 180_000);
  t.is(r.code, 1, r.stderr);
  t.regex(r.stderr, /launch: rank 1 of 2 failed \(exit code 7\)/);
  t.true(Date.now() - started < 120_000);
});

test('bad launches are refused before anything starts', async (t) => {
  const cases: [string[], NodeJS.ProcessEnv, RegExp][] = [
    [['--nproc', '0'], {}, /Expected positive integer for --nproc but received '0'/],
    [['--nproc', '2', '--nnodes', '2'], {}, /--nnodes above 1 needs --master-addr and --master-port/],
    [['--master-port', '29500'], {}, /--master-port applies only with --nproc/],
    [['--nproc', '2', '--node-rank', '1'], {}, /Expected integer between 0 and 0 for --node-rank but received '1'/],
    [['--nproc', '2'], { WORLD_SIZE: '2' }, /--nproc starts the ranks itself, but WORLD_SIZE=2 is set/],
  ];
  for (const [args, env, message] of cases) {
    const r = await train([...small, ...args], env, 60_000);
    t.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    t.regex(r.stderr, message);
  }
  // Every batch needs a row per rank: 3 ranks and a last batch of 2 images.
  const r = await train([...small, '--limit-train', '130', '--nproc', '3', '--epochs', '1'], {}, 120_000);
  t.is(r.code, 1);
  t.regex(r.stderr, /over 3 ranks needs at least 3 images in every batch, but 130 training images in batches of 128 leave a batch of 2/);
});
