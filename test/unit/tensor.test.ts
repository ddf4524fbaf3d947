// The Tensor API: factories and dtypes, conversion, element-wise, reduction and
// shape ops, in-place ops, autograd, noGrad, tidy, and save/load (the round trip
// with Python's torch.save / torch.load is in parity/serialize_parity).
import test, { ExecutionContext } from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Linear } from '../../src/nn/layers';
import { Parameter } from '../../src/nn/module';
import { load, save, Value } from '../../src/serialize';
import {
  arange, cat, DType, dtypes, empty, full, keep, noGrad, ones, rand, randint, randn, randperm, stack, Tensor,
  tensor, tidy, zeros,
} from '../../src/tensor';
import { manualSeed } from '../../src/runtime';
import { tempDir } from '../helpers/python';

const f32 = (x: number) => Math.fround(x);

/** Values equal within float32 rounding (relative 1e-6, absolute 1e-6). */
function near(t: ExecutionContext, actual: number[], expected: number[], message = '', tol = 1e-6): void {
  t.is(actual.length, expected.length, `${message} length`);
  const bad = actual.findIndex((a, i) => !(Math.abs(a - expected[i]) <= tol * Math.max(1, Math.abs(expected[i]))));
  t.is(bad, -1, `${message}: index ${bad}: ${actual[bad]} vs ${expected[bad]}`);
}

const typedArrayOf: Record<DType, string> = {
  float32: 'Float32Array', float64: 'Float64Array', float16: 'Float32Array', bfloat16: 'Float32Array',
  int64: 'BigInt64Array', int32: 'Int32Array', uint8: 'Uint8Array', bool: 'Uint8Array',
};

// ---------------------------------------------------------------- factories and dtypes

test('zeros, ones, full and empty in every dtype', (t) => {
  for (const dtype of dtypes) {
    const z = zeros([2, 3], { dtype }), o = ones([2, 3], { dtype }), f = full([4], 1, { dtype }), e = empty([3, 0, 2], { dtype });
    for (const x of [z, o, f, e]) t.is(x.dtype, dtype);
    t.deepEqual(z.shape, [2, 3]);
    t.is(z.numel, 6);
    t.is(z.ndim, 2);
    t.is(z.device, 'cpu');
    t.deepEqual(z.toArray(), [0, 0, 0, 0, 0, 0], dtype);
    t.deepEqual(o.toArray(), [1, 1, 1, 1, 1, 1], dtype);
    t.deepEqual(f.toArray(), [1, 1, 1, 1], dtype);
    t.deepEqual(e.shape, [3, 0, 2]);
    t.is(e.numel, 0);
    t.is(z.data().constructor.name, typedArrayOf[dtype], `${dtype} data() type`);
    [z, o, f, e].forEach((x) => x.dispose());
  }
  t.deepEqual(full([2], 2.5).toArray(), [2.5, 2.5]);
  t.deepEqual(full([2], -7, { dtype: 'int32' }).toArray(), [-7, -7]);
  t.is(zeros([]).shape.length, 0, 'a 0-d tensor');
  t.is(zeros([]).numel, 1);
});

test('tensor() from typed arrays keeps their dtype; options convert', (t) => {
  const cases: [ArrayLike<number> | ArrayLike<bigint>, DType][] = [
    [new Float32Array([1.5, -2]), 'float32'], [new Float64Array([1.5, -2]), 'float64'], [new BigInt64Array([3n, -4n]), 'int64'],
    [new Int32Array([3, -4]), 'int32'], [new Uint8Array([3, 255]), 'uint8'],
  ];
  for (const [values, dtype] of cases) {
    const x = tensor(values);
    t.is(x.dtype, dtype);
    t.deepEqual(x.shape, [2]);
    t.deepEqual(x.toArray(), Array.from(values as ArrayLike<number>, Number));
  }
  const shaped = tensor(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]);
  t.deepEqual(shaped.shape, [2, 3]);
  const big = tensor(new BigInt64Array([9007199254740993n, -(2n ** 62n)]));
  t.deepEqual(Array.from(big.data() as BigInt64Array), [9007199254740993n, -(2n ** 62n)], 'int64 beyond 2**53 is exact');
  t.deepEqual(tensor(new Float64Array([1.1, 2.9, -2.9]), { dtype: 'int32' }).toArray(), [1, 2, -2]);
  t.throws(() => tensor(new Float32Array(5), [2, 3]), { instanceOf: TypeError, message: 'tensor: 5 values do not fill shape [2,3]' });
  t.throws(() => tensor(new Int16Array(2) as unknown as Float32Array), { instanceOf: TypeError });
});

