// The trainer's file options, through the CLI: --format safetensors writes the
// final weights and a model-<epoch>.safetensors beside each epoch's .pt
// checkpoint, each equal bit for bit to the model in that checkpoint, and
// `test` reads them; --tensorboard logs train loss, lr and momentum every
// --log-every steps and val loss and accuracy every epoch, which TensorBoard's
// own reader reads back with the values the run printed.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Parameter } from '../../src/nn/module';
import { OneCycleLR } from '../../src/optim/lr_scheduler';
import { SGD } from '../../src/optim/sgd';
import { loadSafetensors } from '../../src/safetensors';
import { disposeValue, load } from '../../src/serialize';
import { Tensor, tensor } from '../../src/tensor';
import { pythonScript, repoRoot, runPython, tempDir } from '../helpers/python';
import { devData as data } from '../helpers/data';

const cli = path.join(repoRoot, 'dist', 'src', 'cli.js');
const run = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 600_000 });

/** Keys whose dtype, shape or values differ (NaN equal to NaN), and keys only one side has. */
function differences(a: Record<string, Tensor>, b: Record<string, Tensor>): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].filter((k) => !a[k] || !b[k] || a[k].dtype !== b[k].dtype || String(a[k].shape) !== String(b[k].shape) ||
    !Buffer.from(a[k].data().buffer).equals(Buffer.from(b[k].data().buffer)));
}

test('--format and --tensorboard are refused when wrong, before any training', (t) => {
  const cases: [string[], RegExp][] = [
    [['train', '--format', 'onnx'], /Expected one of 'pt', 'safetensors' for --format but received 'onnx'/],
    [['train', '--format', 'safetensors', '--checkpoint', 'a.pt'], /--checkpoint must end in \.safetensors with --format safetensors/],
    [['train', '--format', 'pt', '--checkpoint', 'a.safetensors'], /--checkpoint ends in \.safetensors, which --format pt does not write/],
    [['train', '--tensorboard', ''], /Expected non-empty string for --tensorboard but received ''/],
  ];
  for (const [args, re] of cases) {
    const r = run(args);
    t.is(r.status, 2, args.join(' '));
    t.regex(r.stderr, re, args.join(' '));
  }
  const help = run(['--help']);
  t.regex(help.stdout, /--tensorboard <dir>/);
  t.regex(help.stdout, /--format <f> +Weights files: pt \(PyTorch\) or safetensors/);
});

