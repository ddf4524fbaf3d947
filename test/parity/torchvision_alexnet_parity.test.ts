// TorchvisionAlexNet and PaperAlexNet against their Python twins
// (test/python/torchvision_alexnet_ref.py): Python's state dicts load strictly,
// eval-mode logits of the same 2-image 224x224 batch match to 1e-4 relative, and
// toString() equals print(model). Then fine-tuning: with the features frozen and
// the head replaced, one SGD (or Adam) step leaves the frozen weights bit for bit
// as they were.
import test from 'ava';
import { PaperAlexNet, TorchvisionAlexNet } from '../../src/models/torchvision_alexnet';
import { crossEntropy } from '../../src/nn/functional';
import { Linear, LocalResponseNorm } from '../../src/nn/layers';
import { Module } from '../../src/nn/module';
import { Adam } from '../../src/optim/adam';
import { Optimizer } from '../../src/optim/optimizer';
import { SGD } from '../../src/optim/sgd';
import { manualSeed } from '../../src/runtime';
import { noGrad, rand, randn, Tensor, tensor, tidy } from '../../src/tensor';
import { closeness, Tolerance } from '../helpers/compare';
import { asRecord, asTensorValue, disposeAll, exchange } from '../helpers/python';
import type { Value } from '../../src/serialize';

const SEED = 2012;
const tol: Tolerance = { rtol: 1e-4, atol: 1e-6 };

interface Twin { state: Record<string, Tensor>; repr: string; logits: Tensor }
let py: { x: Tensor; tv: Twin; paper: Twin; all: Value };

function twin(v: Value | undefined, what: string): Twin {
  const r = asRecord(v ?? null, what);
  const state = asRecord(r.state, `${what}.state`);
  if (typeof r.repr !== 'string') throw new TypeError(`${what}.repr is not a string`);
  return {
    state: Object.fromEntries(Object.entries(state).map(([k, t]) => [k, asTensorValue(t, k)])),
    repr: r.repr,
    logits: asTensorValue(r.logits, `${what}.logits`),
  };
}

test.before(async () => {
  const { outputs } = await exchange('torchvision_alexnet_ref.py', { seed: SEED });
  const r = asRecord(outputs);
  py = { x: asTensorValue(r.x, 'x'), tv: twin(r.tv, 'tv'), paper: twin(r.paper, 'paper'), all: outputs };
});

test.after.always(() => disposeAll(py?.all));

const logitsOf = (net: Module, x: Tensor): Tensor => noGrad(() => tidy(() => net.eval().forward(x)));

/** Loads `want`'s state strictly and checks keys, logits (with a control before loading) and print text. */
function checkAgainstPython(t: import('ava').ExecutionContext, net: Module, want: Twin): void {
  t.deepEqual(Object.keys(net.stateDict()), Object.keys(want.state), 'state-dict keys, in order');
  const before = logitsOf(net, py.x);
  // Control: differently seeded weights give other logits, so the match below is the weights'.
  t.false(closeness(before, want.logits, tol).ok, 'control: the logits depend on the weights');
  t.deepEqual(net.loadStateDict(want.state), { missingKeys: [], unexpectedKeys: [] });
  const ours = logitsOf(net, py.x);
  t.deepEqual(ours.shape, [2, 1000]);
  const c = closeness(ours, want.logits, tol);
  t.true(c.ok, `logits: ${c.bad} values differ, worst ${JSON.stringify(c.worst)} (atol ${c.atol})`);
  t.is(net.toString(), want.repr);
  before.dispose();
  ours.dispose();
}

test('TorchvisionAlexNet: torchvision\'s state dict loads strictly; logits and print text equal Python\'s', (t) => {
  manualSeed(SEED + 1);
  const net = new TorchvisionAlexNet();
  try {
    t.is(net.parameters().reduce((n, p) => n + p.numel, 0), 61_100_840);
    checkAgainstPython(t, net, py.tv);
  } finally {
    net.dispose();
  }
});

test('PaperAlexNet: its Python twin\'s state dict loads strictly; logits and print text equal Python\'s', (t) => {
  manualSeed(SEED + 1);
  const net = new PaperAlexNet();
  try {
    t.is(net.parameters().reduce((n, p) => n + p.numel, 0), 62_378_344);
    checkAgainstPython(t, net, py.paper);
  } finally {
    net.dispose();
  }
});

