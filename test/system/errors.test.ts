// Every native failure reaches JavaScript as an Error that names the operation
// and carries libtorch's message without its C++ backtrace; bad arguments are
// caught in TypeScript with sharp-style messages; and the raw addon, driven
// with wrong types, throws instead of crashing the process.
import test, { ExecutionContext } from 'ava';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { backends } from '../../src/device';
import { AlexNetModel } from '../../src/models/alexnet';
import { conv2d, crossEntropy, dropout, linear, maxPool2d } from '../../src/nn/functional';
import { BatchNorm2d, Conv2d, Dropout, Linear, LocalResponseNorm, MaxPool2d } from '../../src/nn/layers';
import { OneCycleLR } from '../../src/optim/lr_scheduler';
import { SGD } from '../../src/optim/sgd';
import { load, save } from '../../src/serialize';
import { arange, ones, rand, randn, randperm, tensor, tidy, zeros } from '../../src/tensor';
import { setNumThreads } from '../../src/runtime';
import { pythonScript, runPython, tempDir } from '../helpers/python';

/** The traces of a C++ backtrace that must never reach JavaScript. */
function assertNoBacktrace(t: ExecutionContext, message: string): void {
  t.false(message.includes('Exception raised from'), `no C++ backtrace in: ${message}`);
  t.notRegex(message, /frame #\d+/);
  t.notRegex(message, /0x[0-9a-f]{6,}/);
}

/** fn throws an Error of `type` whose message matches `pattern`, without a backtrace. */
function assertNativeError(t: ExecutionContext, fn: () => unknown, pattern: RegExp, type: new (...a: never[]) => Error = Error): Error {
  const e = t.throws(fn, { instanceOf: type });
  if (!e) return new Error('did not throw');
  t.regex(e.message, pattern);
  assertNoBacktrace(t, e.message);
  return e;
}

test('shape mismatch in matmul: "matmul: " + libtorch\'s message', (t) => {
  const e = assertNativeError(t, () => randn([2, 3]).matmul(randn([4, 5])), /^matmul: mat1 and mat2 shapes cannot be multiplied \(2x3 and 4x5\)$/);
  t.is(e.constructor, Error);
});

test('other shape mismatches name their op', (t) => {
  assertNativeError(t, () => randn([2, 3]).add(randn([4])), /^add: The size of tensor a \(3\) must match the size of tensor b \(4\)/);
  assertNativeError(t, () => randn([2, 3]).view(4, 2), /^view: shape '\[4, 2\]' is invalid for input of size 6$/);
  assertNativeError(t, () => linear(randn([2, 5]), randn([3, 4])), /^linear: mat1 and mat2 shapes cannot be multiplied/);
  assertNativeError(t, () => conv2d(randn([1, 4, 8, 8]), randn([4, 3, 3, 3])), /^conv2d: Given groups=1, weight of size \[4, 3, 3, 3\], expected input\[1, 4, 8, 8\] to have 3 channels, but got 4 channels instead$/);
  assertNativeError(t, () => maxPool2d(randn([1, 1, 2, 2]), 3), /^maxPool2d: /);
  assertNativeError(t, () => randn([2, 3]).item(), /^item: a Tensor with 6 elements cannot be converted to Scalar$/);
  assertNativeError(t, () => new AlexNetModel().forward(randn([1, 3, 16, 16])), /^(conv2d|maxPool2d|linear): /);
});

test('wrong dtypes: crossEntropy with float targets, conv2d on int64 input', (t) => {
  assertNativeError(t, () => crossEntropy(randn([4, 3]), rand([4])), /^crossEntropy: expected target dtype to be Long or Byte, but got Float$/);
  assertNativeError(t, () => crossEntropy(randn([4, 3]), tensor([0, 1, 7, 2], { dtype: 'int64' })), /^crossEntropy: Target 7 is out of bounds\.$/);
  assertNativeError(t, () => conv2d(zeros([1, 3, 8, 8], { dtype: 'int64' }), randn([4, 3, 3, 3])), /^conv2d: expected scalar type Long but found Float$/);
  assertNativeError(t, () => randn([2, 2]).matmul(ones([2, 2], { dtype: 'float64' })), /^matmul: expected (m1 and m2 to have the same dtype|.*dtype)/);
  assertNativeError(t, () => zeros([2], { dtype: 'int64', requiresGrad: true }), /^requiresGrad: Only Tensors of floating point and complex dtype can require gradients$/);
});

test('use after dispose: "<op>: Tensor already disposed", never a crash', async (t) => {
  const x = randn([2, 2]);
  x.dispose();
  t.true(x.isDisposed);
  t.notThrows(() => x.dispose(), 'dispose is idempotent');
  t.is(String(x), 'Tensor(disposed)');
  assertNativeError(t, () => x.add(1), /^add: Tensor already disposed$/);
  assertNativeError(t, () => x.shape, /^shape: Tensor already disposed$/);
  assertNativeError(t, () => x.data(), /^data: Tensor already disposed$/);
  assertNativeError(t, () => x.item(), /^item: Tensor already disposed$/);
  assertNativeError(t, () => x.backward(), /^backward: Tensor already disposed$/);
  assertNativeError(t, () => x.relu_(), /^relu_: Tensor already disposed$/);
  assertNativeError(t, () => randn([2, 2]).add(x), /^add: Tensor already disposed$/); // as the argument too
  assertNativeError(t, () => conv2d(x, randn([1, 1, 1, 1])), /^conv2d: Tensor already disposed$/);
  await t.throwsAsync(save({ x }, path.join(tempDir(), 'x.pt')), { message: /^save: value\.x: Tensor already disposed$/ });
  // A module's parameters after dispose().
  const m = new Linear(3, 2);
  m.dispose();
  assertNativeError(t, () => m.forward(randn([1, 3])), /^linear: Tensor already disposed$/);
  // tidy() disposes what it does not return.
  let inner: ReturnType<typeof randn> | null = null;
  tidy(() => {
    inner = randn([3]);
    return null;
  });
  assertNativeError(t, () => inner!.sum(), /^sum: Tensor already disposed$/);
});

test('unknown device: TypeError from the validator', (t) => {
  const msg = /^Expected device such as 'cpu', 'cuda', 'cuda:1', 'npu' or 'npu:0' for device but received 'tpu' of type string$/;
  assertNativeError(t, () => zeros([2], { device: 'tpu' }), msg, TypeError);
  assertNativeError(t, () => randn([2]).to('tpu'), msg, TypeError);
  assertNativeError(t, () => new Linear(2, 2).to('tpu'), msg, TypeError);
  assertNativeError(t, () => zeros([2], { device: 'cpu:1' }), /received 'cpu:1' of type string$/, TypeError);
  assertNativeError(t, () => zeros([2], { device: 5 as unknown as string }), /for device but received 5 of type number$/, TypeError);
});

test('cuda or npu when not built: a clear Error saying so and how to rebuild', (t) => {
  const b = backends();
  for (const dev of ['cuda', 'npu'] as const) {
    if (b.compiled[dev] || (dev === 'cuda' && b.available.cuda)) {
      // Built in: either it works, or the error says the device is absent.
      try {
        zeros([2], { device: dev }).dispose();
        t.pass(`${dev} is built and present`);
      } catch (e) {
        t.regex((e as Error).message, /^initDevice: /);
        assertNoBacktrace(t, (e as Error).message);
      }
      continue;
    }
    const e = assertNativeError(t, () => zeros([2], { device: dev }), new RegExp(`^Device '${dev}' is not built into torchbridge \\(built: cpu[^)]*\\)\\. Rebuild with: npm run build:native -- --device ${dev}$`));
    t.is(e.constructor, Error);
    assertNativeError(t, () => randn([2]).to(`${dev}:0`), new RegExp(`^Device '${dev}:0' is not built into torchbridge`));
  }
});

test('backward twice without retainGraph fails cleanly; with it, gradients accumulate', (t) => {
  const x = randn([3], { requiresGrad: true });
  const y = x.mul(x).sum();
  y.backward();
  assertNativeError(t, () => y.backward(), /^backward: Trying to backward through the graph a second time .*retain_graph=True/);
  const z = x.mul(x).sum();
  z.backward(undefined, { retainGraph: true });
  z.backward(undefined, { retainGraph: true });
  // Three backwards of sum(x^2): 3 * 2x.
  const g = x.grad!;
  const expected = x.mul(6);
  t.deepEqual(g.toArray().map((v) => v.toFixed(5)), expected.toArray().map((v) => v.toFixed(5)));
  assertNativeError(t, () => randn([3]).sum().backward(), /^backward: element 0 of tensors does not require grad and does not have a grad_fn$/);
  assertNativeError(t, () => randn([3], { requiresGrad: true }).mul(2).backward(), /^backward: grad can be implicitly created only for scalar outputs$/);
});

test('optimizer step before any backward does nothing and does not crash', (t) => {
  const a = randn([3], { requiresGrad: true });
  const b = randn([2], { requiresGrad: true });
  const a0 = a.toArray(), b0 = b.toArray();
  const opt = new SGD([a, b], { lr: 0.1, momentum: 0.9, weightDecay: 0.1 });
  const sched = new OneCycleLR(opt, 0.1, { totalSteps: 10 });
  t.notThrows(() => opt.step());
  t.notThrows(() => sched.step());
  t.deepEqual(a.toArray(), a0);
  t.deepEqual(b.toArray(), b0);
  t.deepEqual(opt.stateDict().state, {}, 'no momentum buffers yet');
  // Only the parameter with a gradient moves.
  a.mul(a).sum().backward();
  opt.step();
  t.notDeepEqual(a.toArray(), a0);
  t.deepEqual(b.toArray(), b0);
  t.deepEqual(Object.keys(opt.stateDict().state), ['0']);
  opt.zeroGrad();
  t.is(a.grad, null, 'zeroGrad sets gradients to none');
  t.notThrows(() => opt.step());
  opt.dispose();
  assertNativeError(t, () => opt.step(), /^SGD\.step: Optimizer already disposed$/);
});

test('argument validation: "Expected <what> for <name> but received <value> of type <type>"', (t) => {
  const cases: [() => unknown, string][] = [
    [() => new LocalResponseNorm(-1), 'Expected positive integer for size but received -1 of type number'],
    [() => new Linear(0, 3), 'Expected positive integer for inFeatures but received 0 of type number'],
    [() => new Linear(3.5, 3), 'Expected positive integer for inFeatures but received 3.5 of type number'],
    [() => new Conv2d(3, 8, -1), 'Expected positive integer or pair of positive integers for kernelSize but received -1 of type number'],
    [() => new MaxPool2d(-1), 'Expected positive integer or pair of positive integers for kernelSize but received -1 of type number'],
    [() => maxPool2d(randn([1, 1, 4, 4]), [2, 0]), 'Expected positive integer or pair of positive integers for kernelSize but received [2,0] of type array'],
    [() => new Conv2d(3, 8, 3, { padding: -1 }), 'Expected non-negative integer or pair of them for padding but received -1 of type number'],
    [() => new Conv2d(3, 8, 3, { stride: '2' as unknown as number }), "Expected positive integer or pair of positive integers for stride but received '2' of type string"],
    [() => new Conv2d(3, 8, 3, { groups: 0 }), 'Expected positive integer for groups but received 0 of type number'],
    [() => new Dropout(1.5), 'Expected number between 0 and 1 for p but received 1.5 of type number'],
    [() => dropout(randn([2]), -0.1), 'Expected number between 0 and 1 for p but received -0.1 of type number'],
    [() => new BatchNorm2d(4, { eps: -1 }), 'Expected number >= 0 for eps but received -1 of type number'],
    [() => zeros([2, -1]), 'Expected array of non-negative integers for shape but received [2,-1] of type array'],
    [() => zeros('2' as unknown as number[]), "Expected array of non-negative integers for shape but received '2' of type string"],
    [() => zeros([2], { dtype: 'float8' as 'float32' }), "Expected one of 'float32', 'float64', 'float16', 'bfloat16', 'int64', 'int32', 'uint8', 'bool' for dtype but received 'float8' of type string"],
    [() => randperm(-1), 'Expected non-negative integer for n but received -1 of type number'],
    [() => arange(0, 10, 0), 'Expected non-zero finite number for step but received 0 of type number'],
    [() => randn([2]).reshape(2.5), 'Expected array of integers for shape but received [2.5] of type array'],
    [() => randn([2]).add('1' as unknown as number), "Expected Tensor for other but received '1' of type string"],
    [() => randn([2]).clamp('0' as unknown as number), "Expected number for min but received '0' of type string"],
    [() => new SGD([randn([2])], { lr: -1 }), 'Expected number >= 0 for lr but received -1 of type number'],
    [() => new SGD([]), 'Expected non-empty array of parameters or param groups for params but received [] of type array'],
    [() => new SGD([randn([2])], { momentum: 0.9, nesterov: 'yes' as unknown as boolean }), "Expected boolean for nesterov but received 'yes' of type string"],
    [() => new OneCycleLR({} as SGD, 0.1, { totalSteps: 10 }), 'Expected Optimizer (SGD, Adam or AdamW) for optimizer but received {} of type object'],
    [() => new SGD([randn([2])], { learningRate: 1 } as never), 'Unknown option \'learningRate\' in SGD options; expected one of lr, momentum, dampening, weightDecay, nesterov, maximize, fused'],
    [() => setNumThreads(0), 'Expected positive integer for n but received 0 of type number'],
  ];
  for (const [fn, message] of cases) {
    const e = t.throws(fn, { instanceOf: TypeError });
    t.is(e?.message, message);
  }
  // Too many threads would make OpenMP abort the process: the addon refuses.
  assertNativeError(t, () => setNumThreads(1e6), /^setNumThreads: expected an integer between 1 and \d+ but received 1000000$/, RangeError);
});

test('load: missing, corrupt and code-carrying files are Errors; nothing from the file runs', async (t) => {
  const dir = tempDir();
  try {
    const missing = path.join(dir, 'nope.pt');
    const e1 = await t.throwsAsync(load(missing));
    t.regex(e1!.message, /^load: .*no such file or directory/i);
    assertNoBacktrace(t, e1!.message);
    const garbage = path.join(dir, 'garbage.pt');
    fs.writeFileSync(garbage, 'not a zip file at all');
    const e2 = await t.throwsAsync(load(garbage));
    t.regex(e2!.message, /^load: .*zip archive/);
    assertNoBacktrace(t, e2!.message);
    // A pickle whose loading would call os.system, and a whole pickled nn.Module.
    const evil = path.join(dir, 'evil.pt');
    const marker = path.join(dir, 'pwned');
    runPython(pythonScript('evil_pickle.py'), [evil, marker]);
    const e3 = await t.throwsAsync(load(evil));
    t.regex(e3!.message, /^load: Unpickler found unknown type (posix|os|nt)\.system/);
    t.false(fs.existsSync(marker), 'the pickled call did not run');
    const e4 = await t.throwsAsync(load(`${evil}.module`));
    t.regex(e4!.message, /^load: Unpickler found unknown type torch\.nn\.modules\.linear\.Linear/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------- the raw addon

// Each case calls the raw addon wrongly; it must throw a JS Error (of `type`,
// with a message matching `message`). They all run in one child process that
// reports each result before moving on, so a crash names its case.
const rawCases: { name: string; code: string; message: RegExp; type?: 'TypeError' | 'RangeError' | 'Error' }[] = [
  { name: 'Tensor.fromData with a string', code: "a.Tensor.fromData('abc', [1], 'float32', 'cpu')", message: /^tensor: data must be a TypedArray$/, type: 'TypeError' },
  { name: 'Tensor.fromData with no arguments', code: 'a.Tensor.fromData()', message: /^tensor: expected 4 arguments$/, type: 'TypeError' },
  { name: 'Tensor.fromData with too few bytes', code: "a.Tensor.fromData(new Float32Array(3), [2, 2], 'float32', 'cpu')", message: /^tensor: data has 12 bytes but shape and dtype need 16$/ },
  { name: 'Tensor.fromData with a negative shape', code: "a.Tensor.fromData(new Float32Array(4), [2, -2], 'float32', 'cpu')", message: /^tensor: Trying to create tensor with negative dimension -2/ },
  { name: 'Tensor.fromData with an absurd shape', code: "a.Tensor.fromData(new Float32Array(4), [1e15, 1e15], 'float32', 'cpu')", message: /^tensor: / },
  { name: 'Tensor.fromData with a bad dtype', code: "a.Tensor.fromData(new Float32Array(4), [4], 'float99', 'cpu')", message: /^tensor: Unknown dtype 'float99'$/, type: 'TypeError' },
  { name: 'Tensor.fromData on cuda when not built', code: "a.Tensor.fromData(new Float32Array(4), [4], 'float32', a.backends().compiled.cuda ? 'cuda:99' : 'cuda')", message: /^tensor: / },
  { name: 'Tensor.fill full without a value', code: "a.Tensor.fill('full', [2], 'float32', 'cpu')", message: /number/i },
  { name: 'Tensor.fill with a huge shape', code: "a.Tensor.fill('zeros', [1e13], 'float32', 'cpu')", message: /^zeros: .*(allocate|memory)/ },
  { name: 'Tensor.random with an unknown kind', code: "a.Tensor.random('cpu:0', [2], 'nope', 'cpu')", message: /^random: unknown kind 'cpu:0'; expected randn, rand, randperm or randint$/, type: 'TypeError' },
  { name: 'Tensor.random with bad bounds', code: "a.Tensor.random('randint', [2], 'int64', 'cpu', 5, 1)", message: /^randint: random_ expects 'from' to be less than 'to'/ },
  { name: 'Tensor.cat of numbers', code: 'a.Tensor.cat([1, 2], 0)', message: /^cat: expected a Tensor$/, type: 'TypeError' },
  { name: 'Tensor.cat of nothing', code: 'a.Tensor.cat([], 0)', message: /^cat: .*non-empty/ },
  { name: 'new Tensor() directly', code: 'new a.Tensor()', message: /^Tensor: use a factory/, type: 'TypeError' },
  { name: 'Tensor() without new', code: 'a.Tensor()', message: /Class constructor/, type: 'TypeError' },
  { name: 'functional.conv2d with numbers', code: 'a.functional.conv2d(1, 2, 3, 4, 5, 6, 7)', message: /^conv2d: expected a Tensor$/, type: 'TypeError' },
  { name: 'functional.conv2d with missing lists', code: 'a.functional.conv2d(x4, w)', message: /^conv2d: stride must be an array of integers$/, type: 'TypeError' },
  { name: 'functional.conv2d with groups 0', code: 'a.functional.conv2d(x4, w, null, [1, 1], [0, 0], [1, 1], 0)', message: /^conv2d: non-positive groups is not supported$/ },
  { name: 'functional.conv2d with empty lists', code: 'a.functional.conv2d(x4, w, null, [], [], [], 1)', message: /^conv2d: expected stride to be a single integer value or a list of 2 values/ },
  { name: 'functional.maxPool2d with a zero kernel', code: 'a.functional.maxPool2d(x4, [0, 0], [1, 1], [0, 0], [1, 1], false)', message: /^maxPool2d: kernel size should be greater than zero/ },
  { name: 'functional.localResponseNorm with size 0', code: 'a.functional.localResponseNorm(x4, 0, 1e-4, 0.75, 1)', message: /^localResponseNorm: / },
  { name: 'functional.localResponseNorm with a negative size', code: 'a.functional.localResponseNorm(x4, -7, 1e-4, 0.75, 1)', message: /^localResponseNorm: / },
  { name: 'functional.dropout with p = 2', code: 'a.functional.dropout(x4, 2, true, false)', message: /^dropout: dropout probability has to be between 0 and 1, but got 2$/ },
  { name: 'functional.crossEntropy with a bad reduction', code: "a.functional.crossEntropy(t2, a.Tensor.fill('zeros', [2], 'int64', 'cpu'), null, 'avg', -100, 0)", message: /^crossEntropy: Unknown reduction 'avg'$/, type: 'TypeError' },
  { name: 'functional.batchNorm in eval mode without stats', code: 'a.functional.batchNorm(x4, null, null, null, null, false, 0.1, 1e-5)', message: /^batchNorm: running_mean must be defined in evaluation mode$/ },
  { name: 'functional.linear with strings', code: "a.functional.linear('x', 'y', 'z')", message: /^linear: expected a Tensor$/, type: 'TypeError' },
  { name: 'forwardAsync with a number for x', code: 'a.forwardAsync(1, [])', message: /^forwardAsync: expected a Tensor$/, type: 'TypeError' },
  { name: 'forwardAsync without steps', code: 'a.forwardAsync(x4)', message: /^forwardAsync: expected 2 arguments$/, type: 'TypeError' },
  { name: 'forwardAsync with steps that are not an array', code: 'a.forwardAsync(x4, 5)', message: /^forwardAsync: steps must be an array$/, type: 'TypeError' },
  { name: 'forwardAsync with an unknown op', code: "a.forwardAsync(x4, [{ op: 'crossEntropy', args: [] }])", message: /^forwardAsync: step 0: unknown op 'crossEntropy'$/, type: 'TypeError' },
  { name: 'forwardAsync with a step that is not an object', code: "a.forwardAsync(x4, [{ op: 'relu', args: [true] }, 7])", message: /^forwardAsync: step 1 must be an object \{op, args, module\}$/, type: 'TypeError' },
  { name: 'forwardAsync with a malformed conv2d step', code: "a.forwardAsync(x4, [{ op: 'conv2d', args: [w], module: 'conv1.0' }])", message: /^forwardAsync: conv2d \(conv1\.0\): stride must be an array of integers$/, type: 'TypeError' },
  { name: 'forwardAsync with batch norm training its running statistics', code: "(() => { const s = a.Tensor.fill('ones', [2], 'float32', 'cpu'); return a.forwardAsync(x4, [{ op: 'batchNorm', args: [s, s, null, null, true, 0.1, 1e-5] }]); })()", message: /^forwardAsync: batchNorm: batch norm in training mode updates its running statistics/ },
  { name: 'new SGD with non-tensors', code: "new a.SGD([1, 'a'])", message: /^SGD: expected a Tensor$/, type: 'TypeError' },
  { name: 'new SGD with no arguments', code: 'new a.SGD()', message: /^SGD: expected an array of tensors$/, type: 'TypeError' },
  { name: 'new SGD with a non-leaf', code: "(() => { const p = a.Tensor.fill('ones', [2], 'float32', 'cpu'); p.setRequiresGrad(true); return new a.SGD([p.binary('mul', 2)]); })()", message: /^SGD: can't optimize a non-leaf Tensor$/, type: 'TypeError' },
  { name: 'SGD.step with missing arguments', code: 'new a.SGD([t2]).step()', message: /^SGD\.step: expected 8 arguments$/, type: 'TypeError' },
  { name: 'SGD.step out of range', code: 'new a.SGD([t2]).step(0, 5, 0.1, 0, 0, 0, false, false)', message: /^SGD\.step: bad parameter range$/, type: 'TypeError' },
  { name: 'SGD.step with NaN range', code: 'new a.SGD([t2]).step(NaN, NaN, 0.1, 0, 0, 0, false, false)', message: /^SGD\.step: bad parameter range$/, type: 'TypeError' },
  { name: 'SGD.buffer out of range', code: 'new a.SGD([t2]).buffer(3)', message: /^buffer: parameter index out of range$/, type: 'TypeError' },
  { name: 'SGD.setBuffer of the wrong shape', code: "new a.SGD([t2]).setBuffer(0, a.Tensor.fill('ones', [3], 'float32', 'cpu'))", message: /^setBuffer: momentum buffer of parameter 0 has shape \[3\] but its parameter has shape \[2, 2\]$/ },
  { name: 'SGD used after dispose', code: '(() => { const s = new a.SGD([t2]); s.dispose(); s.buffer(0); })()', message: /^buffer: Optimizer already disposed$/ },
  { name: 'a Tensor method called on an SGD', code: 'a.Tensor.prototype.shape.call(new a.SGD([t2]))', message: /Illegal invocation/, type: 'TypeError' },
  { name: 'a Tensor method called on a plain object', code: "a.Tensor.prototype.binary.call({}, 'add', 1)", message: /Illegal invocation/, type: 'TypeError' },
  { name: 'an SGD method called on a Tensor', code: 'a.SGD.prototype.step.call(t2, 0, 1, 0.1, 0, 0, 0, false, false)', message: /Illegal invocation/, type: 'TypeError' },
  { name: 'an SGD dressed up as a Tensor (setPrototypeOf) passed to linear', code: '(() => { const s = new a.SGD([t2]); Object.setPrototypeOf(s, a.Tensor.prototype); return a.functional.linear(s, t2, null); })()', message: /^linear: expected a Tensor$/, type: 'TypeError' },
  { name: 'an SGD dressed up as a Tensor passed to add', code: "(() => { const s = new a.SGD([t2]); Object.setPrototypeOf(s, a.Tensor.prototype); return t2.binary('add', s); })()", message: /^add: expected a Tensor$/, type: 'TypeError' },
  { name: 'Object.create(Tensor.prototype) passed as a tensor', code: 'a.functional.conv2d(Object.create(a.Tensor.prototype), w, null, [1, 1], [0, 0], [1, 1], 1)', message: /^conv2d: expected a Tensor$/, type: 'TypeError' },
  { name: 'binary with an unknown op', code: "t2.binary('xor', t2)", message: /^binary: unknown op xor$/, type: 'TypeError' },
  { name: 'reduce argmax with an empty dim list', code: "t2.reduce('argmax', [], false)", message: /^argmax: / },
  { name: 'shaped flatten with one int', code: "t2.shaped('flatten', [0])", message: /^shaped: unsupported flatten$/, type: 'TypeError' },
  { name: 'indexSelect out of range', code: "t2.indexSelect(0, a.Tensor.fill('full', [1], 'int64', 'cpu', 99))", message: /^indexSelect: index out of range in self$/ },
  { name: 'inPlace fill_ without a value', code: "t2.inPlace('fill_')", message: /number/i },
  { name: 'inPlace relu_ on a leaf that requires grad', code: "(() => { const p = a.Tensor.fill('ones', [2], 'float32', 'cpu'); p.setRequiresGrad(true); p.inPlace('relu_'); })()", message: /^relu_: a leaf Variable that requires grad is being used in an in-place operation\.$/ },
  { name: 'to an unknown dtype', code: "t2.to(null, 'foo', null)", message: /^to: Unknown dtype 'foo'$/, type: 'TypeError' },
  { name: 'to channels_last on a 2-D tensor', code: "t2.to(null, null, 'channels_last')", message: /^to: required rank 4 tensor to use channels_last format$/ },
  { name: 'backward with a gradient of the wrong shape', code: "(() => { const p = a.Tensor.fill('ones', [2], 'float32', 'cpu'); p.setRequiresGrad(true); p.binary('mul', 2).backward(a.Tensor.fill('ones', [3], 'float32', 'cpu'), false); })()", message: /^backward: invalid gradient at index 0 - got \[3\] but expected shape compatible with \[2\]$/ },
  { name: 'setRngState with a float tensor', code: 'a.setRngState(t2)', message: /^setRngState: RNG state must be a torch\.ByteTensor$/ },
  { name: 'setNumThreads(1e10) (Int32Value would wrap it to 1.4e9 OpenMP threads)', code: 'a.setNumThreads(1e10)', message: /^setNumThreads: expected an integer between 1 and \d+ but received 10000000000$/, type: 'RangeError' },
  { name: 'setNumThreads(2 ** 32 + 3) (Int32Value would wrap it to 3)', code: 'a.setNumThreads(2 ** 32 + 3)', message: /^setNumThreads: expected an integer between 1 and \d+/, type: 'RangeError' },
  { name: 'initDevice npu when not built', code: "a.backends().compiled.npu ? (() => { throw new Error('initDevice: built with npu') })() : a.initDevice('npu')", message: /^initDevice: / },
  { name: 'save of a function', code: "a.save('/nonexistent/x.pt', () => 1)", message: /^save: can only save tensors, numbers, strings, booleans, arrays and objects$/, type: 'TypeError' },
  { name: 'save of a circular object', code: "(() => { const o = {}; o.self = o; return a.save('/nonexistent/x.pt', o); })()", message: /^save: value nested too deeply$/ },
  { name: 'load with a number', code: 'a.load(5)', message: /^load: argument 0 must be a string$/, type: 'TypeError' },
];

test('the raw addon: wrong types and arity throw JS Errors and the process lives', (t) => {
  const native = require.resolve('../../src/native');
  const program = `
    const a = require(${JSON.stringify(native)}).addon;
    const x4 = a.Tensor.random('randn', [1, 2, 4, 4], 'float32', 'cpu');
    const w = a.Tensor.random('randn', [2, 2, 3, 3], 'float32', 'cpu');
    const t2 = a.Tensor.fill('ones', [2, 2], 'float32', 'cpu');
    const cases = ${JSON.stringify(rawCases.map((c) => [c.name, c.code]))};
    for (const [name, code] of cases) {
      process.stdout.write(JSON.stringify({ start: name }) + '\\n');
      let result;
      try {
        const r = eval(code);
        result = { name, threw: false, value: String(r) };
      } catch (e) {
        result = { name, threw: true, isError: e instanceof Error, type: e && e.constructor && e.constructor.name, message: String(e && e.message) };
      }
      process.stdout.write(JSON.stringify(result) + '\\n');
    }
    // The addon still works afterwards.
    const s = a.Tensor.fill('ones', [3], 'float32', 'cpu').reduce('sum', null, false).item();
    process.stdout.write(JSON.stringify({ done: s }) + '\\n');
  `;
  const r = spawnSync(process.execPath, ['-e', program], { encoding: 'utf8', timeout: 120_000 });
  const lines = r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  const started = lines.filter((l) => 'start' in l).map((l) => l.start);
  t.is(r.signal, null, `the child died of ${r.signal} during "${started[started.length - 1]}"\n${r.stderr}`);
  t.is(r.status, 0, `the child exited with ${r.status} during "${started[started.length - 1]}"\n${r.stderr}`);
  t.deepEqual(lines[lines.length - 1], { done: 3 }, 'the addon still works after all of them');
  const results = new Map(lines.filter((l) => 'threw' in l).map((l) => [l.name as string, l]));
  for (const c of rawCases) {
    const res = results.get(c.name);
    if (!res) {
      t.fail(`${c.name}: no result`);
      continue;
    }
    t.true(res.threw, `${c.name}: should throw, returned ${res.value}`);
    t.true(res.isError, `${c.name}: should throw an Error`);
    if (c.type) t.is(res.type, c.type, `${c.name}: error type`);
    t.regex(res.message as string, c.message, `${c.name}: message`);
    assertNoBacktrace(t, res.message as string);
  }
});
