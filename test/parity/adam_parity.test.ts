// Adam and AdamW against torch.optim on the same parameters and losses
// (test/python/adam_ref.py), and their state dicts in both directions.
import test from 'ava';
import { Adam, AdamOptions, AdamW } from '../../src/optim/adam';
import { OneCycleLR, OneCycleOptions } from '../../src/optim/lr_scheduler';
import { Value } from '../../src/serialize';
import { rand, randn, Tensor, tidy } from '../../src/tensor';
import { manualSeed } from '../../src/runtime';
import { assertClose } from '../helpers/compare';
import { asRecord, asTensorValue, disposeAll, exchange } from '../helpers/python';

interface Case {
  kind: 'adam' | 'adamw';
  groups: (AdamOptions & { n: number })[];
  steps: number;
  oneCycle?: { maxLr: number; options: OneCycleOptions };
}

const cases: Record<string, Case> = {
  'Adam, defaults': { kind: 'adam', groups: [{ n: 3, lr: 0.01 }], steps: 6 },
  'Adam, weight decay + amsgrad': { kind: 'adam', groups: [{ n: 3, lr: 0.02, weightDecay: 0.1, amsgrad: true, betas: [0.8, 0.99] }], steps: 6 },
  'Adam, maximize, eps': { kind: 'adam', groups: [{ n: 3, lr: 0.01, maximize: true, eps: 1e-3 }], steps: 6 },
  'AdamW, two groups': { kind: 'adamw', groups: [{ n: 1, lr: 0.05 }, { n: 2, lr: 0.01, weightDecay: 0.3, amsgrad: true }], steps: 6 },
  'Adam + OneCycleLR (cycles beta1)': {
    kind: 'adam', groups: [{ n: 3, lr: 0.01 }], steps: 8, oneCycle: { maxLr: 0.05, options: { totalSteps: 8, pctStart: 0.4 } },
  },
};

const shapes = [[5, 4], [5], [3, 2, 2, 2]];
const pyNames: Record<string, string> = { weightDecay: 'weight_decay', totalSteps: 'total_steps', pctStart: 'pct_start', maxLr: 'max_lr' };
const toPy = (o: object): Record<string, Value> => Object.fromEntries(Object.entries(o).map(([k, v]) => [pyNames[k] ?? k, v as Value]));

function make(c: Case, params: Tensor[]): { opt: Adam; sched: OneCycleLR | null } {
  let i = 0;
  const groups = c.groups.map(({ n, ...o }) => ({ params: params.slice((i += n) - n, i), ...o }));
  const opt = c.kind === 'adamw' ? new AdamW(groups) : new Adam(groups);
  return { opt, sched: c.oneCycle ? new OneCycleLR(opt, c.oneCycle.maxLr, c.oneCycle.options) : null };
}

function run(params: Tensor[], targets: Tensor[], scales: Tensor[], opt: Adam, sched: OneCycleLR | null, steps: number): void {
  for (let s = 0; s < steps; s++) {
    opt.zeroGrad();
    tidy(() => params.map((p, i) => p.sub(targets[i]).pow(2).mul(scales[i]).sum()).reduce((a, b) => a.add(b)).backward());
    opt.step();
    sched?.step();
  }
}

const cloneValue = (x: Value): Value => x instanceof Tensor ? x.clone()
  : Array.isArray(x) ? x.map(cloneValue)
  : x !== null && typeof x === 'object' ? Object.fromEntries(Object.entries(x).map(([k, v]) => [k, cloneValue(v as Value)])) : x;

const leaves = (ts: Tensor[]) => ts.map((t) => {
  const p = t.clone();
  p.requiresGrad = true;
  return p;
});

