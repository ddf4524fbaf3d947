// The CPU kernel choices made for speed: float32 Linear in oneDNN
// (binding/cpu_linear.cc) agrees with at::linear to float32 rounding, and
// maxPool2d's channels_last route (binding/functional.cc) gives bit for bit what
// ATen's NCHW kernel (at::max_pool2d_with_indices, called directly) gives, ties
// and NaN included. The native route counters (src/routes.ts) show which route
// each call took.
import test from 'ava';
import { backends } from '../../src/device';
import { linear, maxPool2d } from '../../src/nn/functional';
import { atenMaxPool2d, countRoutes, RouteCounts } from '../../src/routes';
import { randint, randn, tensor, Tensor } from '../../src/tensor';
import { CpuLinearKernel, getCpuLinearKernel, manualSeed, setCpuLinearKernel } from '../../src/runtime';
import { assertClose, assertEqualTensors, closeness } from '../helpers/compare';

function leaf(t: Tensor): Tensor {
  const c = t.clone();
  c.requiresGrad = true;
  return c;
}

interface LinearRun { y: Tensor; gx: Tensor | null; gw: Tensor | null; gb: Tensor | null }

type View = (t: Tensor) => Tensor;
interface RunOptions {
  grads?: { x: boolean; w: boolean };
  /** Views applied to the leaves before linear(), so gradients flow back through them. */
  views?: { x?: View; w?: View; b?: View };
}

/** Forward and backward of linear() under one kernel, with a non-uniform upstream gradient. */
function linearRun(kernel: CpuLinearKernel, x: Tensor, w: Tensor, b: Tensor | null,
  { grads = { x: true, w: true }, views = {} }: RunOptions = {}): LinearRun {
  const id: View = (u) => u;
  const { x: vx = id, w: vw = id, b: vb = id } = views;
  setCpuLinearKernel(kernel);
  try {
    const xl = grads.x ? leaf(x) : x, wl = grads.w ? leaf(w) : w, bl = b && leaf(b);
    const y = linear(vx(xl), vw(wl), bl && vb(bl));
    manualSeed(7);
    const g = randn(y.shape, { dtype: y.dtype });
    y.mul(g).sum().backward();
    return { y: y.detach(), gx: grads.x ? xl.grad : null, gw: grads.w ? wl.grad : null, gb: bl ? bl.grad : null };
  } finally {
    setCpuLinearKernel('onednn');
  }
}

const libtorchMajor = Number(backends().libtorch.split('.')[0]);

test('float32 Linear on the CPU runs in oneDNN by default where libtorch has it', (t) => {
  // mkldnn::_linear_pointwise exists from libtorch 2.0 on; older ones keep at::linear.
  t.is(getCpuLinearKernel(), libtorchMajor >= 2 ? 'onednn' : 'blas');
  setCpuLinearKernel('blas');
  t.is(getCpuLinearKernel(), 'blas');
  setCpuLinearKernel('onednn');
  t.is(getCpuLinearKernel(), libtorchMajor >= 2 ? 'onednn' : 'blas');
});

test('setCpuLinearKernel rejects unknown kernels', (t) => {
  const e = t.throws(() => setCpuLinearKernel('mkl' as CpuLinearKernel), { instanceOf: TypeError });
  t.is(e!.message, "Expected one of 'onednn', 'blas' for kernel but received 'mkl' of type string");
});

for (const [name, bias] of [['with bias', true], ['without bias', false]] as const) {
  test(`oneDNN Linear matches at::linear in the output and every gradient, ${name}`, (t) => {
    manualSeed(0);
    const x = randn([48, 1536]), w = randn([768, 1536]).mul(0.03), b = bias ? randn([768]) : null;
    const blas = linearRun('blas', x, w, b);
    const onednn = linearRun('onednn', x, w, b);
    const tol = { rtol: 1e-5, atol: 1e-5 };
    assertClose(t, onednn.y, blas.y, 'output', tol);
    assertClose(t, onednn.gx, blas.gx, 'grad of input', tol);
    assertClose(t, onednn.gw, blas.gw, 'grad of weight', tol);
    if (bias) assertClose(t, onednn.gb, blas.gb, 'grad of bias', tol);
    else t.is(onednn.gb, null);
    // The same kernel twice: bit for bit the same (no atomics, fixed thread split).
    const again = linearRun('onednn', x, w, b);
    assertEqualTensors(t, again.y, onednn.y, 'output, second run');
    assertEqualTensors(t, again.gw!, onednn.gw!, 'grad of weight, second run');
  });
}