test('tensor() from nested arrays: shape inferred, float32 by default, any dtype', (t) => {
  const x = tensor([[1, 2, 3], [4, 5, 6]]);
  t.deepEqual(x.shape, [2, 3]);
  t.is(x.dtype, 'float32');
  t.deepEqual(x.toArray(), [1, 2, 3, 4, 5, 6]);
  t.deepEqual(tensor([[[1], [2]]]).shape, [1, 2, 1]);
  t.deepEqual(tensor([0.1]).toArray(), [f32(0.1)], 'rounded to float32');
  t.deepEqual(tensor([0.1], { dtype: 'float64' }).toArray(), [0.1]);
  t.deepEqual(tensor([1.1, -2], { dtype: 'float16' }).toArray(), [1.099609375, -2], 'float16 rounding');
  t.deepEqual(tensor([1.1, 300.7], { dtype: 'bfloat16' }).toArray(), [1.1015625, 300], 'bfloat16 rounding');
  t.deepEqual(tensor([2, -1, 0], { dtype: 'bool' }).toArray(), [1, 1, 0]);
  t.deepEqual(tensor([true, false] as unknown as number[], { dtype: 'bool' }).toArray(), [1, 0]);
  t.deepEqual(tensor([3.7, -3.7], { dtype: 'int64' }).toArray(), [3, -3]);
  t.deepEqual(tensor([256, 257], { dtype: 'uint8' }).dtype, 'uint8');
  t.throws(() => tensor([[1, 2], [3]]), { instanceOf: TypeError, message: 'tensor: nested arrays must be rectangular' });
  t.throws(() => tensor([1, 'a'] as unknown as number[]), { instanceOf: TypeError, message: "Expected number for values[1] but received 'a' of type string" });
  const r = tensor([1, 2], { requiresGrad: true });
  t.true(r.requiresGrad);
});

test('randn, rand, randint, randperm, arange', (t) => {
  manualSeed(3);
  const a = randn([10000]);
  manualSeed(3);
  const b = randn([10000]);
  t.deepEqual(a.toArray(), b.toArray(), 'manualSeed makes draws reproducible');
  const v = a.toArray();
  const mean = v.reduce((s, x) => s + x, 0) / v.length;
  const sd = Math.sqrt(v.reduce((s, x) => s + (x - mean) ** 2, 0) / v.length);
  t.true(Math.abs(mean) < 0.05 && Math.abs(sd - 1) < 0.05, `randn mean ${mean} sd ${sd}`);
  t.is(a.dtype, 'float32');
  t.is(randn([2], { dtype: 'float64' }).dtype, 'float64');
  const u = rand([10000]).toArray();
  t.true(u.every((x) => x >= 0 && x < 1));
  t.true(Math.abs(u.reduce((s, x) => s + x, 0) / u.length - 0.5) < 0.02);
  const ri = randint(-2, 3, [1000]);
  t.is(ri.dtype, 'int64');
  t.deepEqual([...new Set(ri.toArray())].sort((p, q) => p - q), [-2, -1, 0, 1, 2]);
  const p = randperm(20).toArray();
  t.deepEqual([...p].sort((x, y) => x - y), Array.from({ length: 20 }, (_, i) => i));
  t.notDeepEqual(randn([50]).toArray(), randn([50]).toArray(), 'consecutive draws differ');

  t.deepEqual(arange(5).toArray(), [0, 1, 2, 3, 4]);
  t.is(arange(5).dtype, 'int64');
  t.deepEqual(arange(1, 10, 3).toArray(), [1, 4, 7]);
  t.deepEqual(arange(5, 0, -2).toArray(), [5, 3, 1]);
  t.deepEqual(arange(0, 1, 0.25).toArray(), [0, 0.25, 0.5, 0.75]);
  t.is(arange(0, 1, 0.25).dtype, 'float32');
  t.is(arange(0, 4, 1, { dtype: 'float64' }).dtype, 'float64');
});

