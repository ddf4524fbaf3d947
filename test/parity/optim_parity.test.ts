// SGD and the lr schedulers against Python's torch.optim on the same
// parameters and losses: test/python/optim_ref.py runs the same steps. Each SGD
// case runs twice here: through ATen's fused kernel (the default) and through the
// per-tensor loop (fused: false), which must equal Python's single-tensor SGD bit
// for bit; the fused run must equal it too without momentum, and be within float32
// rounding with momentum.
import test from 'ava';
import { SGD, SGDOptions } from '../../src/optim/sgd';
import { countRoutes, RouteCounts } from '../../src/routes';
import { CosineAnnealingLR, LRScheduler, OneCycleLR, OneCycleOptions, StepLR } from '../../src/optim/lr_scheduler';
import { Value } from '../../src/serialize';
import { randn, rand, Tensor, tidy } from '../../src/tensor';
import { manualSeed } from '../../src/runtime';
import { assertClose, assertEqualTensors, closeness } from '../helpers/compare';
import { asRecord, asTensorValue, disposeAll, exchange } from '../helpers/python';

type PyKwargs = Record<string, number | boolean>;

// TypeScript option name -> Python keyword.
const pyNames: Record<string, string> = {
  weightDecay: 'weight_decay', totalSteps: 'total_steps', stepsPerEpoch: 'steps_per_epoch', pctStart: 'pct_start',
  annealStrategy: 'anneal_strategy', cycleMomentum: 'cycle_momentum', baseMomentum: 'base_momentum',
  maxMomentum: 'max_momentum', divFactor: 'div_factor', finalDivFactor: 'final_div_factor', threePhase: 'three_phase',
  maxLr: 'max_lr', stepSize: 'step_size', tMax: 'T_max', etaMin: 'eta_min',
};
const toPy = (o: object): Record<string, Value> =>
  Object.fromEntries(Object.entries(o).map(([k, v]) => [pyNames[k] ?? k, v as Value]));

// ---------------------------------------------------------------- SGD

interface SgdCase {
  name: string;
  /** Param groups: SGD options and how many consecutive params each takes. */
  groups: (SGDOptions & { n: number })[];
  steps: number;
  /** A OneCycleLR (its max lr and options) stepped after each optimizer step. */
  oneCycle?: { maxLr: number; options: OneCycleOptions };
  /** Also checkpoint here: load Python's state dict into a fresh SGD and finish from there. */
  resumeAt?: number;
}

const shapes = [[5, 4], [5], [3, 2, 2, 2]];

const sgdCases: SgdCase[] = [
  { name: 'plain', groups: [{ n: 3, lr: 0.1 }], steps: 5 },
  { name: 'momentum', groups: [{ n: 3, lr: 0.05, momentum: 0.9 }], steps: 5 },
  { name: 'momentum + dampening', groups: [{ n: 3, lr: 0.05, momentum: 0.9, dampening: 0.3 }], steps: 5 },
  { name: 'nesterov', groups: [{ n: 3, lr: 0.05, momentum: 0.9, nesterov: true }], steps: 5, resumeAt: 2 },
  { name: 'weight decay', groups: [{ n: 3, lr: 0.1, weightDecay: 0.01 }], steps: 5 },
  {
    name: 'nesterov + weight decay (the reference recipe shape)',
    groups: [{ n: 3, lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 5e-4 }], steps: 5,
  },
  {
    name: 'momentum + dampening + weight decay + maximize',
    groups: [{ n: 3, lr: 0.02, momentum: 0.8, dampening: 0.1, weightDecay: 0.05, maximize: true }], steps: 5,
  },
  {
    name: 'two param groups',
    groups: [{ n: 1, lr: 0.1, momentum: 0.9 }, { n: 2, lr: 0.01, momentum: 0.5, nesterov: true, weightDecay: 1e-3 }],
    steps: 5,
  },
  {
    // The reference: SGD(lr=1.0, weight_decay=5e-4) with default momentum 0, then
    // OneCycleLR, which writes the cycled momentum (0.95 ...) into the group.
    name: 'OneCycleLR on SGD(lr=1.0, weight_decay=5e-4)',
    groups: [{ n: 3, lr: 1.0, weightDecay: 5e-4 }], steps: 6,
    oneCycle: { maxLr: 0.1, options: { epochs: 150, stepsPerEpoch: 391, divFactor: 25, finalDivFactor: 10000, pctStart: 0.3 } },
  },
  {
    name: 'OneCycleLR without cycleMomentum',
    groups: [{ n: 3, lr: 1.0, weightDecay: 5e-4 }], steps: 6,
    oneCycle: { maxLr: 0.1, options: { epochs: 150, stepsPerEpoch: 391, pctStart: 0.3, cycleMomentum: false } },
  },
  {
    name: 'OneCycleLR, short schedule into annealing',
    groups: [{ n: 3, lr: 1.0, weightDecay: 5e-4 }], steps: 10,
    oneCycle: { maxLr: 0.5, options: { totalSteps: 10, pctStart: 0.3 } },
  },
];