test('after the same manualSeed both models start with Python\'s default-initialised weights, bit for bit', (t) => {
  manualSeed(SEED);
  // Built in the Python script's order: the generator runs through torchvision's model first.
  const nets: [Module, Twin][] = [[new TorchvisionAlexNet(), py.tv], [new PaperAlexNet(), py.paper]];
  for (const [net, want] of nets) {
    for (const [k, p] of net.namedParameters()) {
      const c = closeness(p, want.state[k], { rtol: 0, atol: 0 });
      t.true(c.ok, `${k}: ${c.bad} values differ`);
    }
    net.dispose();
  }
});

test('PaperAlexNet maps 224x224 to logits through 55, 27, 13 and 6 pixel maps; forwardAsync equals forward', async (t) => {
  manualSeed(SEED);
  const net = new PaperAlexNet({ numClasses: 10 }).eval();
  const x = randn([2, 3, 224, 224]);
  const shapes: number[][] = [];
  noGrad(() => tidy(() => {
    let y = x;
    for (const m of net.features.children()) shapes.push((y = m.forward(y)).shape);
  }));
  t.deepEqual(shapes[0], [2, 96, 55, 55]);
  t.deepEqual(shapes[3], [2, 96, 27, 27]);
  t.deepEqual(shapes[7], [2, 256, 13, 13]);
  t.deepEqual(shapes[14], [2, 256, 6, 6]);
  const sync = logitsOf(net, x);
  t.deepEqual(sync.shape, [2, 10]);
  const async = await net.forwardAsync(x);
  t.true(closeness(async, sync, { rtol: 0, atol: 0 }).ok);
  const tv = new TorchvisionAlexNet().eval();
  const tvSync = logitsOf(tv, x), tvAsync = await tv.forwardAsync(x);
  t.true(closeness(tvAsync, tvSync, { rtol: 0, atol: 0 }).ok);
  // AdaptiveAvgPool2d takes other sizes to 6x6 too.
  const small = randn([1, 3, 100, 100]);
  const smallOut = await tv.forwardAsync(small);
  t.deepEqual(smallOut.shape, [1, 1000]);
  for (const m of [net, tv]) m.dispose();
  for (const y of [x, sync, async, tvSync, tvAsync, small, smallOut]) y.dispose();
});

test('PaperAlexNet\'s normalisation is the paper\'s formula: a / (2 + 1e-4 * sum of a^2 over 5 channels)^0.75', (t) => {
  const lrn = new PaperAlexNet().features[2];
  t.true(lrn instanceof LocalResponseNorm);
  const [n, c, hw] = [1, 7, 3];
  const x = rand([n, c, hw, hw]).mul(30); // large enough that alpha matters (the control below)
  const y = noGrad(() => lrn.forward(x));
  const a = x.data() as Float32Array;
  const want = new Float32Array(a.length);
  const asTorch = new Float32Array(a.length); // alpha 1e-4 passed to torch's LRN, which divides by 5
  for (let ch = 0; ch < c; ch++) {
    for (let i = 0; i < hw * hw; i++) {
      let sum = 0;
      for (let j = Math.max(0, ch - 2); j <= Math.min(c - 1, ch + 2); j++) sum += a[j * hw * hw + i] ** 2;
      const v = a[ch * hw * hw + i];
      want[ch * hw * hw + i] = v / (2 + 1e-4 * sum) ** 0.75;
      asTorch[ch * hw * hw + i] = v / (2 + (1e-4 / 5) * sum) ** 0.75;
    }
  }
  t.true(closeness(y, tensor(want, [n, c, hw, hw]), { rtol: 1e-5 }).ok);
  t.false(closeness(y, tensor(asTorch, [n, c, hw, hw]), { rtol: 1e-5 }).ok, 'control: alpha/5 gives other values');
});

/** Copies of every parameter's values, by name. */
function snapshot(net: Module): Map<string, Float32Array> {
  return new Map(net.namedParameters().map(([k, p]) => [k, (p.data() as Float32Array).slice()]));
}

const same = (a: Float32Array, b: Float32Array) => Buffer.from(a.buffer).equals(Buffer.from(b.buffer));

/** A fresh seeded TorchvisionAlexNet; with `freeze`, features frozen and a 10-class head. */
function fineTuneNet(freeze: boolean): TorchvisionAlexNet {
  manualSeed(SEED);
  const net = new TorchvisionAlexNet();
  if (freeze) {
    net.features.requiresGrad_(false);
    const old = net.classifier[6];
    net.classifier[6] = new Linear(4096, 10);
    old.dispose();
  }
  return net;
}