test('to(dtype), to(device) and to({memoryFormat})', (t) => {
  const x = tensor([1.7, -1.7, 0, 2.5]);
  t.deepEqual(x.to('int64').toArray(), [1, -1, 0, 2]);
  t.is(x.to('int64').dtype, 'int64');
  t.deepEqual(x.to('bool').toArray(), [1, 1, 0, 1]);
  t.deepEqual(x.to('float64').toArray(), [f32(1.7), f32(-1.7), 0, 2.5]);
  t.deepEqual(x.to({ dtype: 'float16' }).toArray(), [1.7001953125, -1.7001953125, 0, 2.5]);
  t.deepEqual(x.to('uint8').to('float32').toArray().slice(2), [0, 2]);
  t.is(x.to('cpu').device, 'cpu');
  const y = randn([2, 3, 4, 5]);
  const cl = y.to({ memoryFormat: 'channels_last' });
  t.deepEqual(cl.strides, [60, 1, 15, 3]);
  t.deepEqual(cl.toArray(), y.toArray(), 'same values in another layout');
  t.deepEqual(cl.to({ memoryFormat: 'contiguous' }).strides, [60, 20, 5, 1]);
  t.throws(() => x.to({ dtype: 'float8' as DType }), { instanceOf: TypeError });
});

test('data() is a copy; item() reads one value', (t) => {
  const x = tensor([1, 2, 3]);
  const d = x.data() as Float32Array;
  d[0] = 100;
  t.deepEqual(x.toArray(), [1, 2, 3], 'writing the copy does not change the tensor');
  t.is(tensor([4.5]).item(), 4.5);
  t.is(full([], 7, { dtype: 'int64' }).item(), 7);
  t.is(tensor([[3]]).item(), 3);
  t.is(tensor([1, 0], { dtype: 'bool' }).sum().item(), 1);
  const nonContig = tensor([[1, 2], [3, 4]]).t();
  t.deepEqual(nonContig.toArray(), [1, 3, 2, 4], 'data() of a transposed view is in logical order');
});

// ---------------------------------------------------------------- math