test('oneDNN Linear computes only the gradients asked for', (t) => {
  manualSeed(1);
  const x = randn([16, 64]), w = randn([32, 64]), b = randn([32]);
  const frozenWeight = linearRun('onednn', x, w, b, { grads: { x: true, w: false } });
  const blasFrozen = linearRun('blas', x, w, b, { grads: { x: true, w: false } });
  assertClose(t, frozenWeight.gx, blasFrozen.gx, 'grad of input, frozen weight');
  const dataInput = linearRun('onednn', x, w, b, { grads: { x: false, w: true } });
  const blasData = linearRun('blas', x, w, b, { grads: { x: false, w: true } });
  assertClose(t, dataInput.gw, blasData.gw, 'grad of weight, input without grad');
  assertClose(t, dataInput.gb, blasData.gb, 'grad of bias, input without grad');
});

test('Linear falls back to at::linear where oneDNN does not apply: float64, 3-D input', (t) => {
  manualSeed(2);
  const x64 = randn([8, 20], { dtype: 'float64' }), w64 = randn([5, 20], { dtype: 'float64' });
  const a = linearRun('onednn', x64, w64, null), b = linearRun('blas', x64, w64, null);
  assertEqualTensors(t, a.y, b.y, 'float64 output');
  assertEqualTensors(t, a.gw!, b.gw!, 'float64 grad of weight');
  const x3 = randn([2, 3, 20]), w = randn([5, 20]);
  const c = linearRun('onednn', x3, w, null), d = linearRun('blas', x3, w, null);
  t.deepEqual(c.y.shape, [2, 3, 5]);
  assertEqualTensors(t, c.y, d.y, '3-D input output');
});

test('oneDNN Linear reads strided, transposed and expanded inputs as at::linear does', (t) => {
  manualSeed(5);
  const cases: [string, Tensor, Tensor, Tensor | null, RunOptions['views']][] = [
    ['expanded input', randn([1, 40]), randn([9, 40]), null, { x: (u) => u.expand([6, 40]) }],
    ['expanded weight', randn([6, 40]), randn([1, 40]), randn([9]), { w: (u) => u.expand([9, 40]) }],
    ['expanded bias', randn([6, 40]), randn([9, 40]), randn([1]), { b: (u) => u.expand([9]) }],
    ['narrowed input', randn([6, 80]), randn([9, 40]), randn([9]), { x: (u) => u.narrow(1, 7, 40) }],
    ['transposed weight', randn([6, 40]), randn([40, 9]), null, { w: (u) => u.transpose(0, 1) }],
  ];
  for (const [name, x, w, b, views] of cases) {
    const a = linearRun('onednn', x, w, b, { views }), r = linearRun('blas', x, w, b, { views });
    assertClose(t, a.y, r.y, `${name}: output`);
    assertClose(t, a.gx, r.gx, `${name}: grad of input`);
    assertClose(t, a.gw, r.gw, `${name}: grad of weight`);
    if (b) assertClose(t, a.gb, r.gb, `${name}: grad of bias`);
  }
});

test('empty Linear shapes fall back to at::linear', (t) => {
  const a = linearRun('onednn', randn([3, 0]), randn([4, 0]), randn([4]));
  t.deepEqual(a.y.shape, [3, 4]);
  const b = linearRun('onednn', randn([3, 5]), randn([0, 5]), null);
  t.deepEqual(b.y.shape, [3, 0]);
  t.deepEqual(b.gx!.shape, [3, 5]);
});

/** Integers 0..49 scaled by 0.1 (many ties in a window) with about 2% NaN. */
function pooledInput(shape: number[]): Tensor {
  manualSeed(3);
  const ints = randint(0, 50, shape).data() as BigInt64Array;
  const values = Float32Array.from(ints, (i) => (i === 7n ? NaN : Number(i) / 10));
  return tensor(values, shape);
}

const pools: { name: string; k: [number, number]; s: [number, number]; p: [number, number]; d: [number, number]; ceil: boolean }[] = [
  { name: 'k2 s1 (the reference’s max_pool1/3)', k: [2, 2], s: [1, 1], p: [0, 0], d: [1, 1], ceil: false },
  { name: 'k2 s2 (max_pool2)', k: [2, 2], s: [2, 2], p: [0, 0], d: [1, 1], ceil: false },
  { name: 'k3 s2 padding 1', k: [3, 3], s: [2, 2], p: [1, 1], d: [1, 1], ceil: false },
  { name: 'k3 s2 dilation 2 ceil mode', k: [3, 3], s: [2, 2], p: [0, 0], d: [2, 2], ceil: true },
];

