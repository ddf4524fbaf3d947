// The torchbridge CLI: --help, bad flags, and a train -> weights -> test round
// trip on a tiny subset, whose weights Python's torch.load reads into the
// reference AlexNetModel; and --fp16's GradScaler state across a resume.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { disposeValue, load } from '../../src/serialize';
import { Tensor } from '../../src/tensor';
import { pythonScript, repoRoot, runPython, tempDir } from '../helpers/python';
import { devData as data } from '../helpers/data';

const cli = path.join(repoRoot, 'dist', 'src', 'cli.js');

function run(args: string[]) {
  return spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 600_000 });
}

test('--help lists every command and flag', (t) => {
  const r = run(['--help']);
  t.is(r.status, 0);
  for (const word of ['train', 'test', '--recipe', '--data', '--no-download', '--epochs', '--batch-size', '--device', '--seed', '--lr',
    '--schedule-epochs', '--checkpoint', '--checkpoint-dir', '--checkpoint-every', '--log-every', '--resume', '--limit-train', '--limit-test', '--threads', '--cpu-linear', '--channels-last', '--bf16', '--fp16',
    'predict', '--topk', '--json', '--predictions', '--dataset', '--image-size', '--val-split', '--skip-bad', 'report', '--run-dir', '--out']) {
    t.true(r.stdout.includes(word), `help mentions ${word}`);
  }
});

