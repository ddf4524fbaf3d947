// Forward values and gradients of the layers against Python PyTorch on the same
// inputs and weights: test/python/nn_ref.py builds the same torch.nn module,
// loads our weights and runs forward and backward with our upstream gradient.
import test from 'ava';
import { crossEntropy } from '../../src/nn/functional';
import { Conv2d, LocalResponseNorm, Linear, MaxPool2d } from '../../src/nn/layers';
import { Module } from '../../src/nn/module';
import { SGD } from '../../src/optim/sgd';
import { Value } from '../../src/serialize';
import { DType, noGrad, rand, randint, randn, Tensor, tensor } from '../../src/tensor';
import { manualSeed } from '../../src/runtime';
import { assertClose, closeness } from '../helpers/compare';
import { asRecord, disposeAll, exchange } from '../helpers/python';

interface Built {
  /** Options as nn_ref.py reads them. */
  config: Record<string, Value>;
  x: Tensor;
  module?: Module;
  run: (x: Tensor) => Tensor;
}

interface Case {
  name: string;
  build: () => Built;
}

// float32: 1e-5 relative (atol 1e-6 at most, and 1e-5 of the tensor's largest
// value: see Tolerance.scaleAtol). float64: 1e-10, which a float32 computation
// (rounding about 6e-8 relative) cannot meet; the control below checks that.
const tol = { rtol: 1e-5, atol: 1e-6 };
const tol64 = { rtol: 1e-10, atol: 1e-12 };
const tolFor = (dtype: DType) => (dtype === 'float64' ? tol64 : tol);

function input(shape: number[], dtype: DType = 'float32'): Tensor {
  return randn(shape, { dtype, requiresGrad: true });
}

/** Python's module.to(torch.float64): the parameters change dtype in place. */
function toDtype<M extends Module>(m: M, dtype: DType): M {
  noGrad(() => {
    for (const p of m.parameters()) {
      const c = p.to(dtype);
      p.setData(c);
      c.dispose();
    }
  });
  return m;
}

function conv(name: string, inC: number, outC: number, k: [number, number], o: {
  stride?: [number, number]; padding?: [number, number]; dilation?: [number, number]; groups?: number; bias?: boolean;
}, xShape: number[], dtype: DType = 'float32'): Case {
  return {
    name,
    build: () => {
      const m = toDtype(new Conv2d(inC, outC, k, o), dtype);
      return {
        module: m,
        x: input(xShape, dtype),
        run: (x) => m.forward(x),
        config: {
          kind: 'conv2d', in_channels: inC, out_channels: outC, kernel_size: k, stride: o.stride ?? [1, 1],
          padding: o.padding ?? [0, 0], dilation: o.dilation ?? [1, 1], groups: o.groups ?? 1, bias: o.bias ?? true,
        },
      };
    },
  };
}

function linear(name: string, inF: number, outF: number, bias: boolean, xShape: number[], dtype: DType = 'float32'): Case {
  return {
    name,
    build: () => {
      const m = toDtype(new Linear(inF, outF, { bias }), dtype);
      return { module: m, x: input(xShape, dtype), run: (x) => m.forward(x), config: { kind: 'linear', in_features: inF, out_features: outF, bias } };
    },
  };
}

function maxPool(name: string, k: [number, number], o: {
  stride?: [number, number]; padding?: [number, number]; dilation?: [number, number]; ceilMode?: boolean;
}, xShape: number[]): Case {
  return {
    name,
    build: () => {
      const m = new MaxPool2d(k, o);
      return {
        x: input(xShape),
        run: (x) => m.forward(x),
        config: {
          kind: 'max_pool2d', kernel_size: k, stride: o.stride ?? k, padding: o.padding ?? [0, 0],
          dilation: o.dilation ?? [1, 1], ceil_mode: o.ceilMode ?? false,
        },
      };
    },
  };
}

function lrn(name: string, size: number, alpha: number, beta: number, k: number, xShape: number[], dtype: DType = 'float32'): Case {
  return {
    name,
    build: () => {
      const m = new LocalResponseNorm(size, alpha, beta, k);
      return { x: input(xShape, dtype), run: (x) => m.forward(x), config: { kind: 'local_response_norm', size, alpha, beta, k } };
    },
  };
}