test('Adam and AdamW: weights match torch.optim; state dicts load both ways', async (t) => {
  manualSeed(7);
  const init = shapes.map((s) => randn(s));
  const targets = shapes.map((s) => randn(s));
  const scales = shapes.map((s) => rand(s).add(0.5));
  const at = 3;
  const ours: Record<string, { params: Tensor[]; opt: Adam; sched: OneCycleLR | null; paramsAt: Tensor[] }> = {};
  const inputs: Record<string, Value> = {};
  for (const [name, c] of Object.entries(cases)) {
    const params = leaves(init);
    const { opt, sched } = make(c, params);
    run(params, targets, scales, opt, sched, at);
    const paramsAt = params.map((p) => p.detach().clone());
    inputs[name] = {
      kind: c.kind, params: init, targets, scales, steps: c.steps, at,
      groups: c.groups.map((g) => toPy(g)), ...(c.oneCycle ? { onecycle: toPy({ maxLr: c.oneCycle.maxLr, ...c.oneCycle.options }) } : {}),
      // stateDict() shares the live moments, as Python's does: copy them as of now.
      ours_state: cloneValue(opt.stateDict() as unknown as Value), ours_params: paramsAt,
    };
    run(params, targets, scales, opt, sched, c.steps - at);
    ours[name] = { params, opt, sched, paramsAt };
  }
  const { outputs } = await exchange('adam_ref.py', inputs);
  const out = asRecord(outputs);
  for (const [name, c] of Object.entries(cases)) {
    const r = asRecord(out[name], name);
    const o = ours[name];
    o.params.forEach((p, i) => assertClose(t, p, asTensorValue((r.params as Value[])[i]), `${name}: param ${i}`, { rtol: 1e-6, atol: 1e-7 }));
    // Python finished from our state dict exactly as from its own.
    (r.resumed as Value[]).forEach((p, i) => assertClose(t, asTensorValue(p), asTensorValue((r.params as Value[])[i]), `${name}: Python resumed from ours, param ${i}`, { rtol: 1e-6, atol: 1e-7 }));
    // We finish from Python's state dict as Python does.
    const params = leaves((r.params_at as Value[]).map((p) => asTensorValue(p)));
    const { opt, sched } = make(c, params);
    if (sched) for (let s = 0; s < at; s++) sched.step();
    opt.loadStateDict(r.state_at as never);
    t.is(opt.paramGroups[0].lr, (asRecord((r.state_at as { param_groups: Value[] }).param_groups[0])).lr as number, `${name}: lr loaded`);
    run(params, targets, scales, opt, sched, c.steps - at);
    params.forEach((p, i) => assertClose(t, p, asTensorValue((r.params as Value[])[i]), `${name}: resumed from Python's state, param ${i}`, { rtol: 1e-6, atol: 1e-7 }));
    if (c.oneCycle) t.true(o.opt.paramGroups[0].betas[0] < 0.95, 'OneCycleLR moved beta1');
    opt.dispose();
    o.opt.dispose();
    for (const p of [...params, ...o.params, ...o.paramsAt]) p.dispose();
  }
  disposeAll(outputs);
});

test('Adam: bad options and mis-shaped state are named, and a bad state dict changes nothing', (t) => {
  const w = randn([3, 2]);
  w.requiresGrad = true;
  t.throws(() => new Adam([w], { betas: [0.9, 1] }), { message: 'Expected number in [0, 1) for betas[1] but received 1 of type number' });
  t.throws(() => new Adam([w], { lr: -1 }), { message: /Expected number >= 0 for lr but received -1/ });
  t.throws(() => new AdamW([w], { eps: Number.NaN }), { message: /for eps but received NaN/ });
  const opt = new Adam([w], { lr: 0.1 });
  tidy(() => w.pow(2).sum().backward());
  opt.step();
  const good = opt.stateDict();
  const bad = { ...good, state: { 0: { ...good.state[0], exp_avg_sq: randn([2, 3]) } } };
  t.throws(() => opt.loadStateDict(bad), { message: "loaded state dict's state[0].exp_avg_sq has shape [2,3] but parameter 0 has shape [3,2]" });
  t.deepEqual(opt.stateDict().state[0].exp_avg_sq.toArray(), good.state[0].exp_avg_sq.toArray());
  t.is(good.state[0].step.dtype, 'float32');
  t.is(good.state[0].step.item(), 1);
  t.deepEqual(Object.keys(good.param_groups[0]).sort(),
    ['amsgrad', 'betas', 'decoupled_weight_decay', 'eps', 'lr', 'maximize', 'params', 'weight_decay']);
  opt.dispose();
  t.throws(() => opt.step(), { message: 'Adam.step: Optimizer already disposed' });
  w.dispose();
});