test('element-wise ops, with tensors, scalars and broadcasting', (t) => {
  const av = [0.5, -1.25, 2, 3.5, -0.75, 1];
  const bv = [2, 0.5, -1, 1.5, 4, -2];
  const a = tensor(av, [2, 3]);
  const b = tensor(bv, [2, 3]);
  const each = (f: (x: number, y: number) => number) => av.map((x, i) => f32(f(x, bv[i])));
  near(t, a.add(b).toArray(), each((x, y) => x + y), 'add');
  near(t, a.add(b, 2).toArray(), each((x, y) => x + 2 * y), 'add alpha');
  near(t, a.sub(b).toArray(), each((x, y) => x - y), 'sub');
  near(t, a.sub(b, 0.5).toArray(), each((x, y) => x - 0.5 * y), 'sub alpha');
  near(t, a.mul(b).toArray(), each((x, y) => x * y), 'mul');
  near(t, a.div(b).toArray(), each((x, y) => x / y), 'div');
  near(t, a.abs().pow(b).toArray(), each((x, y) => Math.abs(x) ** y), 'pow');
  t.deepEqual(a.eq(b).toArray(), av.map((x, i) => Number(x === bv[i])));
  t.deepEqual(a.gt(b).toArray(), av.map((x, i) => Number(x > bv[i])));
  t.deepEqual(a.lt(b).toArray(), av.map((x, i) => Number(x < bv[i])));
  t.is(a.gt(b).dtype, 'bool');
  t.deepEqual(a.eq(2).toArray(), [0, 0, 1, 0, 0, 0]);
  near(t, a.add(1).toArray(), av.map((x) => x + 1), 'add scalar');
  near(t, a.mul(-3).toArray(), av.map((x) => -3 * x), 'mul scalar');
  near(t, a.div(4).toArray(), av.map((x) => x / 4), 'div scalar');
  near(t, a.pow(2).toArray(), av.map((x) => x * x), 'pow scalar');
  near(t, a.neg().toArray(), av.map((x) => -x), 'neg');
  near(t, a.exp().toArray(), av.map(Math.exp), 'exp');
  near(t, a.abs().log().toArray(), av.map((x) => Math.log(Math.abs(x))), 'log');
  near(t, a.abs().sqrt().toArray(), av.map((x) => Math.sqrt(Math.abs(x))), 'sqrt');
  t.deepEqual(a.abs().toArray(), av.map(Math.abs));
  t.deepEqual(a.relu().toArray(), av.map((x) => Math.max(0, x)));
  near(t, a.sigmoid().toArray(), av.map((x) => 1 / (1 + Math.exp(-x))), 'sigmoid');
  near(t, a.tanh().toArray(), av.map(Math.tanh), 'tanh');
  t.deepEqual(a.clamp(-1, 1).toArray(), av.map((x) => Math.min(1, Math.max(-1, x))));
  t.deepEqual(a.clamp(0).toArray(), av.map((x) => Math.max(0, x)));
  t.deepEqual(a.clamp(null, 0).toArray(), av.map((x) => Math.min(0, x)));
  // Broadcasting a row and a column.
  const row = tensor([10, 20, 30]);
  const col = tensor([[1], [2]]);
  t.deepEqual(row.add(col).toArray(), [11, 21, 31, 12, 22, 32]);
  t.deepEqual(row.add(col).shape, [2, 3]);
  // A whole JS number acts like a Python int, anything else like a float:
  // int64 * 3 stays int64, int64 * 2.5 is float32, as in PyTorch.
  t.deepEqual(arange(4).mul(3).toArray(), [0, 3, 6, 9]);
  t.is(arange(4).mul(3).dtype, 'int64');
  t.is(arange(4).add(1).dtype, 'int64');
  t.is(arange(4).mul(2.5).dtype, 'float32');
  t.deepEqual(arange(4).mul(2.5).toArray(), [0, 2.5, 5, 7.5]);
  t.is(arange(4).div(2).dtype, 'float32', 'true division');
  t.is(tensor([1, 2], { dtype: 'int32' }).sub(1).dtype, 'int32');
  t.is(tensor([1, 2], { dtype: 'uint8' }).mul(2).dtype, 'uint8');
  t.is(tensor([1, 0], { dtype: 'bool' }).add(1).dtype, 'int64');
  t.is(tensor([1], { dtype: 'float16' }).mul(3).dtype, 'float16');
  t.deepEqual(full([], 2 ** 53, { dtype: 'int64' }).add(1).data(), new BigInt64Array([2n ** 53n + 1n]), 'exact int64 arithmetic');
});

test('matmul against a JS reference', (t) => {
  const A = [[1, 2, 3], [4, 5, 6]];
  const B = [[7, 8], [9, 10], [11, 12]];
  t.deepEqual(tensor(A).matmul(tensor(B)).toArray(), [58, 64, 139, 154]);
  t.deepEqual(tensor(A).matmul(tensor([1, 0, -1])).toArray(), [-2, -2], 'matrix x vector');
  const batched = randn([4, 2, 3]).matmul(randn([3, 5]));
  t.deepEqual(batched.shape, [4, 2, 5]);
});

