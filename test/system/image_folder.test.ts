// Issue 13's "what it must show" for image folders, through the CLI: a folder the
// test writes from CIFAR-10 training records (3 classes, PNG and JPEG mixed, one
// corrupt file). Without --skip-bad the run fails naming the corrupt file; with
// it, one epoch trains, the file is listed as skipped, and the validation
// accuracy is above chance. `test` and `predict` then use the weights' record
// (classes, normalisation, split) without being told.
//
// The accuracy bar, and what it rests on: one epoch here is 26 SGD steps (810
// images, batch 32) of the reference recipe from PyTorch's default init, which
// starts on a plateau (see learning.test.ts). Validation accuracy over 90 images
// after that epoch, by --seed, on this 2-core machine (--threads 2): seed 0
// 52.22%, 1 65.56%, 2 47.78%, 3 28.89%, 4 54.44%; chance is about 33%. So the
// run learns for most seeds but not all (seed 3 is still on the plateau), and the
// test pins seed 0 with a bar of 42%. Tried and no steadier: batch 8 (seed 3:
// 38.89%), lr 0.3 (seeds 3, 2: 46.67%, 32.22%), 500 images a class (seeds 3, 2:
// 64.00%, 32.00%), and --schedule-epochs 2 (seeds 3, 2: 54.44%, 38.89%; with 500
// a class, seeds 2, 0: 36.67%, 31.33%).
import test from 'ava';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { disposeValue, load, Value } from '../../src/serialize';
import { WEIGHTS_FORMAT } from '../../src/train';
import { writeImageFolder } from '../helpers/images';
import { repoRoot, tempDir } from '../helpers/python';

const cli = path.join(repoRoot, 'dist', 'src', 'cli.js');
const CLASSES = ['airplane', 'frog', 'truck'];
const PER_CLASS = 300;

let cache: string;
function run(args: string[]) {
  // Its own cache folder, so that the decoded images of earlier runs are not used.
  return spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 600_000, env: { ...process.env, TORCHBRIDGE_CACHE: cache } });
}