/** One training step on a fixed batch; returns what changed, by parameter name. */
function oneStep(net: Module, makeOpt: (ps: Tensor[]) => Optimizer): Map<string, boolean> {
  manualSeed(SEED + 2);
  const x = randn([2, 3, 224, 224]);
  const y = tensor([1, 7], { dtype: 'int64' });
  const before = snapshot(net);
  const opt = makeOpt(net.parameters());
  net.train();
  tidy(() => {
    opt.zeroGrad();
    crossEntropy(net.forward(x), y).backward();
    opt.step();
  });
  opt.dispose();
  const after = snapshot(net);
  return new Map([...before].map(([k, b]) => [k, !same(b, after.get(k) as Float32Array)]));
}

const sgd = (ps: Tensor[]) => new SGD(ps, { lr: 0.1, momentum: 0.9, weightDecay: 5e-4 });
const adam = (ps: Tensor[]) => new Adam(ps, { lr: 1e-3, weightDecay: 5e-4 });

for (const [name, makeOpt] of [['SGD', sgd], ['Adam', adam]] as const) {
  test(`fine-tuning with ${name}: frozen features stay bit for bit, the new head and the rest of the classifier train`, (t) => {
    const net = fineTuneNet(true);
    try {
      t.is(net.classifier.length, 7);
      t.is(String(net.classifier[6]), 'Linear(in_features=4096, out_features=10, bias=True)');
      t.is(net.parameters().filter((p) => p.requiresGrad).length, 6, 'the classifier\'s three Linear layers');
      const changed = oneStep(net, makeOpt);
      for (const [k, p] of net.namedParameters()) {
        if (k.startsWith('features.')) {
          t.false(changed.get(k), `${k} is frozen`);
          t.is(p.grad, null, `${k} has no gradient`);
          t.false(p.requiresGrad);
        } else {
          t.true(changed.get(k), `${k} trains`);
        }
      }
      t.deepEqual([...changed.keys()].filter((k) => k.startsWith('features.')).length, 10);
    } finally {
      net.dispose();
    }
  });
}

test('with the whole body frozen, one SGD step changes only the new head', (t) => {
  manualSeed(SEED);
  const net = new TorchvisionAlexNet().requiresGrad_(false);
  net.classifier[6].dispose();
  net.classifier[6] = new Linear(4096, 10);
  try {
    const changed = oneStep(net, sgd);
    const trained = [...changed].filter(([, c]) => c).map(([k]) => k);
    t.deepEqual(trained, ['classifier.6.weight', 'classifier.6.bias']);
  } finally {
    net.dispose();
  }
});

test('control: without freezing, the same SGD step changes the features too', (t) => {
  const net = fineTuneNet(false);
  try {
    const changed = oneStep(net, sgd);
    t.true([...changed.values()].every(Boolean), `unchanged: ${[...changed].filter(([, c]) => !c).map(([k]) => k)}`);
  } finally {
    net.dispose();
  }
});

test('requiresGrad_(true) unfreezes; a head without a forward plan runs in forward() and forwardAsync names it', async (t) => {
  const net = new TorchvisionAlexNet({ numClasses: 3 });
  try {
    net.requiresGrad_(false);
    t.true(net.parameters().every((p) => !p.requiresGrad));
    t.is(net.requiresGrad_(), net);
    t.true(net.parameters().every((p) => p.requiresGrad));
    t.throws(() => net.requiresGrad_('no' as unknown as boolean), { instanceOf: TypeError, message: /requiresGrad/ });

    class Scale extends Module {
      forward(x: Tensor): Tensor { return x.mul(2); }
    }
    net.classifier[6] = new Scale();
    const x = randn([1, 3, 64, 64]);
    const y = logitsOf(net, x);
    t.deepEqual(y.shape, [1, 4096]);
    await t.throwsAsync(net.forwardAsync(x), { message: /classifier\.6 \(Scale\) has a forward\(\) of its own/ });
    x.dispose();
    y.dispose();
  } finally {
    net.dispose();
  }
});

test('options are checked', (t) => {
  for (const M of [TorchvisionAlexNet, PaperAlexNet]) {
    t.throws(() => new M({ numClasses: 0 }), { instanceOf: TypeError, message: /numClasses/ });
    t.throws(() => new M({ dropout: 1.5 }), { instanceOf: TypeError, message: /dropout/ });
    t.throws(() => new M({ classes: 10 } as never), { instanceOf: TypeError, message: /classes/ });
  }
  const net = new TorchvisionAlexNet({ numClasses: 10, dropout: 0.25 });
  t.regex(String(net), /\(0\): Dropout\(p=0\.25, inplace=False\)[\s\S]*out_features=10, bias=True\)\n {2}\)\n\)$/);
  net.dispose();
});
