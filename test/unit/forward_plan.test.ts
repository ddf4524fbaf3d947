// Forward plans: for every layer type, forwardAsync (the plan, run on a worker
// thread) gives bit for bit what forward() gives on the JS thread, in the
// settings that change which kernel runs: channels_last inputs and weights, the
// convolution that oneDNN can't run in channels_last, both CPU Linear kernels,
// both max-pool routes (asserted with the route counters), training-mode dropout
// from the same seed, one intra-op thread. And the plan's own rules: module
// names, in-place layers that leave the caller's input alone, no autograd, and
// batch norm's training mode refused.
import test, { ExecutionContext } from 'ava';
import * as layers from '../../src/nn/layers';
import {
  AdaptiveAvgPool2d, AvgPool2d, BatchNorm2d, Conv2d, Dropout, Flatten, Linear, LocalResponseNorm, MaxPool2d, ReLU, Sequential,
} from '../../src/nn/layers';
import { autocast } from '../../src/amp';
import { Module } from '../../src/nn/module';
import { routeCounts, RouteCounts } from '../../src/routes';
import { getCpuLinearKernel, getNumThreads, manualSeed, setCpuLinearKernel, setNumThreads } from '../../src/runtime';
import { noGrad, rand, randn, Tensor } from '../../src/tensor';
import { assertEqualTensors } from '../helpers/compare';

interface Case {
  name: string;
  make: () => Module;
  input: () => Tensor;
  /** Mode to run in (default: eval). */
  training?: boolean;
  /** Seed the global generator before each run (dropout in training mode). */
  seed?: number;
  /** The routes each forward must take (counted around it). */
  routes?: Partial<RouteCounts>;
  /** More about forwardAsync's output y for input x. */
  check?: (t: ExecutionContext, y: Tensor, x: Tensor) => void;
  /** Runs the case with this setting in place, restoring it afterwards. */
  around?: (run: () => Promise<void>) => Promise<void>;
}

function channelsLast(m: Module): Module {
  for (const p of m.parameters()) {
    if (p.ndim !== 4) continue;
    const q = p.to({ memoryFormat: 'channels_last' });
    p.setData(q);
    q.dispose();
  }
  return m;
}

/** A BatchNorm2d whose running statistics are not the defaults (so eval mode uses them visibly). */
function batchNormWithStats(channels: number, options: ConstructorParameters<typeof BatchNorm2d>[1] = {}): BatchNorm2d {
  const bn = new BatchNorm2d(channels, options);
  if (bn.running_mean && bn.running_var) {
    const mean = randn([channels]), variance = rand([channels]).add(0.5);
    bn.running_mean.copy_(mean);
    bn.running_var.copy_(variance);
    mean.dispose();
    variance.dispose();
  }
  if (bn.weight) noGrad(() => bn.weight!.copy_(rand([channels]).add(0.5)));
  return bn;
}

const withKernel = (kernel: 'onednn' | 'blas') => async (run: () => Promise<void>) => {
  const before = getCpuLinearKernel();
  setCpuLinearKernel(kernel);
  try {
    await run();
  } finally {
    setCpuLinearKernel(before);
  }
};

/** Training-mode dropout really dropped: some values zero, the rest scaled. */
function drops(t: ExecutionContext, y: Tensor, x: Tensor): void {
  const out = y.toArray(), input = x.toArray();
  const zeros = out.filter((v) => v === 0).length;
  t.true(zeros > 0 && zeros < out.length, `${zeros} of ${out.length} dropped`);
  t.true(out.some((v, i) => v !== 0 && v !== input[i]), 'the kept values are scaled');
}

