// GradScaler (float16 loss scaling) against Python's torch.amp.GradScaler:
// test/python/amp_ref.py runs the same steps with float16 autocast on the CPU,
// from a scale high enough to overflow, so the run backs off, skips and grows.
import test from 'ava';
import { autocast, GradScaler } from '../../src/amp';
import { crossEntropy } from '../../src/nn/functional';
import { SGD } from '../../src/optim/sgd';
import { randint, randn, Tensor, tidy } from '../../src/tensor';
import { manualSeed } from '../../src/runtime';
import { assertClose } from '../helpers/compare';
import { asRecord, asTensorValue, disposeAll, exchange } from '../helpers/python';

function setup() {
  manualSeed(3);
  const w1 = randn([32, 16]);
  const w2 = randn([10, 32]);
  const x = randn([8, 16]);
  const y = randint(0, 10, [8]);
  return { w1, w2, x, y };
}

/** One training step as in amp_ref.py; returns whether the optimizer stepped. */
function ampStep(w1: Tensor, w2: Tensor, x: Tensor, y: Tensor, opt: SGD, scaler: GradScaler): boolean {
  return tidy(() => {
    opt.zeroGrad();
    const loss = autocast('cpu', 'float16', () => crossEntropy(x.matmul(w1.t()).relu().matmul(w2.t()), y));
    scaler.scale(loss).backward();
    const stepped = scaler.step(opt);
    scaler.update();
    return stepped;
  });
}

test('float16 with GradScaler: scales, skipped steps and weights match torch.amp.GradScaler', async (t) => {
  const { w1, w2, x, y } = setup();
  const c = { lr: 0.1, momentum: 0.9, init_scale: 2 ** 20, growth_interval: 3, steps: 14 };
  const { outputs } = await exchange('amp_ref.py', { w1, w2, x, y, ...c });
  const out = asRecord(outputs);
  const p1 = w1.clone();
  const p2 = w2.clone();
  p1.requiresGrad = true;
  p2.requiresGrad = true;
  const opt = new SGD([p1, p2], { lr: c.lr, momentum: c.momentum });
  const scaler = new GradScaler('cpu', { initScale: c.init_scale, growthInterval: c.growth_interval });
  const scales: number[] = [];
  const stepped: boolean[] = [];
  for (let i = 0; i < c.steps; i++) {
    stepped.push(ampStep(p1, p2, x, y, opt, scaler));
    scales.push(scaler.getScale());
  }
  t.deepEqual(scales, out.scales as number[]);
  t.deepEqual(stepped, out.stepped as boolean[]);
  // The run must have exercised both the skip/backoff and the growth paths.
  t.true(stepped.includes(false) && stepped.includes(true));
  t.true(scales.some((s, i) => i > 0 && s > scales[i - 1]));
  assertClose(t, p1, asTensorValue(out.w1), 'w1', { rtol: 1e-6, atol: 1e-7 });
  assertClose(t, p2, asTensorValue(out.w2), 'w2', { rtol: 1e-6, atol: 1e-7 });
  t.deepEqual(scaler.stateDict(), out.state);
  for (const v of [w1, w2, x, y, p1, p2]) v.dispose();
  opt.dispose();
  scaler.dispose();
  disposeAll(outputs);
});

test('GradScaler: a step with inf gradients leaves the weights alone; misuse is named', (t) => {
  const { w1, w2, x, y } = setup();
  w1.requiresGrad = true;
  w2.requiresGrad = true;
  const opt = new SGD([w1, w2], { lr: 0.1 });
  const scaler = new GradScaler('cpu', { initScale: 2 ** 60 });
  t.throws(() => scaler.step(opt), { message: 'GradScaler.step: no scale yet; call scale() on the loss first' });
  const before = w1.clone();
  t.false(ampStep(w1, w2, x, y, opt, scaler));
  t.deepEqual(w1.toArray(), before.toArray());
  t.is(scaler.getScale(), 2 ** 59);
  tidy(() => {
    opt.zeroGrad();
    scaler.scale(crossEntropy(x.matmul(w1.t()).relu().matmul(w2.t()), y)).backward();
    scaler.unscale_(opt);
    t.throws(() => scaler.unscale_(opt), { message: /unscale_: already called on this optimizer since the last update\(\)/ });
    scaler.step(opt);
    t.throws(() => scaler.step(opt), { message: /step: already called since the last update\(\)/ });
    t.throws(() => scaler.unscale_(opt), { message: /unscale_: called after step\(\)/ });
    scaler.update();
  });
  t.throws(() => scaler.update(), { message: /no inf checks were recorded/ });
  t.throws(() => new GradScaler('cpu', { backoffFactor: 2 }), { message: /Expected number below 1 for backoffFactor but received 2/ });
  t.throws(() => new GradScaler('cpu', { growthInterval: 0 }), { message: /growthInterval/ });
  for (const v of [w1, w2, x, y, before]) v.dispose();
  opt.dispose();
  scaler.dispose();
});

test('GradScaler: disabled is a pass-through; state dict round trip', (t) => {
  const { w1, w2, x, y } = setup();
  w1.requiresGrad = true;
  const opt = new SGD([w1], { lr: 0.1 });
  const off = new GradScaler('cpu', { enabled: false });
  const loss = crossEntropy(x.matmul(w1.t()).relu().matmul(w2.t()), y);
  t.is(off.scale(loss), loss);
  t.deepEqual(off.stateDict(), {});
  t.is(off.getScale(), 1);
  // Disabled, it still checks what it is given before calling optimizer.step().
  t.throws(() => off.step({} as never), { instanceOf: TypeError, message: /^Expected Optimizer \(SGD, Adam or AdamW\) for optimizer but received/ });
  t.throws(() => off.unscale_(null as never), { instanceOf: TypeError, message: /for optimizer but received null/ });
  const a = new GradScaler('cpu', { initScale: 1024, growthInterval: 5 });
  a.scale(loss).dispose();
  const b = new GradScaler('cpu', { growthInterval: 5 });
  b.loadStateDict({ ...a.stateDict(), _growth_tracker: 2 } as never);
  t.deepEqual(b.stateDict(), { scale: 1024, growth_factor: 2, backoff_factor: 0.5, growth_interval: 5, _growth_tracker: 2 });
  t.throws(() => new GradScaler('cpu').loadStateDict(a.stateDict() as never), { message: /growth_interval is 5 in the state but 2000 here/ });
  for (const v of [w1, w2, x, y, loss]) v.dispose();
  opt.dispose();
  a.dispose();
  b.dispose();
});