type Pool = (x: Tensor) => Tensor;
interface PoolRun { y: Tensor; gx: Tensor; routes: RouteCounts }

/** Forward (routes counted) and backward with a fixed non-uniform upstream gradient. */
function poolRun(x: Tensor, pool: Pool): PoolRun {
  const xl = leaf(x);
  let y: Tensor | null = null;
  const routes = countRoutes(() => {
    y = pool(xl);
  });
  const out = y as unknown as Tensor;
  manualSeed(4);
  out.mul(randn(out.shape)).sum().backward();
  return { y: out.detach(), gx: xl.grad!, routes };
}

const noRoutes: RouteCounts = { sgdFused: 0, sgdPerTensor: 0, maxPool2dChannelsLast: 0, maxPool2dPlain: 0, maxPool2dAten: 0 };
const pooled = (c: typeof pools[number]): Pool => (u) => maxPool2d(u, c.k, c.s, c.p, c.d, c.ceil);
const aten = (c: typeof pools[number]): Pool => (u) => new Tensor(atenMaxPool2d(u.raw, c.k, c.s, c.p, c.d, c.ceil));

for (const c of pools) {
  test(`maxPool2d's channels_last route is bit for bit ATen's NCHW kernel, forward and backward: ${c.name}`, (t) => {
    // 32 channels of width 15 take the channels_last route; the reference is
    // at::max_pool2d_with_indices on the same NCHW-contiguous input.
    const x = pooledInput([4, 32, 15, 15]);
    t.deepEqual(x.strides, [32 * 15 * 15, 15 * 15, 15, 1], 'the input is NCHW-contiguous');
    const fast = poolRun(x, pooled(c)), reference = poolRun(x, aten(c));
    t.deepEqual(fast.routes, { ...noRoutes, maxPool2dChannelsLast: 1 }, 'maxPool2d took the channels_last route');
    t.deepEqual(reference.routes, { ...noRoutes, maxPool2dAten: 1 }, 'the reference ran ATen directly');
    const [, ch, h, w] = fast.y.shape;
    t.deepEqual(fast.y.strides, [ch * h * w, h * w, w, 1], 'handed back in NCHW');
    t.true(Array.from(reference.y.data() as Float32Array).some(Number.isNaN), 'the input has NaN in some windows');
    assertEqualTensors(t, fast.y, reference.y, 'output');
    assertEqualTensors(t, fast.gx, reference.gx, 'grad of input');
  });
}

test('maxPool2d keeps ATen\'s plain route below 16 channels, at width 64 and for channels_last input', (t) => {
  const c = pools[0];
  const cases: [string, Tensor][] = [
    ['8 channels', pooledInput([2, 8, 15, 15])],
    ['width 64', pooledInput([1, 16, 4, 64])],
    ['channels_last input', pooledInput([2, 32, 15, 15]).to({ memoryFormat: 'channels_last' })],
  ];
  for (const [name, x] of cases) {
    const plain = poolRun(x, pooled(c)), reference = poolRun(x, aten(c));
    t.deepEqual(plain.routes, { ...noRoutes, maxPool2dPlain: 1 }, `${name}: the plain route`);
    assertEqualTensors(t, plain.y, reference.y, `${name}: output`);
    assertEqualTensors(t, plain.gx, reference.gx, `${name}: grad of input`);
  }
});

test('control: a max pool that keeps the last of tied maxima gives the same values, and the comparison rejects its gradient', (t) => {
  // k2 s1 without padding: flipping the width maps the windows onto each other,
  // so pooling the flipped input and flipping back scans each window backwards.
  const c = pools[0];
  const x = pooledInput([4, 32, 15, 15]);
  const flip = (u: Tensor) => {
    const n = u.shape[3];
    return u.indexSelect(3, tensor(BigInt64Array.from({ length: n }, (_, i) => BigInt(n - 1 - i)), [n]));
  };
  const lastOfTies = poolRun(x, (u) => flip(aten(c)(flip(u))));
  const reference = poolRun(x, aten(c));
  assertEqualTensors(t, lastOfTies.y, reference.y, 'the same values');
  const g = closeness(lastOfTies.gx, reference.gx, { rtol: 0, atol: 0 });
  t.false(g.ok, 'the gradient goes elsewhere on ties, and the comparison sees it');
  t.log(`${g.bad} of ${reference.gx.numel} gradient values differ`);
});