const cases: Case[] = [
  { name: 'Conv2d', make: () => new Conv2d(3, 4, 3), input: () => randn([2, 3, 8, 8]) },
  {
    name: 'Conv2d with stride, padding, dilation, groups and no bias',
    make: () => new Conv2d(4, 6, 3, { stride: 2, padding: 1, dilation: 2, groups: 2, bias: false }),
    input: () => randn([2, 4, 9, 9]),
  },
  {
    name: 'Conv2d in channels_last',
    make: () => channelsLast(new Conv2d(3, 8, 3, { padding: 1 })),
    input: () => randn([2, 3, 8, 8]).to({ memoryFormat: 'channels_last' }),
  },
  {
    // Padding beyond the kernel's reach: the NCHW fallback for oneDNN's channels_last kernel.
    name: 'Conv2d in channels_last with outputs that see only padding',
    make: () => channelsLast(new Conv2d(3, 4, 1, { padding: 1 })),
    input: () => randn([2, 3, 5, 5]).to({ memoryFormat: 'channels_last' }),
  },
  { name: 'Linear (oneDNN)', make: () => new Linear(8, 5), input: () => randn([3, 8]), around: withKernel('onednn') },
  { name: 'Linear (BLAS)', make: () => new Linear(8, 5), input: () => randn([3, 8]), around: withKernel('blas') },
  { name: 'Linear without bias on 3-D input', make: () => new Linear(8, 5, { bias: false }), input: () => randn([2, 3, 8]) },
  { name: 'ReLU', make: () => new ReLU(), input: () => randn([2, 3, 4, 4]) },
  { name: 'ReLU in place', make: () => new ReLU(true), input: () => randn([2, 3, 4, 4]) },
  {
    name: 'MaxPool2d, channels_last route',
    make: () => new MaxPool2d(2),
    input: () => randn([2, 16, 8, 8]),
    routes: { maxPool2dChannelsLast: 1, maxPool2dPlain: 0 },
  },
  {
    name: 'MaxPool2d with stride, padding and ceil mode, plain route',
    make: () => new MaxPool2d(3, { stride: 2, padding: 1, ceilMode: true }),
    input: () => randn([2, 3, 9, 9]),
    routes: { maxPool2dChannelsLast: 0, maxPool2dPlain: 1 },
  },
  { name: 'MaxPool2d with dilation', make: () => new MaxPool2d(2, { stride: 1, dilation: 2 }), input: () => randn([1, 2, 7, 7]) },
  {
    name: 'AvgPool2d',
    make: () => new AvgPool2d(3, { stride: 2, padding: 1, ceilMode: true, countIncludePad: false }),
    input: () => randn([2, 3, 9, 9]),
  },
  { name: 'AdaptiveAvgPool2d', make: () => new AdaptiveAvgPool2d([3, 2]), input: () => randn([2, 3, 7, 5]) },
  { name: 'Dropout in eval mode', make: () => new Dropout(0.5), input: () => randn([4, 32]) },
  { name: 'Dropout in training mode', make: () => new Dropout(0.3), input: () => randn([4, 64]), training: true, seed: 11, check: drops },
  {
    name: 'Dropout in place, training mode',
    make: () => new Dropout(0.5, true),
    input: () => randn([4, 64]),
    training: true,
    seed: 12,
    check: drops,
  },
  { name: 'Flatten', make: () => new Flatten(), input: () => randn([2, 3, 4, 4]) },
  { name: 'Flatten(0, 2)', make: () => new Flatten(0, 2), input: () => randn([2, 3, 4, 4]) },
  { name: 'LocalResponseNorm on 4-D input', make: () => new LocalResponseNorm(3, 1e-2, 0.75, 2), input: () => randn([2, 5, 4, 4]) },
  { name: 'LocalResponseNorm on 3-D input', make: () => new LocalResponseNorm(2), input: () => randn([2, 5, 7]) },
  { name: 'BatchNorm2d in eval mode', make: () => batchNormWithStats(3), input: () => randn([2, 3, 4, 4]) },
  { name: 'BatchNorm2d without affine, eval mode', make: () => batchNormWithStats(3, { affine: false }), input: () => randn([2, 3, 4, 4]) },
  {
    name: 'BatchNorm2d without running statistics, training mode',
    make: () => new BatchNorm2d(3, { trackRunningStats: false }),
    input: () => randn([4, 3, 4, 4]),
    training: true,
  },
  {
    name: 'Sequential of every layer type',
    make: () => new Sequential(new Conv2d(3, 16, 3, { padding: 1 }), batchNormWithStats(16), new ReLU(true), new LocalResponseNorm(3),
      new MaxPool2d(2), new Dropout(0.5), new AvgPool2d(2, { stride: 1 }), new AdaptiveAvgPool2d(2), new Flatten(), new Linear(64, 10)),
    input: () => randn([2, 3, 12, 12]),
    routes: { maxPool2dChannelsLast: 1 },
  },
  {
    name: 'Sequential on one intra-op thread',
    make: () => new Sequential(new Conv2d(3, 8, 3), new ReLU(), new Flatten(), new Linear(8 * 6 * 6, 4)),
    input: () => randn([3, 3, 8, 8]),
    around: async (run) => {
      const before = getNumThreads();
      setNumThreads(1);
      try {
        await run();
      } finally {
        setNumThreads(before);
      }
    },
  },
];