interface Problem {
  init: Tensor[];
  targets: Tensor[];
  scales: Tensor[];
}

function lossOf(params: Tensor[], p: Problem): Tensor {
  return tidy(() => {
    let total: Tensor | null = null;
    params.forEach((w, i) => {
      const term = w.sub(p.targets[i]).pow(2).mul(p.scales[i]).sum();
      total = total === null ? term : total.add(term);
    });
    return total as unknown as Tensor;
  });
}

function makeSgd(params: Tensor[], groups: SgdCase['groups'], fused = true): SGD {
  let i = 0;
  return new SGD(groups.map(({ n, ...o }) => {
    const g = { params: params.slice(i, i + n), ...o };
    i += n;
    return g;
  }), { fused });
}

function step(params: Tensor[], opt: SGD, p: Problem, sched?: LRScheduler): void {
  opt.zeroGrad();
  const loss = lossOf(params, p);
  loss.backward();
  loss.dispose();
  opt.step();
  sched?.step();
}

interface SgdResult {
  params: Tensor[];
  buffers: (Tensor | null)[];
  opt: SGD;
  /** The native routes the steps took. */
  routes: RouteCounts;
  /** At c.resumeAt: a copy of the state dict and the parameters. */
  stateAtResume?: Value;
  paramsAtResume?: Tensor[];
}

interface RunOptions {
  fused?: boolean;
  /** A momentum bug, for the control: the buffers are dropped after every step. */
  dropBuffers?: boolean;
}

const cloneValue = (x: Value): Value => x instanceof Tensor ? x.clone()
  : Array.isArray(x) ? x.map(cloneValue)
  : x !== null && typeof x === 'object' ? Object.fromEntries(Object.entries(x).map(([k, v]) => [k, cloneValue(v as Value)])) : x;

function runSgd(c: SgdCase, p: Problem, { fused = true, dropBuffers = false }: RunOptions = {}): SgdResult {
  const params = p.init.map((t) => {
    const w = t.clone();
    w.requiresGrad = true;
    return w;
  });
  const opt = makeSgd(params, c.groups, fused);
  const sched = c.oneCycle ? new OneCycleLR(opt, c.oneCycle.maxLr, c.oneCycle.options) : undefined;
  const r: Partial<SgdResult> = {};
  const routes = countRoutes(() => {
    for (let s = 1; s <= c.steps; s++) {
      step(params, opt, p, sched);
      if (dropBuffers) {
        const sd = opt.stateDict();
        opt.loadStateDict({ ...sd, state: {} });
        for (const st of Object.values(sd.state)) st.momentum_buffer.dispose();
      }
      if (s === c.resumeAt) {
        // stateDict() shares the live momentum buffers: copy them as of now.
        r.stateAtResume = cloneValue(opt.stateDict() as unknown as Value);
        r.paramsAtResume = params.map((w) => w.detach().clone());
      }
    }
  });
  const sd = opt.stateDict();
  const buffers = params.map((_, i) => sd.state[String(i)]?.momentum_buffer ?? null);
  return { ...r, params, buffers, opt, routes };
}