test('reductions: sum, mean, max, argmax, softmax, logSoftmax', (t) => {
  const v = [3, -1, 4, 1, -5, 9, 2, 6, -5, 3, 5, -8];
  const x = tensor(v, [3, 4]);
  t.is(x.sum().item(), v.reduce((a, b) => a + b));
  t.deepEqual(x.sum().shape, []);
  t.deepEqual(x.sum(0).toArray(), [3 + -5 + -5, -1 + 9 + 3, 4 + 2 + 5, 1 + 6 + -8]);
  t.deepEqual(x.sum(1).toArray(), [7, 12, -5]);
  t.deepEqual(x.sum(1, true).shape, [3, 1]);
  t.deepEqual(x.sum([0, 1]).toArray(), [v.reduce((a, b) => a + b)]);
  t.is(x.mean().item(), f32(v.reduce((a, b) => a + b) / 12));
  near(t, x.mean(0).toArray(), [-7 / 3, 11 / 3, 11 / 3, -1 / 3], 'mean(0)');
  t.is(x.max().item(), 9);
  const { values, indices } = x.max(1);
  t.deepEqual(values.toArray(), [4, 9, 5]);
  t.deepEqual(indices.toArray(), [2, 1, 2]);
  t.is(indices.dtype, 'int64');
  t.deepEqual(x.max(0, true).values.shape, [1, 4]);
  t.deepEqual(x.argmax(1).toArray(), [2, 1, 2]);
  t.is(x.argmax().item(), 5);
  const s = x.softmax(1);
  const expected = [0, 1, 2].flatMap((r) => {
    const rowV = v.slice(4 * r, 4 * r + 4);
    const m = Math.max(...rowV);
    const e = rowV.map((z) => Math.exp(z - m));
    const total = e.reduce((a, b) => a + b);
    return e.map((z) => z / total);
  });
  near(t, s.toArray(), expected, 'softmax', 1e-6);
  near(t, s.sum(1).toArray(), [1, 1, 1], 'rows sum to 1', 1e-6);
  near(t, x.logSoftmax(1).toArray(), expected.map(Math.log), 'logSoftmax', 1e-5);
});

test('shape ops', (t) => {
  const x = arange(24).reshape(2, 3, 4);
  t.deepEqual(x.shape, [2, 3, 4]);
  t.deepEqual(x.reshape([4, -1]).shape, [4, 6]);
  t.deepEqual(x.view(6, 4).shape, [6, 4]);
  t.deepEqual(x.view(-1).toArray(), Array.from({ length: 24 }, (_, i) => i));
  const p = x.permute(2, 0, 1);
  t.deepEqual(p.shape, [4, 2, 3]);
  t.deepEqual(p.strides, [1, 12, 4]);
  t.is(p.toArray()[1], 4, 'p[0, 0, 1] = x[0, 1, 0]');
  t.deepEqual(x.transpose(0, 2).shape, [4, 3, 2]);
  t.deepEqual(x.flatten().shape, [24]);
  t.deepEqual(x.flatten(1).shape, [2, 12]);
  t.deepEqual(x.flatten(0, 1).shape, [6, 4]);
  t.deepEqual(zeros([1, 3, 1]).squeeze().shape, [3]);
  t.deepEqual(zeros([1, 3, 1]).squeeze(0).shape, [3, 1]);
  t.deepEqual(zeros([3]).unsqueeze(0).shape, [1, 3]);
  t.deepEqual(zeros([3]).unsqueeze(-1).shape, [3, 1]);
  t.deepEqual(tensor([[1], [2]]).expand(2, 3).toArray(), [1, 1, 1, 2, 2, 2]);
  t.deepEqual(tensor([[1], [2]]).expand([-1, 2]).shape, [2, 2]);
  const m = tensor([[1, 2, 3], [4, 5, 6]]);
  t.deepEqual(m.t().toArray(), [1, 4, 2, 5, 3, 6]);
  t.deepEqual(m.t().strides, [1, 3]);
  t.deepEqual(m.t().contiguous().strides, [2, 1]);
  t.deepEqual(m.indexSelect(1, tensor([2, 0], { dtype: 'int64' })).toArray(), [3, 1, 6, 4]);
  t.deepEqual(m.narrow(1, 1, 2).toArray(), [2, 3, 5, 6]);
  t.deepEqual(cat([m, m], 0).shape, [4, 3]);
  t.deepEqual(cat([m, tensor([[7], [8]])], 1).toArray(), [1, 2, 3, 7, 4, 5, 6, 8]);
  t.deepEqual(stack([m, m], 1).shape, [2, 2, 3]);
  t.throws(() => m.view(4, 2), { message: /^view: shape '\[4, 2\]' is invalid for input of size 6$/ });
});