/** Route counts taken during `fn`, on this thread (forwardAsync's are added to its caller's). */
async function counted(fn: () => Promise<Tensor> | Tensor): Promise<[Tensor, RouteCounts]> {
  const before = routeCounts();
  const y = await fn();
  const after = routeCounts();
  const delta = Object.fromEntries(Object.entries(after).map(([k, n]) => [k, n - before[k as keyof RouteCounts]]));
  return [y, delta as unknown as RouteCounts];
}

function checkRoutes(t: ExecutionContext, label: string, got: RouteCounts, want: Partial<RouteCounts> | undefined): void {
  for (const [k, n] of Object.entries(want ?? {})) t.is(got[k as keyof RouteCounts], n, `${label}: route ${k}`);
}

for (const c of cases) {
  test.serial(`plan equals forward: ${c.name}`, async (t) => {
    manualSeed(1);
    const m = c.make().train(c.training ?? false);
    const x = c.input();
    const run = async () => {
      // Each run on its own copy: ReLU(true) writes into forward()'s input.
      const xSync = x.clone(), xAsync = x.clone();
      if (c.seed !== undefined) manualSeed(c.seed);
      const [sync, syncRoutes] = await counted(() => noGrad(() => m.forward(xSync)));
      if (c.seed !== undefined) manualSeed(c.seed);
      const [async, asyncRoutes] = await counted(() => m.forwardAsync(xAsync));
      assertEqualTensors(t, async, sync, c.name);
      c.check?.(t, async, x);
      t.deepEqual(async.strides, sync.strides, `${c.name}: memory layout`);
      t.false(async.requiresGrad, `${c.name}: no autograd`);
      checkRoutes(t, `${c.name} (forward)`, syncRoutes, c.routes);
      checkRoutes(t, `${c.name} (forwardAsync)`, asyncRoutes, c.routes);
      assertEqualTensors(t, xAsync, x, `${c.name}: forwardAsync left its input alone`);
      for (const y of [sync, async, xSync, xAsync]) y.dispose();
    };
    await (c.around ? c.around(run) : run());
    x.dispose();
    m.dispose();
  });
}

test('the cases cover every layer type', (t) => {
  const used = new Set<string>();
  const walk = (m: Module): void => {
    used.add(m.constructor.name);
    m.children().forEach(walk);
  };
  for (const c of cases) {
    const m = c.make();
    walk(m);
    m.dispose();
  }
  // Every exported layer class except the abstract base and the loss (two inputs, no plan).
  const exported: unknown[] = Object.values(layers);
  const layerClasses = exported.filter((k): k is { name: string; prototype: object } =>
    typeof k === 'function' && k.prototype instanceof Module && k !== layers.OpLayer && k !== layers.CrossEntropyLoss);
  t.true(layerClasses.length >= 11, `found ${layerClasses.length} layer classes`);
  for (const k of layerClasses) t.true(used.has(k.name), `a parity case uses ${k.name}`);
});