/** Whether any step of the case uses momentum (OneCycleLR cycles it in unless told not to). */
const usesMomentum = (c: SgdCase) => c.groups.some((g) => (g.momentum ?? 0) > 0) ||
  (c.oneCycle !== undefined && c.oneCycle.options.cycleMomentum !== false);

// ---------------------------------------------------------------- schedules

interface ScheduleCase {
  name: string;
  kind: 'onecycle' | 'step' | 'cosine';
  /** SGD options of each param group (one zero param each). */
  groups: SGDOptions[];
  steps: number;
  make: (opt: SGD) => LRScheduler;
  kwargs: Record<string, Value>;
  overstep?: boolean;
}

function oneCycle(name: string, groups: SGDOptions[], maxLr: number | number[], o: OneCycleOptions, steps: number, overstep = false): ScheduleCase {
  return {
    name, kind: 'onecycle', groups, steps, overstep,
    make: (opt) => new OneCycleLR(opt, maxLr, o),
    kwargs: toPy({ maxLr, ...o }),
  };
}

const ref = { epochs: 150, stepsPerEpoch: 391, divFactor: 25, finalDivFactor: 1e4, pctStart: 0.3 };
const refGroup: SGDOptions = { lr: 1.0, weightDecay: 5e-4 };

const scheduleCases: ScheduleCase[] = [
  // The reference recipe: every one of the 150 x 391 steps, and one step past the end.
  oneCycle('OneCycleLR: reference 150 x 391 cos', [refGroup], 0.1, ref, 150 * 391, true),
  oneCycle('OneCycleLR: three phase', [refGroup], 0.1, { ...ref, epochs: 20, threePhase: true }, 20 * 391, true),
  oneCycle('OneCycleLR: linear annealing', [refGroup], 0.1, { ...ref, epochs: 20, annealStrategy: 'linear' }, 20 * 391),
  oneCycle('OneCycleLR: three phase + linear, custom momenta', [{ lr: 0.5, momentum: 0.5 }], 0.2,
    { totalSteps: 3000, pctStart: 0.25, threePhase: true, annealStrategy: 'linear', baseMomentum: 0.8, maxMomentum: 0.9, divFactor: 10, finalDivFactor: 100 }, 3000),
  oneCycle('OneCycleLR: two groups, per-group max lr', [refGroup, { lr: 0.3, momentum: 0.9 }], [0.1, 0.02],
    { totalSteps: 1000, pctStart: 0.4 }, 1000),
  oneCycle('OneCycleLR: cycleMomentum false', [{ lr: 1.0, momentum: 0.7 }], 0.1, { totalSteps: 500, cycleMomentum: false }, 500),
  {
    name: 'StepLR', kind: 'step', groups: [{ lr: 0.1, momentum: 0.9 }, { lr: 0.03 }], steps: 40,
    make: (opt) => new StepLR(opt, 7, 0.5), kwargs: { step_size: 7, gamma: 0.5 },
  },
  {
    name: 'CosineAnnealingLR with etaMin, past several periods', kind: 'cosine', groups: [{ lr: 0.1 }, { lr: 0.02 }], steps: 45,
    make: (opt) => new CosineAnnealingLR(opt, 10, 0.001), kwargs: { T_max: 10, eta_min: 0.001 },
  },
  {
    name: 'CosineAnnealingLR', kind: 'cosine', groups: [{ lr: 0.05, momentum: 0.9 }], steps: 30,
    make: (opt) => new CosineAnnealingLR(opt, 25), kwargs: { T_max: 25, eta_min: 0 },
  },
];

interface Trace {
  lr: number[][];
  momentum: number[][];
  lastLr: number[];
  sched: LRScheduler;
  /** The scheduler's state dict after the last regular step. */
  schedState: Record<string, unknown>;
  opt: SGD;
  params: Tensor[];
  overstepError?: string;
}