test('train --format safetensors --tensorboard: weights beside each checkpoint, and the logged curves', async (t) => {
  const dir = tempDir();
  try {
    const ckpts = path.join(dir, 'ckpt');
    const logs = path.join(dir, 'tb');
    const final = path.join(dir, 'final.safetensors');
    const tr = run(['train', '--data', data, '--epochs', '2', '--limit-train', '128', '--limit-test', '100', '--batch-size', '64',
      '--seed', '3', '--log-every', '1', '--checkpoint-dir', ckpts, '--checkpoint', final, '--tensorboard', logs]);
    t.is(tr.status, 0, tr.stderr);
    t.deepEqual(fs.readdirSync(ckpts).sort(), ['checkpoint-0001-000000.pt', 'checkpoint-0002-000000.pt', 'model-0001.safetensors', 'model-0002.safetensors']);

    // Each model file is the model of the checkpoint of its epoch; the last is the final weights.
    for (const epoch of [1, 2]) {
      const { tensors, metadata } = await loadSafetensors(path.join(ckpts, `model-000${epoch}.safetensors`));
      const ckpt = (await load(path.join(ckpts, `checkpoint-000${epoch}-000000.pt`))) as { model: Record<string, Tensor> };
      try {
        t.deepEqual(metadata, { format: 'pt', epoch: String(epoch) });
        t.is(Object.keys(tensors).length, 16);
        t.deepEqual(differences(tensors, ckpt.model), [], `model-000${epoch} equals checkpoint ${epoch}'s model`);
        if (epoch === 2) {
          const last = await loadSafetensors(final);
          t.deepEqual(last.metadata, { format: 'pt' });
          t.deepEqual(differences(last.tensors, tensors), [], 'the final weights are epoch 2\'s');
          Object.values(last.tensors).forEach((x) => x.dispose());
        } else {
          const second = (await load(path.join(ckpts, 'checkpoint-0002-000000.pt'))) as { model: Record<string, Tensor> };
          t.true(differences(tensors, second.model).length > 0, 'control: epoch 1\'s weights differ from epoch 2\'s');
          disposeValue(second as never);
        }
      } finally {
        Object.values(tensors).forEach((x) => x.dispose());
        disposeValue(ckpt as never);
      }
    }

    // `test` reads the .safetensors file by its extension and agrees with the run.
    const te = run(['test', '--data', data, '--checkpoint', final, '--limit-test', '100']);
    t.is(te.status, 0, te.stderr);
    const acc = /Test accuracy for AlexNet: (\d+\.\d\d)%/.exec(te.stdout)![1];
    t.true(tr.stdout.includes(`Test accuracy for AlexNet at epoch 2: ${acc}%`));

    // TensorBoard: 2 steps per epoch, logged every step; val after each epoch.
    const [file] = fs.readdirSync(logs);
    t.regex(file, /^events\.out\.tfevents\.\d{10}\./);
    const tb = JSON.parse(runPython(pythonScript('tensorboard_ref.py'), ['read', logs])) as {
      tags: { scalars: string[] }; scalars: Record<string, { step: number; value: number }[]>;
    };
    t.deepEqual(tb.tags.scalars, ['train/loss', 'train/lr', 'train/momentum', 'val/accuracy', 'val/loss']);
    const steps = (tag: string) => tb.scalars[tag].map((e) => e.step);
    for (const tag of ['train/loss', 'train/lr', 'train/momentum']) t.deepEqual(steps(tag), [1, 2, 3, 4], tag);
    for (const tag of ['val/loss', 'val/accuracy']) t.deepEqual(steps(tag), [2, 4], tag);
    const printed = [...tr.stdout.matchAll(/\[Epoch \d, Iteration \d\] loss: (\d+\.\d{3})/g)].map((m) => Number(m[1]));
    t.is(printed.length, 4);
    tb.scalars['train/loss'].forEach((e, i) => t.true(Math.abs(e.value - printed[i]) <= 5e-4, `loss at step ${e.step}: ${e.value} printed as ${printed[i]}`));
    const accuracies = [...tr.stdout.matchAll(/Test accuracy for AlexNet at epoch \d: (\d+\.\d\d)%/g)].map((m) => Number(m[1]));
    tb.scalars['val/accuracy'].forEach((e, i) => t.true(Math.abs(e.value - accuracies[i]) <= 0.005 + 1e-6, `accuracy ${e.value} printed as ${accuracies[i]}`));
    // lr and momentum: the recipe's OneCycleLR (2 epochs of 2 steps) after each step, as float32.
    const p = new Parameter(tensor([0]));
    const sgd = new SGD([p], { lr: 1.0, weightDecay: 5e-4 });
    const sched = new OneCycleLR(sgd, 0.1, { epochs: 2, stepsPerEpoch: 2, divFactor: 25, finalDivFactor: 1e4, pctStart: 0.3 });
    const expected = { lr: [] as number[], momentum: [] as number[] };
    const before = [Math.fround(sgd.paramGroups[0].lr)]; // the lr each step ran with
    for (let i = 0; i < 4; i++) {
      sched.step();
      expected.lr.push(Math.fround(sgd.paramGroups[0].lr));
      expected.momentum.push(Math.fround(sgd.paramGroups[0].momentum));
    }
    t.deepEqual(tb.scalars['train/lr'].map((e) => e.value), expected.lr);
    t.deepEqual(tb.scalars['train/momentum'].map((e) => e.value), expected.momentum);
    before.push(...expected.lr.slice(0, 3));
    t.notDeepEqual(before, expected.lr, 'control: the lr each step ran with is another sequence, so a lag of one step would show');
    sgd.dispose();
    p.dispose();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