test('clone is independent; detach and views share storage', (t) => {
  const x = tensor([1, 2, 3]);
  const c = x.clone();
  const d = x.detach();
  const v = x.view(3, 1);
  x.fill_(5);
  t.deepEqual(c.toArray(), [1, 2, 3]);
  t.deepEqual(d.toArray(), [5, 5, 5]);
  t.deepEqual(v.toArray(), [5, 5, 5]);
  v.zero_();
  t.deepEqual(x.toArray(), [0, 0, 0]);
});

test('in-place ops return the same tensor', (t) => {
  const x = tensor([-1, 2, -3]);
  t.is(x.relu_(), x);
  t.deepEqual(x.toArray(), [0, 2, 0]);
  t.deepEqual(x.fill_(1.5).toArray(), [1.5, 1.5, 1.5]);
  t.deepEqual(x.zero_().toArray(), [0, 0, 0]);
  t.deepEqual(x.copy_(tensor([7, 8, 9], { dtype: 'int64' })).toArray(), [7, 8, 9], 'copy_ converts dtype');
  t.is(x.dtype, 'float32');
  const u = empty([5000]).uniform_(-2, -1).toArray();
  t.true(u.every((z) => z >= -2 && z < -1));
  const n = empty([20000]).normal_(3, 0.5).toArray();
  const mean = n.reduce((a, b) => a + b) / n.length;
  t.true(Math.abs(mean - 3) < 0.02, `normal_ mean ${mean}`);
  const y = tensor([1, 2]);
  y.setData(zeros([2, 2], { dtype: 'float64' }));
  t.deepEqual(y.shape, [2, 2]);
  t.is(y.dtype, 'float64');
});

// ---------------------------------------------------------------- autograd

test('requiresGrad, backward and grad', (t) => {
  const xv = [0.5, -1, 2];
  const x = tensor(xv, { requiresGrad: true });
  t.true(x.requiresGrad);
  t.is(x.grad, null, 'no gradient before backward');
  const y = x.mul(x).add(x.mul(3)).sum(); // sum(x^2 + 3x): grad 2x + 3
  t.true(y.requiresGrad);
  y.backward();
  t.deepEqual(x.grad!.toArray(), xv.map((v) => 2 * v + 3));
  // Gradients accumulate, as in PyTorch.
  x.mul(2).sum().backward();
  t.deepEqual(x.grad!.toArray(), xv.map((v) => 2 * v + 5));
  // backward(gradient) for a non-scalar output.
  const w = tensor([1, 2, 3], { requiresGrad: true });
  w.mul(w).backward(tensor([1, 0, -1]));
  t.deepEqual(w.grad!.toArray(), [2, 0, -6]);
  // Through the layers: a Linear's parameters get gradients.
  const lin = new Linear(3, 2);
  lin.forward(randn([4, 3])).sum().backward();
  t.deepEqual(lin.weight.grad!.shape, [2, 3]);
  t.deepEqual(lin.bias!.grad!.toArray(), [4, 4], 'd sum / d bias = batch size');
  t.true(lin.weight instanceof Parameter && lin.weight.requiresGrad);
  const z = randn([2]);
  z.requiresGrad = true;
  t.true(z.requiresGrad);
  z.requiresGrad = false;
  t.false(z.requiresGrad);
  t.false(x.detach().requiresGrad);
});