function runSchedule(c: ScheduleCase): Trace {
  const params = c.groups.map(() => {
    const p = randn([1]);
    p.requiresGrad = true;
    return p;
  });
  const opt = new SGD(c.groups.map((g, i) => ({ params: [params[i]], ...g })));
  const sched = c.make(opt);
  const lr = opt.paramGroups.map((g) => [g.lr]);
  const momentum = opt.paramGroups.map((g) => [g.momentum]);
  for (let s = 0; s < c.steps; s++) {
    opt.step();
    sched.step();
    opt.paramGroups.forEach((g, i) => {
      lr[i].push(g.lr);
      momentum[i].push(g.momentum);
    });
  }
  const trace: Trace = { lr, momentum, lastLr: sched.getLastLr(), sched, schedState: sched.stateDict(), opt, params };
  if (c.overstep) {
    try {
      sched.step();
      trace.overstepError = '';
    } catch (e) {
      trace.overstepError = (e as Error).message;
    }
  }
  return trace;
}

// ---------------------------------------------------------------- run both sides

let problem: Problem;
const oursSgd = new Map<string, SgdResult>();
const oursPerTensor = new Map<string, SgdResult>();
const oursSched = new Map<string, Trace>();
let py: { sgd: Record<string, Value>; schedules: Record<string, Value> };

test.before(async () => {
  manualSeed(7);
  problem = {
    init: shapes.map((s) => randn(s)),
    targets: shapes.map((s) => randn(s)),
    scales: shapes.map((s) => rand(s).add(0.5)),
  };
  for (const c of sgdCases) {
    oursSgd.set(c.name, runSgd(c, problem));
    oursPerTensor.set(c.name, runSgd(c, problem, { fused: false }));
  }
  for (const c of scheduleCases) oursSched.set(c.name, runSchedule(c));

  const sgdIn: Record<string, Value> = {};
  for (const c of sgdCases) {
    sgdIn[c.name] = {
      params: problem.init, targets: problem.targets, scales: problem.scales, steps: c.steps,
      groups: c.groups.map((g) => toPy(g)),
      ...(c.oneCycle ? { scheduler: { kind: 'onecycle', ...toPy({ maxLr: c.oneCycle.maxLr, ...c.oneCycle.options }) } } : {}),
      ...(c.resumeAt ? { resume_at: c.resumeAt } : {}),
      // Our state dict (per-tensor run, Python's bits) at resume_at, for Python to finish from.
      ...(c.resumeAt ? { ours_state: oursPerTensor.get(c.name)!.stateAtResume!, ours_params: oursPerTensor.get(c.name)!.paramsAtResume! } : {}),
    };
  }
  const schedIn: Record<string, Value> = {};
  for (const c of scheduleCases) {
    schedIn[c.name] = { kind: c.kind, groups: c.groups.map((g) => toPy(g)), kwargs: c.kwargs, steps: c.steps, overstep: !!c.overstep };
  }
  const { outputs } = await exchange('optim_ref.py', { sgd: sgdIn, schedules: schedIn });
  const o = asRecord(outputs);
  py = { sgd: asRecord(o.sgd), schedules: asRecord(o.schedules) };
});

test.after.always(() => {
  disposeAll(py as unknown as Value);
  for (const r of [...oursSgd.values(), ...oursPerTensor.values()]) {
    r.params.forEach((p) => p.dispose());
    r.buffers.forEach((b) => b?.dispose());
    r.paramsAtResume?.forEach((p) => p.dispose());
    if (r.stateAtResume) disposeAll(r.stateAtResume);
    r.opt.dispose();
  }
  for (const r of oursSched.values()) r.params.forEach((p) => p.dispose());
  disposeAll(problem as unknown as Value);
});