function ce(name: string, n: number, c: number, o: {
  reduction?: 'mean' | 'sum' | 'none'; ignoreIndex?: number; labelSmoothing?: number; weighted?: boolean; probabilities?: boolean;
}): Case {
  return {
    name,
    build: () => {
      const x = input([n, c]);
      let target: Tensor;
      if (o.probabilities) {
        target = rand([n, c]).softmax(1);
      } else {
        target = randint(0, c, [n]);
        if (o.ignoreIndex !== undefined) {
          // Make a few targets the ignored index.
          const vals = target.toArray().map((v, i) => (i % 3 === 0 ? o.ignoreIndex as number : v));
          target.dispose();
          target = tensor(BigInt64Array.from(vals.map(BigInt)), [n]);
        }
      }
      const weight = o.weighted ? rand([c]).add(0.5) : null;
      const reduction = o.reduction ?? 'mean';
      const ignoreIndex = o.ignoreIndex ?? -100;
      const labelSmoothing = o.labelSmoothing ?? 0;
      return {
        x,
        run: (logits) => crossEntropy(logits, target, { weight, reduction, ignoreIndex, labelSmoothing }),
        config: {
          kind: 'cross_entropy', target, weight, reduction, ignore_index: ignoreIndex, label_smoothing: labelSmoothing,
        },
      };
    },
  };
}

const cases: Case[] = [
  conv('conv2d 3->8 k3', 3, 8, [3, 3], {}, [2, 3, 10, 10]),
  conv('conv2d AlexNet conv1 (k4 s2)', 3, 64, [4, 4], { stride: [2, 2] }, [2, 3, 32, 32]),
  conv('conv2d padding 1', 16, 12, [3, 3], { padding: [1, 1] }, [2, 16, 7, 7]),
  conv('conv2d stride/padding/dilation pairs', 4, 6, [3, 2], { stride: [2, 1], padding: [1, 2], dilation: [2, 1] }, [3, 4, 11, 9]),
  conv('conv2d groups 2 no bias', 6, 4, [3, 3], { groups: 2, bias: false }, [2, 6, 8, 8]),
  conv('conv2d depthwise', 5, 5, [3, 3], { groups: 5, padding: [1, 1] }, [2, 5, 6, 6]),
  conv('conv2d float64', 3, 5, [3, 3], { padding: [1, 1] }, [2, 3, 6, 6], 'float64'),
  linear('linear 20->7', 20, 7, true, [4, 20]),
  linear('linear no bias', 9, 3, false, [5, 9]),
  linear('linear batched 3D input', 8, 6, true, [2, 3, 8]),
  linear('linear AlexNet fc3 (4608->10)', 4608, 10, true, [4, 4608]),
  linear('linear float64', 12, 5, true, [3, 12], 'float64'),
  maxPool('maxPool2d k2 s1', [2, 2], { stride: [1, 1] }, [2, 3, 9, 9]),
  maxPool('maxPool2d k2 s2', [2, 2], {}, [2, 3, 8, 8]),
  maxPool('maxPool2d k3 s2 padding 1', [3, 3], { stride: [2, 2], padding: [1, 1] }, [2, 4, 9, 9]),
  maxPool('maxPool2d dilation 2 ceil mode', [3, 3], { stride: [2, 2], dilation: [2, 2], ceilMode: true }, [1, 3, 12, 11]),
  lrn('localResponseNorm AlexNet paper (5, 1e-4, 0.75, 2)', 5, 1e-4, 0.75, 2, [2, 8, 6, 6]),
  lrn('localResponseNorm strong (size 3, alpha 0.5)', 3, 0.5, 0.75, 1, [2, 7, 5, 5]),
  lrn('localResponseNorm even size 4', 4, 0.3, 0.6, 1.5, [2, 9, 4, 4]),
  lrn('localResponseNorm 3D input', 5, 0.2, 0.75, 1, [3, 8, 10]),
  lrn('localResponseNorm 5D input', 3, 0.2, 0.75, 1, [2, 6, 3, 4, 5]),
  lrn('localResponseNorm float64', 5, 0.1, 0.75, 2, [2, 8, 3, 3], 'float64'),
  ce('crossEntropy mean', 16, 10, {}),
  ce('crossEntropy sum', 12, 5, { reduction: 'sum' }),
  ce('crossEntropy none', 12, 5, { reduction: 'none' }),
  ce('crossEntropy class weights', 16, 6, { weighted: true }),
  ce('crossEntropy ignoreIndex', 15, 4, { ignoreIndex: 2 }),
  ce('crossEntropy labelSmoothing', 16, 10, { labelSmoothing: 0.1 }),
  ce('crossEntropy weights + smoothing + ignore', 15, 7, { weighted: true, labelSmoothing: 0.2, ignoreIndex: 0 }),
  ce('crossEntropy class probabilities', 8, 5, { probabilities: true }),
];

interface Ours {
  y: Tensor;
  gx: Tensor | null;
  grads: Record<string, Tensor | null>;
}

const ours = new Map<string, Ours>();
// The float64 cases computed again in float32 (same inputs and weights), results
// cast back to float64: the comparison must reject them.
const oursIn32 = new Map<string, Ours>();
let reference: Record<string, Value> = {};