test('forwardPlan names each step\'s module by its dotted path', (t) => {
  const m = new Sequential(new Conv2d(1, 2, 3), new Sequential(new ReLU(), new Flatten()), new Linear(2, 2));
  const plan = m.forwardPlan();
  t.deepEqual(plan?.map((s) => [s.op, s.module]), [['conv2d', '0'], ['relu', '1.0'], ['flatten', '1.1'], ['linear', '2']]);
  t.deepEqual(new Conv2d(1, 2, 3).forwardPlan().map((s) => [s.op, s.module]), [['conv2d', '']]);
  m.dispose();
});

test('forwardPlan reads training as it is now: dropout drops only in training mode', (t) => {
  const d = new Dropout(0.25);
  t.deepEqual(d.forwardPlan()[0].args, [0.25, true, false]);
  d.eval();
  t.deepEqual(d.forwardPlan()[0].args, [0.25, false, false]);
});

test('BatchNorm2d in training mode with running statistics is refused, and its statistics stay as they were', async (t) => {
  const bn = batchNormWithStats(3);
  const mean = bn.running_mean!.clone();
  const e = await t.throwsAsync(bn.train().forwardAsync(randn([2, 3, 4, 4])));
  t.regex(e!.message, /^forwardAsync: batchNorm: batch norm in training mode updates its running statistics, .*call eval\(\) first/);
  const seq = new Sequential(new Conv2d(3, 3, 1), bn);
  const e2 = await t.throwsAsync(seq.forwardAsync(randn([2, 3, 4, 4])));
  t.regex(e2!.message, /^forwardAsync: batchNorm \(1\): batch norm in training mode/);
  assertEqualTensors(t, bn.running_mean!, mean, 'running mean untouched');
  t.is(bn.num_batches_tracked!.item(), 0);
  seq.dispose();
});

test('BatchNorm2d\'s plan checks for 4-D input as forward() does', async (t) => {
  const bn = batchNormWithStats(3).eval();
  t.throws(() => bn.forward(randn([2, 3])), { message: 'BatchNorm2d: expected 4D input (got 2D input)' });
  const e = await t.throwsAsync(bn.forwardAsync(randn([2, 3])));
  t.is(e!.message, 'forwardAsync: batchNorm: expected 4D input (got 2D input)');
  bn.dispose();
});

test('forwardAsync under grad mode with parameters that require grad: no graph, grad mode unchanged', async (t) => {
  const m = new Linear(4, 3);
  t.true(m.weight.requiresGrad);
  const y = await m.forwardAsync(randn([2, 4]));
  t.false(y.requiresGrad);
  const z = m.forward(randn([2, 4]));
  t.true(z.requiresGrad, 'the JS thread still records autograd');
  m.dispose();
});

test.serial('forwardAsync runs under the caller\'s autocast, as forward() does', async (t) => {
  const m = new Sequential(new Conv2d(3, 8, 3), new ReLU(), new Flatten(), new Linear(8 * 6 * 6, 4)).eval();
  const x = randn([2, 3, 8, 8]);
  const sync = autocast('cpu', 'bfloat16', () => noGrad(() => m.forward(x)));
  // The state is taken when the call is made, inside the region; the work runs after it has closed.
  const y = await autocast('cpu', 'bfloat16', () => m.forwardAsync(x));
  t.is(sync.dtype, 'bfloat16');
  assertEqualTensors(t, y, sync, 'bfloat16 output');
  const plain = await m.forwardAsync(x);
  t.is(plain.dtype, 'float32', 'outside the region: float32');
  for (const z of [sync, y, plain, x]) z.dispose();
  m.dispose();
});