test('noGrad: no graph inside, grad mode restored after, even on a throw', (t) => {
  const x = randn([3], { requiresGrad: true });
  const y = noGrad(() => x.mul(2));
  t.false(y.requiresGrad);
  t.true(x.mul(2).requiresGrad, 'grad mode is back on');
  t.throws(() => noGrad(() => {
    throw new Error('boom');
  }), { message: 'boom' });
  t.true(x.mul(2).requiresGrad, 'restored after a throw');
  const nested = noGrad(() => noGrad(() => x.add(1)));
  t.false(nested.requiresGrad);
  t.is(noGrad(() => 42), 42);
});

// ---------------------------------------------------------------- tidy

test('tidy disposes intermediates and keeps what it returns', (t) => {
  let a!: Tensor, b!: Tensor, kept!: Tensor, inner!: Tensor;
  const result = tidy(() => {
    a = randn([3]);
    b = a.mul(2);
    kept = keep(b.add(1));
    const nestedResult = tidy(() => {
      inner = b.sub(1);
      return inner.mul(3);
    });
    return { out: b.add(nestedResult), list: [a.neg()] };
  });
  t.true(a.isDisposed && b.isDisposed && inner.isDisposed, 'intermediates are disposed');
  t.false(result.out.isDisposed);
  t.false(result.list[0].isDisposed, 'tensors in returned arrays are kept');
  t.false(kept.isDisposed, 'keep() exempts a tensor');
  t.is(result.out.shape[0], 3);
  // A single returned tensor; a throw disposes everything made inside.
  let made!: Tensor;
  const single = tidy(() => {
    made = ones([2]);
    return made.add(1);
  });
  t.true(made.isDisposed);
  t.deepEqual(single.toArray(), [2, 2]);
  let inThrow!: Tensor;
  t.throws(() => tidy(() => {
    inThrow = ones([2]);
    throw new Error('fail');
  }), { message: 'fail' });
  t.true(inThrow.isDisposed);
  // Tensors made outside are untouched; a returned Promise is refused.
  const outside = ones([2]);
  tidy(() => outside.add(1));
  t.false(outside.isDisposed);
  t.throws(() => tidy(() => Promise.resolve(1)), { instanceOf: TypeError, message: /must be synchronous/ });
});

// ---------------------------------------------------------------- save and load

test('save/load round trip of every dtype and of nested values', async (t) => {
  const dir = tempDir();
  try {
    const file = path.join(dir, 'x.pt');
    const tensors: Record<string, Tensor> = {};
    for (const d of dtypes) tensors[d] = tensor([1, 0, 2, 3, 0, 1], [2, 3], { dtype: d });
    tensors.big = tensor(new BigInt64Array([2n ** 62n, -3n]));
    tensors.transposed = tensors.float32.t();
    tensors.scalar = full([], 3.25);
    tensors.empty = zeros([0, 4]);
    const value = { tensors, n: 42, f: 0.1, neg: -7, s: 'héllo', b: true, z: null, list: [1, 'two', [3.5], { k: tensors.scalar }] };
    await save(value, file);
    const back = (await load(file)) as typeof value;
    for (const [k, x] of Object.entries(tensors)) {
      const y = back.tensors[k];
      t.true(y instanceof Tensor, k);
      t.is(y.dtype, x.dtype, `${k} dtype`);
      t.deepEqual(y.shape, x.shape, `${k} shape`);
      t.deepEqual(Array.from(y.data() as ArrayLike<number | bigint>), Array.from(x.data() as ArrayLike<number | bigint>), `${k} values`);
    }
    t.deepEqual(back.tensors.transposed.strides, [1, 3], 'a view keeps its layout');
    t.is(back.n, 42);
    t.is(back.f, 0.1);
    t.is(back.neg, -7);
    t.is(back.s, 'héllo');
    t.is(back.b, true);
    t.is(back.z, null);
    t.deepEqual((back.list as Value[]).slice(0, 3), [1, 'two', [3.5]]);
    t.deepEqual(((back.list as Value[])[3] as { k: Tensor }).k.toArray(), [3.25]);
    t.deepEqual(fs.readdirSync(dir), ['x.pt'], 'no temporary files left');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