/** The case's computation with its input, weights and upstream gradient cast to float32; results as float64. */
function inFloat32(b: Built, gy: Tensor): Ours {
  const x = b.x.detach().to('float32');
  x.requiresGrad = true;
  if (b.module) {
    // Drop the float64 gradients (the results already hold them): SGD.zeroGrad sets them to none.
    const params = b.module.parameters();
    const clear = new SGD(params);
    clear.zeroGrad();
    clear.dispose();
    toDtype(b.module, 'float32');
  }
  const y = b.run(x);
  y.backward(gy.to('float32'));
  const back = (u: Tensor | null) => u && u.to('float64');
  const grads: Record<string, Tensor | null> = {};
  for (const [k, p] of b.module?.namedParameters() ?? []) grads[k] = back(p.grad);
  return { y: back(y.detach())!, gx: back(x.grad), grads };
}

test.before(async () => {
  const inputs: Record<string, Value> = {};
  manualSeed(1234);
  for (const c of cases) {
    const b = c.build();
    const y = b.run(b.x);
    const gy = randn(y.shape);
    y.backward(gy);
    const grads: Record<string, Tensor | null> = {};
    const state: Record<string, Tensor> = {};
    for (const [k, p] of b.module?.namedParameters() ?? []) {
      grads[k] = p.grad;
      state[k] = p.detach();
    }
    ours.set(c.name, { y: y.detach(), gx: b.x.grad, grads });
    if (b.x.dtype === 'float64') oursIn32.set(c.name, inFloat32(b, gy));
    inputs[c.name] = {
      ...b.config,
      x: b.x.detach(),
      gy,
      ...(b.module ? { state } : {}),
    };
  }
  const { outputs } = await exchange('nn_ref.py', inputs);
  reference = asRecord(outputs, 'nn_ref.py output');
  disposeAll(inputs);
});

test.after.always(() => {
  disposeAll(reference);
  for (const o of [...ours.values(), ...oursIn32.values()]) {
    o.y.dispose();
    o.gx?.dispose();
    for (const g of Object.values(o.grads)) g?.dispose();
  }
});

for (const c of cases) {
  test(`${c.name}: forward and gradients match PyTorch`, (t) => {
    const o = ours.get(c.name);
    const r = asRecord(reference[c.name], c.name);
    if (!o) return t.fail('no result');
    const want = tolFor((r.y as Tensor).dtype);
    assertClose(t, o.y, r.y as Tensor, 'output', want);
    assertClose(t, o.gx, r.gx as Tensor, 'grad of input', want);
    const refGrads = Object.keys(r).filter((k) => k.startsWith('g_')).map((k) => k.slice(2));
    t.deepEqual(Object.keys(o.grads).sort(), refGrads.sort(), 'the same parameters');
    for (const k of refGrads) assertClose(t, o.grads[k], r[`g_${k}`] as Tensor, `grad of ${k}`, want);
  });
}

test('the reference really differs from a perturbed result (the comparison can fail)', (t) => {
  const o = ours.get('conv2d 3->8 k3');
  const r = asRecord(reference['conv2d 3->8 k3']);
  if (!o) return t.fail('no result');
  const y = r.y as Tensor;
  const nudged = y.mul(1 + 1e-4);
  // A 1e-4 relative error in the output must be caught.
  t.false(closeness(nudged, y, tol).ok);
  t.true(closeness(o.y, y, tol).ok);
  // On a tensor of scale 1e-3 too, where the fixed atol of 1e-6 let a 1e-4 (up to
  // 1e-3) relative error through: atol is scaled to the tensor.
  const small = y.mul(1e-3), smallNudged = small.mul(1 + 1e-4);
  t.false(closeness(smallNudged, small, tol).ok, 'a 1e-4 relative error on a tensor of scale 1e-3 is caught');
  t.true(closeness(smallNudged, small, { ...tol, scaleAtol: false }).ok, 'the fixed atol would have let it through');
  for (const x of [nudged, small, smallNudged]) x.dispose();
});

test('the float64 comparison rejects the same cases computed in float32', (t) => {
  t.deepEqual([...oursIn32.keys()], ['conv2d float64', 'linear float64', 'localResponseNorm float64']);
  for (const [name, o] of oursIn32) {
    const r = asRecord(reference[name]);
    t.is((r.y as Tensor).dtype, 'float64');
    // Each value computed in float32 fails the float64 tolerance somewhere...
    t.false(closeness(o.y, r.y as Tensor, tol64).ok, `${name}: output in float32 passed the float64 check`);
    t.false(closeness(o.gx!, r.gx as Tensor, tol64).ok, `${name}: grad of input in float32 passed the float64 check`);
    for (const [k, g] of Object.entries(o.grads)) {
      t.false(closeness(g!, r[`g_${k}`] as Tensor, tol64).ok, `${name}: grad of ${k} in float32 passed the float64 check`);
    }
    // ...and passes the float32 one: it is the same computation, only rounded to float32.
    t.true(closeness(o.y, r.y as Tensor, tol).ok, `${name}: output in float32 within the float32 tolerance`);
  }
});