test('train --dataset imagefolder: the corrupt file named, then skipped; one epoch learns; test and predict use the record', async (t) => {
  const dir = tempDir();
  cache = path.join(dir, 'cache');
  const root = path.join(dir, 'images');
  const written = await writeImageFolder(root, CLASSES, PER_CLASS);
  t.true(written.frog.some((f) => f.endsWith('.jpg')) && written.frog.some((f) => f.endsWith('.png')), 'PNG and JPEG mixed');
  // A PNG cut after 60 bytes: the header reads, the pixels do not.
  const corrupt = path.join(root, 'frog', 'corrupt.png');
  fs.writeFileSync(corrupt, fs.readFileSync(written.frog.find((f) => f.endsWith('.png'))!).subarray(0, 60));
  const weights = path.join(dir, 'mine.pt');
  const common = ['--dataset', 'imagefolder', '--data', root, '--threads', '2'];

  const failed = run(['train', ...common, '--epochs', '1', '--checkpoint', weights]);
  t.is(failed.status, 1);
  t.regex(failed.stderr, new RegExp(`Cannot decode 1 of ${3 * PER_CLASS + 1} images in .*: ${corrupt.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: \\S.*--skip-bad`));
  t.false(fs.existsSync(weights), 'nothing trained on a half-read folder');

  const tr = run(['train', ...common, '--skip-bad', '--epochs', '1', '--batch-size', '32', '--seed', '0', '--val-split', '0.1', '--checkpoint', weights]);
  t.is(tr.status, 0, tr.stderr);
  t.true(tr.stdout.includes(`Skipped ${corrupt}: `), 'the skipped file is listed');
  t.regex(tr.stdout, /Using the decoded images cached in /, 'the first run\'s decoding was kept');
  t.regex(tr.stdout, new RegExp(`${3 * PER_CLASS} images in 3 classes \\(810 training, 90 validation\\), 32x32, 1 skipped`));
  const m = /Validation accuracy for AlexNet at epoch 1: (\d+\.\d\d)%/.exec(tr.stdout);
  t.truthy(m, tr.stdout);
  const accuracy = Number(m![1]);
  t.log(`validation accuracy ${accuracy}% (chance: about 33%)`);
  t.true(accuracy > 42, `accuracy ${accuracy}% is above chance`);

  // The weights carry the classes, normalisation, size and split.
  const saved = (await load(weights)) as Record<string, Value>;
  try {
    t.is(saved.format, WEIGHTS_FORMAT);
    const data = saved.data as Record<string, Value>;
    t.deepEqual(data.classes, CLASSES);
    t.is(data.imageSize, 32);
    t.deepEqual(data.split, { seed: 0, valSplit: 0.1 });
    t.true((data.mean as number[]).every((x) => x > 0.2 && x < 0.7) && (data.std as number[]).every((x) => x > 0.1 && x < 0.4));
  } finally {
    disposeValue(saved);
  }

  // test: the same validation split (from the record, though --seed differs here), the same accuracy.
  const te = run(['test', ...common, '--skip-bad', '--seed', '9', '--checkpoint', weights]);
  t.is(te.status, 0, te.stderr);
  t.regex(te.stdout, new RegExp(`Test accuracy for AlexNet: ${m![1]}% \\(\\d+/90\\)`));
  // A CIFAR-10 test of these weights is refused by name.
  const wrong = run(['test', '--data', root, '--checkpoint', weights]);
  t.is(wrong.status, 1);
  t.regex(wrong.stderr, /was trained on an image folder; pass --dataset imagefolder --data <the folder>/);

  // predict: the folder's class names.
  const pr = run(['predict', '--json', '--checkpoint', weights, written.airplane[0], written.truck[0]]);
  t.is(pr.status, 0, pr.stderr);
  const lines = pr.stdout.trim().split('\n').map((l) => JSON.parse(l));
  t.is(lines.length, 2);
  for (const l of lines) {
    t.is(l.predictions.length, 3, 'all three classes (fewer than the default 5)');
    t.deepEqual(l.predictions.map((p: { label: string }) => p.label).sort(), [...CLASSES].sort());
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

test('--image-size 64 trains torchvision\'s AlexNet; safetensors weights carry the record to test and predict', async (t) => {
  const dir = tempDir();
  const env = { ...process.env, TORCHBRIDGE_CACHE: path.join(dir, 'cache') };
  const cli64 = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 600_000, env });
  const root = path.join(dir, 'images');
  const written = await writeImageFolder(root, CLASSES, 12);
  const weights = path.join(dir, 'tv.safetensors');
  const common = ['--dataset', 'imagefolder', '--data', root, '--image-size', '64', '--threads', '2'];
  const tr = cli64(['train', ...common, '--epochs', '1', '--limit-train', '16', '--limit-test', '6', '--batch-size', '8', '--checkpoint', weights]);
  t.is(tr.status, 0, tr.stderr);
  t.regex(tr.stdout, /36 images in 3 classes \(33 training, 3 validation\), 64x64/);
  const te = cli64(['test', ...common.filter((a) => a !== '--image-size' && a !== '64'), '--checkpoint', weights]);
  t.is(te.status, 0, te.stderr);
  t.regex(te.stdout, /64x64/, 'the size comes from the weights\' record');
  t.regex(te.stdout, /Test accuracy for AlexNet: \d+\.\d\d% \(\d\/3\)/);
  const pr = cli64(['predict', '--json', '--checkpoint', weights, written.frog[0]]);
  t.is(pr.status, 0, pr.stderr);
  t.deepEqual(JSON.parse(pr.stdout).predictions.map((p: { label: string }) => p.label).sort(), [...CLASSES].sort());
  fs.rmSync(dir, { recursive: true, force: true });
});