const weightTol = { rtol: 1e-6, atol: 1e-6 };
// For checks that two results DIFFER: the fixed atol, not one scaled down to the tensor.
const differTol = { ...weightTol, scaleAtol: false };
// The fused kernel against the per-tensor loop where momentum makes them round
// differently: the update (weights after minus before) to 1e-5 of its scale. The
// measured difference is about 1e-7 of it; a momentum bug is O(1) (control below).
const fusedTol = { rtol: 1e-5, atol: 1e-5 };

/** Each parameter's update: after minus the initial value. */
const updates = (r: SgdResult) => r.params.map((w, i) => w.detach().sub(problem.init[i]));
/** Each SGD case steps every group once per step; a group's step is one native call. */
const calls = (c: SgdCase) => c.steps * c.groups.length;

for (const c of sgdCases) {
  test(`SGD ${c.name}: weights after ${c.steps} steps match torch.optim.SGD`, (t) => {
    const ours = oursSgd.get(c.name)!;
    const r = asRecord(py.sgd[c.name]);
    const refParams = r.params as Tensor[];
    const refBuffers = r.buffers as (Tensor | null)[];
    t.is(refParams.length, ours.params.length);
    ours.params.forEach((p, i) => assertClose(t, p.detach(), refParams[i], `param ${i}`, weightTol));
    ours.params.forEach((p, i) => {
      // The weights really moved: a stale copy would be caught.
      t.false(closeness(p, problem.init[i], differTol).ok, `param ${i} changed`);
    });
    refBuffers.forEach((b, i) => {
      if (b === null) t.is(ours.buffers[i], null, `no momentum buffer ${i}, as in PyTorch`);
      else assertClose(t, ours.buffers[i], b, `momentum buffer ${i}`, weightTol);
    });
    // The group hyper-parameters, as Python's state_dict names them.
    const sd = asRecord(r.state_dict);
    const pyGroups = sd.param_groups as Record<string, Value>[];
    const ourGroups = ours.opt.stateDict().param_groups;
    t.is(ourGroups.length, pyGroups.length);
    ourGroups.forEach((g, gi) => {
      for (const [k, val] of Object.entries(g)) {
        t.deepEqual(val, pyGroups[gi][k], `param_groups[${gi}].${k}`);
      }
      for (const k of ['lr', 'momentum', 'dampening', 'weight_decay', 'nesterov', 'maximize', 'params']) {
        t.true(k in g, `param_groups[${gi}] has ${k}`);
      }
    });
  });
}

for (const c of sgdCases) {
  test(`SGD ${c.name}: the per-tensor path (fused: false) equals torch.optim.SGD bit for bit`, (t) => {
    const ours = oursPerTensor.get(c.name)!;
    t.is(ours.routes.sgdPerTensor, calls(c), 'every step took the per-tensor loop');
    t.is(ours.routes.sgdFused, 0, 'no step took the fused kernel');
    const r = asRecord(py.sgd[c.name]);
    (r.params as Tensor[]).forEach((ref, i) => assertEqualTensors(t, ours.params[i].detach(), ref, `param ${i}`));
    (r.buffers as (Tensor | null)[]).forEach((b, i) => {
      if (b === null) t.is(ours.buffers[i], null, `no momentum buffer ${i}, as in PyTorch`);
      else assertEqualTensors(t, ours.buffers[i]!, b, `momentum buffer ${i}`);
    });
  });

  const momentum = usesMomentum(c);
  test(`SGD ${c.name}: the fused kernel equals the per-tensor path${momentum ? ' within float32 rounding (momentum)' : ' bit for bit'}`, (t) => {
    const fused = oursSgd.get(c.name)!, loop = oursPerTensor.get(c.name)!;
    t.is(fused.routes.sgdFused, calls(c), 'every step took the fused kernel');
    t.is(fused.routes.sgdPerTensor, 0, 'no step took the per-tensor loop');
    const a = updates(fused), b = updates(loop);
    if (!momentum) {
      fused.params.forEach((p, i) => assertEqualTensors(t, p.detach(), loop.params[i].detach(), `param ${i}`));
      t.true(fused.buffers.every((x) => x === null) && loop.buffers.every((x) => x === null), 'no momentum buffers');
    } else {
      a.forEach((u, i) => {
        const cl = closeness(u, b[i], fusedTol);
        t.log(`param ${i}: update differs by at most ${cl.maxAbsDiff.toExponential(2)} (atol ${cl.atol.toExponential(2)})`);
        assertClose(t, u, b[i], `update of param ${i}`, fusedTol);
      });
      fused.buffers.forEach((x, i) => assertClose(t, x, loop.buffers[i], `momentum buffer ${i}`, fusedTol));
    }
    for (const u of [...a, ...b]) u.dispose();
  });
}

