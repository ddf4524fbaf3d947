// Module.forwardAsync: AlexNet's forward in libtorch on native worker threads.
// Several batch-256 forwards in flight leave the JS thread free (a 10 ms timer
// keeps ticking, event-loop delay p99 under 50 ms), while the same measurement
// around the synchronous forward fails that bound (the control); the results
// equal forward()'s bit for bit. Calls waiting their turn leave libuv's pool free
// for other work. Disposing the input or the model during a call
// does not disturb it; a disposed input, a module without a plan and a libtorch
// failure part-way reject with Errors that name forwardAsync.
import test from 'ava';
import { pbkdf2 } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { AlexNetModel } from '../../src/models/alexnet';
import { Conv2d, ReLU, Sequential } from '../../src/nn/layers';
import { Module } from '../../src/nn/module';
import { manualSeed } from '../../src/runtime';
import { noGrad, randn, Tensor } from '../../src/tensor';
import { assertEqualTensors } from '../helpers/compare';

const BATCH = 256;
const IN_FLIGHT = 3;
/** Forwards run in rounds until this long has passed, so that the delay histogram has a few hundred samples. */
const MIN_SECONDS = 2;
const P99_BOUND_MS = 50;

interface Measured<T> {
  result: T;
  seconds: number;
  ticks: number;
  p99: number;
  max: number;
}

/** Runs work with a 10 ms timer ticking and the event-loop delay recorded. */
async function measured<T>(work: () => Promise<T>): Promise<Measured<T>> {
  const h = monitorEventLoopDelay({ resolution: 5 });
  let ticks = 0;
  const timer = setInterval(() => (ticks += 1), 10);
  const t0 = process.hrtime.bigint();
  h.enable();
  try {
    const result = await work();
    return { result, seconds: Number(process.hrtime.bigint() - t0) / 1e9, ticks, p99: h.percentile(99) / 1e6, max: h.max / 1e6 };
  } finally {
    h.disable();
    clearInterval(timer);
  }
}

const report = (m: Measured<unknown>, what: string) =>
  `${what}: ${m.seconds.toFixed(2)} s, timer fired ${m.ticks} times, event-loop delay p99 ${m.p99.toFixed(1)} ms, max ${m.max.toFixed(1)} ms`;

let model: AlexNetModel;
let inputs: Tensor[];
let asyncOutputs: Tensor[] | null = null;
let syncOutputs: Tensor[] | null = null;

test.before(() => {
  manualSeed(0);
  model = new AlexNetModel().eval();
  inputs = Array.from({ length: IN_FLIGHT }, () => randn([BATCH, 3, 32, 32]));
});

test.after.always(() => {
  for (const t of [...inputs, ...(asyncOutputs ?? []), ...(syncOutputs ?? [])]) t.dispose();
  model.dispose();
});

test.serial(`forwardAsync: ${IN_FLIGHT} batch-${BATCH} AlexNet forwards in flight leave the event loop free (p99 < ${P99_BOUND_MS} ms)`, async (t) => {
  let rounds = 0;
  const m = await measured(async () => {
    const t0 = Date.now();
    let first: Tensor[] | null = null;
    do {
      const outs = await Promise.all(inputs.map((x) => model.forwardAsync(x)));
      if (first) outs.forEach((y) => y.dispose());
      else first = outs;
      rounds += 1;
    } while (Date.now() - t0 < MIN_SECONDS * 1000);
    return first;
  });
  asyncOutputs = m.result;
  t.log(report(m, `${rounds} round(s) of ${IN_FLIGHT} forwards in flight`));
  t.deepEqual(asyncOutputs.map((y) => y.shape), inputs.map(() => [BATCH, 10]));
  t.true(m.seconds >= MIN_SECONDS, 'the forwards took long enough for the measurement to mean something');
  // A 10 ms timer over the run: most of its ticks happened.
  t.true(m.ticks > (m.seconds * 100) / 3, `timer fired ${m.ticks} times in ${m.seconds.toFixed(1)} s`);
  t.true(m.p99 < P99_BOUND_MS, `p99 event-loop delay ${m.p99.toFixed(1)} ms`);
});

test.serial(`control: the same measurement around the synchronous forward exceeds ${P99_BOUND_MS} ms p99`, async (t) => {
  const m = await measured(async () => {
    const outs: Tensor[] = [];
    for (const x of inputs) {
      outs.push(noGrad(() => model.forward(x)));
      await new Promise((resolve) => setImmediate(resolve)); // let the timers run between forwards
    }
    return outs;
  });
  syncOutputs = m.result;
  t.log(report(m, `${IN_FLIGHT} synchronous forwards`));
  t.true(m.p99 > P99_BOUND_MS, `p99 event-loop delay ${m.p99.toFixed(1)} ms around forward() (must exceed the bound)`);
  t.true(m.ticks < (m.seconds * 100) / 3, `timer fired ${m.ticks} times in ${m.seconds.toFixed(1)} s: it starved`);
});

test.serial('forwardAsync\'s outputs equal forward()\'s bit for bit', (t) => {
  if (!asyncOutputs || !syncOutputs) {
    t.fail('the two runs above did not both finish');
    return;
  }
  for (let i = 0; i < IN_FLIGHT; i++) assertEqualTensors(t, asyncOutputs[i], syncOutputs[i], `batch ${i}`);
  t.false(asyncOutputs[0].requiresGrad);
});

