// Seeded default initialisation equals Python's: manualSeed(n) then a layer
// gives bit-identical weights to torch.manual_seed(n) then the torch.nn layer,
// because both call libtorch's uniform_ on the default generator with the same
// bounds in the same order. The same holds for the whole AlexNetModel.
import test from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AlexNetModel } from '../../src/models/alexnet';
import { dropout } from '../../src/nn/functional';
import { Conv2d, Linear } from '../../src/nn/layers';
import { Module } from '../../src/nn/module';
import { load, Value } from '../../src/serialize';
import { empty, ones, rand, randint, randn, randperm, Tensor, tidy } from '../../src/tensor';
import { manualSeed } from '../../src/runtime';
import { assertEqualTensors, closeness } from '../helpers/compare';
import { asRecord, disposeAll, exchange, pythonScript, runPython, tempDir } from '../helpers/python';

type LayerSpec =
  | { kind: 'conv2d'; in_channels: number; out_channels: number; kernel_size: [number, number]; stride: [number, number];
    padding: [number, number]; groups: number; bias: boolean }
  | { kind: 'linear'; in_features: number; out_features: number; bias: boolean };

const conv = (i: number, o: number, k: [number, number], opts: { stride?: [number, number]; padding?: [number, number]; groups?: number; bias?: boolean } = {}): LayerSpec => ({
  kind: 'conv2d', in_channels: i, out_channels: o, kernel_size: k, stride: opts.stride ?? [1, 1],
  padding: opts.padding ?? [0, 0], groups: opts.groups ?? 1, bias: opts.bias ?? true,
});
const linear = (i: number, o: number, bias = true): LayerSpec => ({ kind: 'linear', in_features: i, out_features: o, bias });

function build(s: LayerSpec): Module {
  if (s.kind === 'conv2d') {
    return new Conv2d(s.in_channels, s.out_channels, s.kernel_size, { stride: s.stride, padding: s.padding, groups: s.groups, bias: s.bias });
  }
  return new Linear(s.in_features, s.out_features, { bias: s.bias });
}

const layerCases: { name: string; seed: number; layers: LayerSpec[] }[] = [
  { name: 'Conv2d(3, 64, 4, stride 2)', seed: 0, layers: [conv(3, 64, [4, 4], { stride: [2, 2] })] },
  { name: 'Conv2d(16, 8, (3, 5), padding 1) seed 42', seed: 42, layers: [conv(16, 8, [3, 5], { padding: [1, 1] })] },
  { name: 'Conv2d groups 4, no bias', seed: 3, layers: [conv(8, 12, [3, 3], { groups: 4, bias: false })] },
  { name: 'Linear(9216, 10)', seed: 1, layers: [linear(9216, 10)] },
  { name: 'Linear(7, 5) no bias, seed 2**40', seed: 2 ** 40, layers: [linear(7, 5, false)] },
  { name: 'a stack: conv, conv, linear, linear in order', seed: 123, layers: [conv(3, 6, [5, 5]), conv(6, 16, [5, 5]), linear(400, 120), linear(120, 84)] },
];

type Draw = { kind: string; [k: string]: Value };
const rngCases: { name: string; seed: number; draws: Draw[]; ours: () => Tensor[] }[] = [
  {
    name: 'randn, rand, randint, randperm in sequence',
    seed: 5,
    draws: [{ kind: 'randn', shape: [3, 17] }, { kind: 'rand', shape: [40] }, { kind: 'randint', low: -3, high: 11, shape: [25] }, { kind: 'randperm', n: 50, shape: [] }],
    ours: () => [randn([3, 17]), rand([40]), randint(-3, 11, [25]), randperm(50)],
  },
  {
    name: 'normal_ and uniform_',
    seed: 99,
    draws: [{ kind: 'normal_', shape: [64], mean: 2, std: 0.5 }, { kind: 'uniform_', shape: [33], low: -0.25, high: 0.75 }],
    ours: () => [empty([64]).normal_(2, 0.5), empty([33]).uniform_(-0.25, 0.75)],
  },
  {
    name: 'dropout mask',
    seed: 2024,
    draws: [{ kind: 'dropout', shape: [1000], p: 0.5 }, { kind: 'dropout', shape: [10, 30], p: 0.2 }],
    ours: () => [dropout(ones([1000]), 0.5, true), dropout(ones([10, 30]), 0.2, true)],
  },
];