test('control: the fused-vs-per-tensor comparison rejects a momentum bug (buffers restarted every step)', (t) => {
  for (const c of sgdCases.filter(usesMomentum)) {
    const buggy = runSgd(c, problem, { dropBuffers: true });
    const loop = oursPerTensor.get(c.name)!;
    t.is(buggy.routes.sgdFused, calls(c));
    const a = updates(buggy), b = updates(loop);
    t.false(a.every((u, i) => closeness(u, b[i], fusedTol).ok), `${c.name}: the bug went unnoticed`);
    for (const u of [...a, ...b, ...buggy.params]) u.dispose();
    buggy.opt.dispose();
  }
});

test('Python loads our SGD state dict and finishes exactly as from its own', (t) => {
  const c = sgdCases.find((x) => x.resumeAt)!;
  const r = asRecord(py.sgd[c.name]);
  const final = r.params as Tensor[];
  (r.resumed_from_ours as Tensor[]).forEach((p, i) => assertEqualTensors(t, p, final[i], `param ${i}`));
  // Control: without our momentum buffers Python ends elsewhere, so the state was read.
  t.false((r.resumed_without_state as Tensor[]).every((p, i) => closeness(p, final[i], differTol).ok),
    'the loaded momentum buffers change the result');
});

test('SGD resumed from Python\'s optimizer state dict finishes like Python', (t) => {
  const c = sgdCases.find((x) => x.resumeAt)!;
  const r = asRecord(py.sgd[c.name]);
  const params = (r.params_at_resume as Tensor[]).map((x) => {
    const w = x.clone();
    w.requiresGrad = true;
    return w;
  });
  const opt = makeSgd(params, c.groups);
  const state = asRecord(r.state_at_resume);
  opt.loadStateDict(state as never);
  for (let s = c.resumeAt!; s < c.steps; s++) step(params, opt, problem);
  (r.params as Tensor[]).forEach((ref, i) => assertClose(t, params[i].detach(), ref, `param ${i}`, weightTol));
  // Without the loaded momentum the result is different: the state mattered.
  const fresh = (r.params_at_resume as Tensor[]).map((x) => {
    const w = x.clone();
    w.requiresGrad = true;
    return w;
  });
  const opt2 = makeSgd(fresh, c.groups);
  for (let s = c.resumeAt!; s < c.steps; s++) step(fresh, opt2, problem);
  t.false(closeness(fresh[0], (r.params as Tensor[])[0], differTol).ok, 'the loaded momentum changes the result');
  [...params, ...fresh].forEach((p) => p.dispose());
  opt.dispose();
  opt2.dispose();
});

test('OneCycleLR makes a momentum-0 SGD use momentum, as PyTorch does', (t) => {
  const withM = oursSgd.get('OneCycleLR on SGD(lr=1.0, weight_decay=5e-4)')!;
  const without = oursSgd.get('OneCycleLR without cycleMomentum')!;
  const g = withM.opt.paramGroups[0];
  const pyMomentum = (asRecord(py.sgd['OneCycleLR on SGD(lr=1.0, weight_decay=5e-4)']).momentums as number[])[0];
  t.true(g.momentum > 0.94 && g.momentum < 0.95, `cycled momentum ${g.momentum}`);
  t.true(Math.abs(g.momentum - pyMomentum) <= 1e-12);
  t.is(without.opt.paramGroups[0].momentum, 0);
  t.true(withM.buffers.every((b) => b !== null), 'momentum buffers exist');
  t.true(without.buffers.every((b) => b === null), 'no momentum buffers without cycling');
  // And the weights differ measurably because of it.
  t.false(closeness(withM.params[0], without.params[0], differTol).ok);
});