test.serial('forwards waiting their turn hold no libuv pool thread: a pool job started behind a backlog finishes first', async (t) => {
  // Twice the pool's size in flight. Were each call to wait for its turn inside the pool, every
  // pool thread would be taken and the pbkdf2 job would queue behind the backlog of forwards.
  const poolSize = Number(process.env.UV_THREADPOOL_SIZE ?? 4);
  const order: string[] = [];
  const forwards = Array.from({ length: 2 * poolSize }, (_, i) => model.forwardAsync(inputs[i % IN_FLIGHT]).then((y) => {
    order.push(`forward ${i}`);
    y.dispose();
  }));
  const poolJob = new Promise<void>((resolve, reject) => pbkdf2('a', 'b', 1, 32, 'sha256', (e) => (e ? reject(e) : resolve())))
    .then(() => order.push('pool job'));
  await Promise.all([...forwards, poolJob]);
  t.is(order[0], 'pool job', order.join(', '));
  t.deepEqual(order.slice(1), forwards.map((_, i) => `forward ${i}`), 'forwards finish in call order');
});

test.serial('a disposed input rejects with an Error naming forwardAsync', async (t) => {
  const x = randn([2, 3, 32, 32]);
  x.dispose();
  const e = await t.throwsAsync(model.forwardAsync(x));
  t.is(e!.message, 'forwardAsync: Tensor already disposed');
  t.is(e!.constructor, Error);
  const e2 = await t.throwsAsync(model.forwardAsync(3 as unknown as Tensor));
  t.is(e2!.message, 'Expected Tensor for input but received 3 of type number');
});

test.serial('disposing the input and then the model while forwardAsync runs: the call finishes with the values it would have had', async (t) => {
  manualSeed(3);
  const m = new AlexNetModel().eval();
  const x = randn([64, 3, 32, 32]);
  const expected = noGrad(() => m.forward(x));
  const started = Date.now();
  const pending = m.forwardAsync(x);
  x.dispose();
  await new Promise((resolve) => setTimeout(resolve, 20));
  m.dispose();
  t.true(x.isDisposed && m.parameters().every((p) => p.isDisposed));
  const y = await pending;
  t.log(`the call took ${Date.now() - started} ms; input disposed at once, the model after 20 ms`);
  assertEqualTensors(t, y, expected, 'output');
  // The disposed model itself is refused, naming the first layer whose parameters are gone.
  const e = await t.throwsAsync(m.forwardAsync(randn([1, 3, 32, 32])));
  t.is(e!.message, 'forwardAsync: conv2d (conv1.0): Tensor already disposed');
  y.dispose();
  expected.dispose();
});

test.serial('a libtorch failure part-way rejects with its message, naming the op and the layer; the process lives', async (t) => {
  // 16x16 images flatten to 1024 features where fc1 expects 9216.
  const e = await t.throwsAsync(model.forwardAsync(randn([2, 3, 16, 16])));
  t.is(e!.message, 'forwardAsync: linear (fc1.0): mat1 and mat2 shapes cannot be multiplied (2x1024 and 9216x4608)');
  t.false(e!.message.includes('Exception raised from'), 'no C++ backtrace');
  const y = await model.forwardAsync(randn([1, 3, 32, 32]));
  t.deepEqual(y.shape, [1, 10]);
  y.dispose();
});

class Doubler extends Module {
  forward(x: Tensor): Tensor {
    return x.mul(2);
  }
}

class ScaledConv extends Conv2d {
  forward(x: Tensor): Tensor {
    return super.forward(x).mul(2);
  }
}

test.serial('a module without a plan rejects with an Error naming its class (or the child at fault)', async (t) => {
  const x = randn([1, 3, 8, 8]);
  const e1 = await t.throwsAsync(new Doubler().forwardAsync(x));
  t.regex(e1!.message, /^forwardAsync: Doubler has no forward plan: its forward\(\) is TypeScript of its own; call forward\(\)/);
  const seq = new Sequential(new Conv2d(3, 3, 1), new ReLU(), new Doubler());
  const e2 = await t.throwsAsync(seq.forwardAsync(x));
  t.regex(e2!.message, /^forwardAsync: Sequential has no forward plan: its child 2 \(Doubler\) has a forward\(\) of its own/);
  // A subclass that overrides forward() does not inherit its parent's plan, which would skip the override.
  const scaled = new ScaledConv(3, 3, 1);
  t.is(scaled.forwardPlan().length, 1, 'the inherited method is still there');
  const e3 = await t.throwsAsync(scaled.forwardAsync(x));
  t.regex(e3!.message, /^forwardAsync: ScaledConv has no forward plan: its forward\(\) is TypeScript of its own/);
  const e4 = await t.throwsAsync(new Sequential(new Sequential(scaled)).forwardAsync(x));
  t.regex(e4!.message, /^forwardAsync: Sequential has no forward plan: its child 0\.0 \(ScaledConv\) has a forward\(\) of its own/);
  seq.dispose();
  scaled.dispose();
  x.dispose();
});

test.serial('AlexNetModel\'s plan is its fields in order, as its forward() runs them', (t) => {
  const plan = model.forwardPlan();
  t.deepEqual(plan?.map((s) => `${s.op} ${s.module}`), [
    'conv2d conv1.0', 'relu conv1.1', 'maxPool2d max_pool1', 'conv2d conv2.0', 'relu conv2.1', 'maxPool2d max_pool2',
    'conv2d conv3.0', 'relu conv3.1', 'conv2d conv4.0', 'relu conv4.1', 'conv2d conv5.0', 'relu conv5.1', 'maxPool2d max_pool3',
    'flatten flaten1', 'linear fc1.0', 'relu fc1.1', 'dropout fc1.2', 'linear fc2.0', 'relu fc2.1', 'dropout fc2.2', 'linear fc3',
  ]);
});