test('bad flags and values give a clear message and exit code 2', (t) => {
  const cases: [string[], RegExp][] = [
    [['train', '--image-size', '64'], /--image-size applies only to --dataset imagefolder/],
    [['train', '--dataset', 'imagefolder'], /--dataset imagefolder needs --data: the folder that holds one folder of images per class/],
    [['train', '--dataset', 'imagefolder', '--data', 'x', '--image-size', '40'], /--image-size 40 fits no model: 32 trains the reference AlexNet, 63 and up torchvision's AlexNet/],
    [['train', '--dataset', 'imagefolder', '--data', 'x', '--val-split', '1'], /Expected number strictly between 0 and 1 for --val-split but received '1'/],
    [['train', '--dataset', 'svhn'], /Expected one of 'cifar10', 'imagefolder' for --dataset but received 'svhn'/],
    [['train', '--bogus'], /Unknown option '--bogus'/],
    [['train', '--recipe', 'quick'], /Expected one of 'reference', 'fast' for --recipe but received 'quick'/],
    [['train', '--epochs', '0'], /Expected positive integer for --epochs but received '0'/],
    [['train', '--batch-size', 'abc'], /Expected positive integer for --batch-size but received 'abc'/],
    [['train', '--lr', '-1'], /lr/],
    [['fly'], /Unknown command 'fly'/],
    [[], /Missing command/],
    [['test'], /test needs --checkpoint/],
    [['train', '--resume'], /--resume needs --checkpoint-dir/],
    [['train', '--checkpoint-every', '0', '--checkpoint-dir', 'x'], /Expected positive integer for --checkpoint-every but received '0'/],
    [['train', '--checkpoint-every', '5'], /--checkpoint-every needs --checkpoint-dir/],
    [['train', '--log-every', '0'], /Expected positive integer for --log-every but received '0'/],
    [['train', '--cpu-linear', 'mkl'], /Expected one of 'onednn', 'blas' for --cpu-linear but received 'mkl'/],
    // One rule, resolveConfig's, for the CLI and the API alike (they once disagreed on --lr 0).
    [['train', '--lr', '0'], /Expected positive number for --lr but received '0'/],
    [['train', '--lr', 'fast'], /Expected positive number for --lr but received 'fast'/],
    [['train', '--epochs', '1.5'], /Expected positive integer for --epochs but received '1.5'/],
    [['train', '--epochs', '5', '--schedule-epochs', '2'], /--schedule-epochs \(2\) must be at least --epochs \(5\)/],
  ];
  for (const [args, re] of cases) {
    const r = run(args);
    t.is(r.status, 2, args.join(' '));
    t.regex(r.stderr, re, args.join(' '));
  }
});

test('an unknown device is refused before training starts', (t) => {
  const r = run(['train', '--data', data, '--device', 'tpu', '--limit-train', '8']);
  t.is(r.status, 2);
  t.regex(r.stderr, /Expected device such as 'cpu'.* for --device but received 'tpu'/);
});

test('train -> weights -> test round trip, readable by Python torch.load', async (t) => {
  const dir = tempDir();
  try {
    const weights = path.join(dir, 'alexnet.pt');
    const tr = run(['train', '--data', data, '--epochs', '1', '--limit-train', '256', '--limit-test', '100',
      '--batch-size', '64', '--checkpoint', weights, '--seed', '3']);
    t.is(tr.status, 0, tr.stderr);
    t.regex(tr.stdout, /Test accuracy for AlexNet at epoch 1: \d+\.\d\d%/);
    t.regex(tr.stdout, /Epoch loss for AlexNet at epoch 1: \d\.\d{3}/);
    t.true(fs.existsSync(weights));
    t.deepEqual(fs.readdirSync(dir), ['alexnet.pt'], 'no temporary files left');

    const te = run(['test', '--data', data, '--checkpoint', weights, '--limit-test', '100']);
    t.is(te.status, 0, te.stderr);
    const acc = /Test accuracy for AlexNet: (\d+\.\d\d)% \((\d+)\/100\)/.exec(te.stdout);
    t.truthy(acc, te.stdout);
    // The test run reports the same accuracy as the end of training.
    t.true(tr.stdout.includes(`Test accuracy for AlexNet at epoch 1: ${acc![1]}%`));

    const py = JSON.parse(runPython(pythonScript('load_weights.py'), [weights]).trim().split('\n').pop()!);
    t.is(py.params, 67_004_746, 'the Python model took every parameter');
    // Awaited inside the try, so the folder is removed only after the load has read it.
    const sd = (await load(weights)) as Record<string, Tensor>;
    t.is(Object.keys(sd).length, 16);
    t.deepEqual(py.fc3_bias.map((x: number) => Math.fround(x)), sd['fc3.bias'].toArray());
    disposeValue(sd);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('--recipe fast: trains with its optimizer, resumes, and test scores images as training did', async (t) => {
  const dir = tempDir();
  try {
    const common = ['--data', data, '--recipe', 'fast', '--limit-test', '100', '--seed', '2'];
    const train = ['train', ...common, '--limit-train', '128', '--checkpoint-dir', dir];
    const first = run([...train, '--epochs', '1']);
    t.is(first.status, 0, first.stderr);
    const wrong = run([...train.filter((a) => a !== 'fast' && a !== '--recipe'), '--epochs', '2', '--resume']);
    t.is(wrong.status, 1, 'the reference recipe does not resume a fast run');
    t.regex(wrong.stderr, /checkpoint-0001-000000\.pt was trained with the fast recipe; resume it with --recipe fast/);
    const second = run([...train, '--epochs', '2', '--resume', '--checkpoint', path.join(dir, 'w.pt')]);
    t.is(second.status, 0, second.stderr);
    t.regex(second.stdout, /Resumed from .*checkpoint-0001-000000\.pt/);
    const ck = (await load(path.join(dir, 'checkpoint-0002-000000.pt'))) as { optimizer: { param_groups: Record<string, unknown>[] }; config: Record<string, unknown> };
    t.is(ck.config.recipe, 'fast');
    t.is(ck.config.batchSize, 64, 'the fast recipe\'s batch');
    t.deepEqual(ck.optimizer.param_groups.map((g) => [g.nesterov, g.weight_decay, (g.params as unknown[]).length]), [[true, 5e-4, 8], [true, 0, 8]]);
    disposeValue(ck as never);
    const epoch2 = /Test accuracy for AlexNet at epoch 2: (\d+\.\d\d)%/.exec(second.stdout);
    t.truthy(epoch2, second.stdout);
    const te = run(['test', ...common, '--checkpoint', path.join(dir, 'w.pt')]);
    t.is(te.status, 0, te.stderr);
    t.regex(te.stdout, new RegExp(`Test accuracy for AlexNet: ${epoch2![1].replace('.', '\\.')}%`), 'with its mirror images, as in training');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('--fp16: the checkpoint carries the GradScaler state, in PyTorch layout, and a resume restores it', async (t) => {
  const dir = tempDir();
  try {
    const common = ['train', '--data', data, '--fp16', '--limit-train', '32', '--limit-test', '20', '--batch-size', '16',
      '--checkpoint-dir', dir, '--seed', '1'];
    const first = run([...common, '--epochs', '1']);
    t.is(first.status, 0, first.stderr);
    const second = run([...common, '--epochs', '2', '--resume']);
    t.is(second.status, 0, second.stderr);
    t.regex(second.stdout, /Resumed from .*checkpoint-0001-000000\.pt/);
    const ck = (await load(path.join(dir, 'checkpoint-0002-000000.pt'))) as Record<string, unknown>;
    // 2 steps per epoch without overflow: the tracker counts all 4, across the resume.
    t.deepEqual(ck.scaler, { scale: 65536, growth_factor: 2, backoff_factor: 0.5, growth_interval: 2000, _growth_tracker: 4 });
    const state = (ck.optimizer as { state: Record<string, unknown> }).state;
    t.true(Object.keys(state).length > 0);
    disposeValue(ck as never);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