function maxAbs(a: number[], b: Tensor): { max: number; at: number; n: number } {
  const bv = b.toArray();
  let max = 0;
  let at = -1;
  for (let i = 0; i < Math.max(a.length, bv.length); i++) {
    const d = Math.abs(a[i] - bv[i]);
    if (!(d <= max)) {
      max = d;
      at = i;
    }
  }
  return { max, at, n: bv.length };
}

for (const c of scheduleCases) {
  test(`${c.name}: lr and momentum of every step match PyTorch to 1e-12`, (t) => {
    const ours = oursSched.get(c.name)!;
    const r = asRecord(py.schedules[c.name]);
    const refLr = r.lr as Tensor[];
    const refM = r.momentum as Tensor[];
    t.is(refLr.length, c.groups.length);
    for (let g = 0; g < c.groups.length; g++) {
      t.is(ours.lr[g].length, c.steps + 1);
      const l = maxAbs(ours.lr[g], refLr[g]);
      t.is(l.n, c.steps + 1);
      t.true(l.max <= 1e-12, `group ${g} lr differs by ${l.max} at step ${l.at}: ${ours.lr[g][l.at]} vs ${refLr[g].toArray()[l.at]}`);
      const m = maxAbs(ours.momentum[g], refM[g]);
      t.true(m.max <= 1e-12, `group ${g} momentum differs by ${m.max} at step ${m.at}`);
    }
    const lastLr = r.last_lr as number[];
    ours.lastLr.forEach((x, i) => t.true(Math.abs(x - lastLr[i]) <= 1e-12, `last lr ${i}`));
    const sd = asRecord(r.state_dict);
    const ourSd = ours.schedState;
    t.is(ourSd.last_epoch, sd.last_epoch);
    t.is(ourSd._step_count, sd._step_count);
    (sd.base_lrs as number[]).forEach((b, i) => t.true(Math.abs((ourSd.base_lrs as number[])[i] - b) <= 1e-15, `base lr ${i}`));
    if ('total_steps' in sd) t.is(ourSd.total_steps, sd.total_steps);
    // The keys the scheduler writes into each group, in Python's names.
    const pyKeys = r.group_keys as string[][];
    ours.opt.stateDict().param_groups.forEach((g, i) => {
      const ourKeys = Object.keys(g).filter((k) => k !== 'params');
      for (const k of ourKeys) t.true(pyKeys[i].includes(k), `Python's group has ${k}`);
      for (const k of ['initial_lr', 'max_lr', 'min_lr', 'max_momentum', 'base_momentum']) {
        if (pyKeys[i].includes(k)) t.true(ourKeys.includes(k), `our group has ${k}`);
      }
    });
    if (c.overstep) {
      t.is(typeof r.overstep_error, 'string');
      t.not(r.overstep_error, '', 'PyTorch refuses a step past the end');
      t.is(ours.overstepError, r.overstep_error as string, 'the same error past the end');
    }
  });
}

test('OneCycleLR reference schedule has the expected shape (sanity of the reference itself)', (t) => {
  const r = asRecord(py.schedules['OneCycleLR: reference 150 x 391 cos']);
  const lr = asTensorValue((r.lr as Value[])[0]).toArray();
  const m = asTensorValue((r.momentum as Value[])[0]).toArray();
  t.is(lr.length, 58651);
  t.true(Math.abs(lr[0] - 0.004) < 1e-15);
  const peak = Math.round(0.3 * 58650 - 1);
  t.true(Math.abs(lr[peak] - 0.1) < 1e-6);
  t.true(Math.abs(lr[58649] - 0.004 / 1e4) < 1e-12);
  t.true(Math.abs(m[0] - 0.95) < 1e-15 && Math.abs(m[peak] - 0.85) < 1e-6);
});