let reference: Record<string, Value>;
const ours = new Map<string, Tensor[]>();
const oursLayers = new Map<string, Record<string, Tensor>[]>();

test.before(async () => {
  const inputs: Record<string, Value> = {};
  for (const c of layerCases) {
    manualSeed(c.seed);
    oursLayers.set(c.name, c.layers.map((s) => build(s).stateDict()));
    inputs[c.name] = { seed: c.seed, layers: c.layers as unknown as Value };
  }
  for (const c of rngCases) {
    manualSeed(c.seed);
    ours.set(c.name, c.ours());
    inputs[c.name] = { seed: c.seed, draws: c.draws };
  }
  reference = asRecord((await exchange('init_ref.py', inputs)).outputs);
  disposeAll(inputs);
});

test.after.always(() => {
  disposeAll(reference);
  for (const ts of ours.values()) ts.forEach((t) => t.dispose());
  for (const sds of oursLayers.values()) sds.forEach((sd) => Object.values(sd).forEach((t) => t.dispose()));
});

for (const c of layerCases) {
  test(`seeded ${c.name} equals torch.nn's initialisation exactly`, (t) => {
    const mine = oursLayers.get(c.name)!;
    const theirs = reference[c.name] as Record<string, Tensor>[];
    t.is(theirs.length, mine.length);
    mine.forEach((sd, i) => {
      t.deepEqual(Object.keys(sd), Object.keys(theirs[i]), `layer ${i} keys (in order)`);
      for (const [k, v] of Object.entries(sd)) assertEqualTensors(t, v, theirs[i][k], `layer ${i} ${k}`);
    });
  });
}

for (const c of rngCases) {
  test(`seeded ${c.name} equal PyTorch's draws exactly`, (t) => {
    const mine = ours.get(c.name)!;
    const theirs = reference[c.name] as Tensor[];
    t.is(theirs.length, mine.length);
    mine.forEach((x, i) => assertEqualTensors(t, x, theirs[i], `draw ${i}`));
  });
}

test('a different seed gives different weights (the comparison can fail)', (t) => {
  manualSeed(1);
  const a = new Conv2d(3, 64, 4, { stride: 2 });
  const theirs = (reference['Conv2d(3, 64, 4, stride 2)'] as Record<string, Tensor>[])[0];
  t.false(closeness(a.weight, theirs.weight, { rtol: 0, atol: 0 }).ok);
  a.dispose();
});

test('seeded AlexNetModel equals the Python reference model\'s initialisation, parameter for parameter', async (t) => {
  const seed = 20240531;
  const dir = tempDir();
  const file = path.join(dir, 'alexnet.pt');
  try {
    runPython(pythonScript('init_ref.py'), ['alexnet', String(seed), file]);
    manualSeed(seed);
    const model = new AlexNetModel();
    const theirs = asRecord(await load(file));
    fs.rmSync(dir, { recursive: true, force: true });
    const mine = model.stateDict();
    t.deepEqual(Object.keys(mine), Object.keys(theirs), 'state-dict keys, in order');
    let total = 0;
    for (const [k, v] of Object.entries(mine)) {
      const ref = theirs[k] as Tensor;
      t.deepEqual(v.shape, ref.shape, `${k} shape`);
      t.is(v.dtype, ref.dtype, `${k} dtype`);
      const mismatches = tidy(() => v.eq(ref).sum().item());
      t.is(v.numel - mismatches, 0, `${k}: ${v.numel - mismatches} of ${v.numel} values differ`);
      total += v.numel;
    }
    t.is(total, 67_004_746, 'all of the parameters compared');
    disposeAll(theirs);
    Object.values(mine).forEach((x) => x.dispose());
    model.dispose();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
