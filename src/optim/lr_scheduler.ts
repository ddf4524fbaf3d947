// Learning-rate schedulers with torch.optim.lr_scheduler's exact formulas.
// Each is stepped after optimizer.step(); construction performs step 0.
import * as v from '../validate';
import { Optimizer, ParamGroup } from './optimizer';

export abstract class LRScheduler {
  lastEpoch = -1;
  protected stepCount = 0;
  readonly baseLrs: number[];
  lastLrs: number[] = [];

  constructor(readonly optimizer: Optimizer) {
    if (!(optimizer instanceof Optimizer)) throw v.invalid('Optimizer (SGD, Adam or AdamW)', 'optimizer', optimizer);
    for (const g of optimizer.paramGroups) if (g.initialLr === undefined) g.initialLr = g.lr;
    this.baseLrs = optimizer.paramGroups.map((g) => g.initialLr as number);
  }

  /** Called at the end of the subclass constructor: PyTorch's _initial_step(). */
  protected initialStep(): void {
    this.step();
  }

  protected abstract getLr(): number[];

  step(): void {
    this.stepCount += 1;
    this.lastEpoch += 1;
    const lrs = this.getLr();
    this.optimizer.paramGroups.forEach((g, i) => (g.lr = lrs[i]));
    this.lastLrs = lrs;
  }

  getLastLr(): number[] {
    return [...this.lastLrs];
  }

  /** The schedule's position and settings, as PyTorch's state_dict (minus the optimizer). */
  stateDict(): Record<string, unknown> {
    return { last_epoch: this.lastEpoch, _step_count: this.stepCount, base_lrs: [...this.baseLrs], _last_lr: [...this.lastLrs] };
  }

  loadStateDict(state: Record<string, unknown>): void {
    const s = v.object(state, 'stateDict');
    this.lastEpoch = v.integer(s.last_epoch, 'last_epoch', -1);
    this.stepCount = v.integer(s._step_count, '_step_count', 0);
    if (Array.isArray(s._last_lr)) this.lastLrs = (s._last_lr as unknown[]).map((x, i) => v.number(x, `_last_lr[${i}]`));
  }
}

export interface OneCycleOptions {
  totalSteps?: number;
  epochs?: number;
  stepsPerEpoch?: number;
  pctStart?: number;
  annealStrategy?: 'cos' | 'linear';
  cycleMomentum?: boolean;
  baseMomentum?: number;
  maxMomentum?: number;
  divFactor?: number;
  finalDivFactor?: number;
  threePhase?: boolean;
}

interface Phase {
  endStep: number;
  startLr: string;
  endLr: string;
  startMomentum: string;
  endMomentum: string;
}

/** The momentum OneCycleLR cycles: SGD's momentum, or Adam's beta1 (as PyTorch does). */
function setMomentum(g: ParamGroup, m: number): void {
  if (Array.isArray(g.betas)) g.betas = [m, g.betas[1]];
  else g.momentum = m;
}

const annealCos = (start: number, end: number, pct: number) => end + ((start - end) / 2.0) * (Math.cos(Math.PI * pct) + 1);
const annealLinear = (start: number, end: number, pct: number) => (end - start) * pct + start;

/**
 * OneCycleLR. With cycleMomentum (the default) it writes the cycled momentum
 * into every param group, even when the optimizer was made with momentum 0:
 * PyTorch does the same, so the reference recipe really trains with momentum.
 */
export class OneCycleLR extends LRScheduler {
  readonly totalSteps: number;
  readonly cycleMomentum: boolean;
  private readonly phases: Phase[];
  private readonly anneal: (a: number, b: number, pct: number) => number;

  constructor(optimizer: Optimizer, maxLr: number | number[], options: OneCycleOptions = {}) {
    super(optimizer);
    const o = v.options(options, 'OneCycleLR options', ['totalSteps', 'epochs', 'stepsPerEpoch', 'pctStart', 'annealStrategy',
      'cycleMomentum', 'baseMomentum', 'maxMomentum', 'divFactor', 'finalDivFactor', 'threePhase']);
    if (o.totalSteps !== undefined) this.totalSteps = v.integer(o.totalSteps, 'totalSteps', 1);
    else if (o.epochs !== undefined && o.stepsPerEpoch !== undefined) {
      this.totalSteps = v.integer(o.epochs, 'epochs', 1) * v.integer(o.stepsPerEpoch, 'stepsPerEpoch', 1);
    } else throw new TypeError('OneCycleLR: you must define either totalSteps OR (epochs AND stepsPerEpoch)');
    const pct = v.number(o.pctStart ?? 0.3, 'pctStart', 0, 1);
    const annealStrategy = o.annealStrategy === undefined ? 'cos' : v.oneOf(o.annealStrategy, 'annealStrategy', ['cos', 'linear'] as const);
    this.anneal = annealStrategy === 'cos' ? annealCos : annealLinear;
    const divFactor = v.number(o.divFactor ?? 25.0, 'divFactor', 0);
    const finalDivFactor = v.number(o.finalDivFactor ?? 1e4, 'finalDivFactor', 0);
    this.cycleMomentum = v.boolean(o.cycleMomentum ?? true, 'cycleMomentum');
    const T = this.totalSteps;
    this.phases = v.boolean(o.threePhase ?? false, 'threePhase')
      ? [
        { endStep: pct * T - 1, startLr: 'initialLr', endLr: 'maxLr', startMomentum: 'maxMomentum', endMomentum: 'baseMomentum' },
        { endStep: 2 * pct * T - 2, startLr: 'maxLr', endLr: 'initialLr', startMomentum: 'baseMomentum', endMomentum: 'maxMomentum' },
        { endStep: T - 1, startLr: 'initialLr', endLr: 'minLr', startMomentum: 'maxMomentum', endMomentum: 'maxMomentum' },
      ]
      : [
        { endStep: pct * T - 1, startLr: 'initialLr', endLr: 'maxLr', startMomentum: 'maxMomentum', endMomentum: 'baseMomentum' },
        { endStep: T - 1, startLr: 'maxLr', endLr: 'minLr', startMomentum: 'baseMomentum', endMomentum: 'maxMomentum' },
      ];
    const groups = optimizer.paramGroups;
    const perGroup = (x: unknown, name: string): number[] => {
      if (Array.isArray(x)) {
        if (x.length !== groups.length) throw new TypeError(`OneCycleLR: expected ${groups.length} values for ${name}, got ${x.length}`);
        return x.map((e, i) => v.number(e, `${name}[${i}]`, 0));
      }
      return groups.map(() => v.number(x, name, 0));
    };
    const maxLrs = perGroup(maxLr, 'maxLr');
    const maxMomentums = perGroup(o.maxMomentum ?? 0.95, 'maxMomentum');
    const baseMomentums = perGroup(o.baseMomentum ?? 0.85, 'baseMomentum');
    groups.forEach((g, i) => {
      g.initialLr = maxLrs[i] / divFactor;
      g.maxLr = maxLrs[i];
      g.minLr = (g.initialLr as number) / finalDivFactor;
      if (this.cycleMomentum) {
        setMomentum(g, maxMomentums[i]);
        g.maxMomentum = maxMomentums[i];
        g.baseMomentum = baseMomentums[i];
      }
    });
    (this as { baseLrs: number[] }).baseLrs = groups.map((g) => g.initialLr as number);
    this.initialStep();
  }

  protected getLr(): number[] {
    const step = this.lastEpoch;
    if (step > this.totalSteps) {
      throw new RangeError(`Tried to step ${step} times. The specified number of total steps is ${this.totalSteps}`);
    }
    return this.optimizer.paramGroups.map((g) => {
      let start = 0.0;
      let lr = 0;
      for (let i = 0; i < this.phases.length; i++) {
        const ph = this.phases[i];
        if (step <= ph.endStep || i === this.phases.length - 1) {
          const pct = (step - start) / (ph.endStep - start);
          lr = this.anneal(g[ph.startLr] as number, g[ph.endLr] as number, pct);
          if (this.cycleMomentum) setMomentum(g, this.anneal(g[ph.startMomentum] as number, g[ph.endMomentum] as number, pct));
          break;
        }
        start = ph.endStep;
      }
      return lr;
    });
  }

  stateDict(): Record<string, unknown> {
    return { ...super.stateDict(), total_steps: this.totalSteps };
  }
}

/** Multiplies the lr by gamma every stepSize steps. */
export class StepLR extends LRScheduler {
  constructor(optimizer: Optimizer, readonly stepSize: number, readonly gamma = 0.1) {
    super(optimizer);
    v.integer(stepSize, 'stepSize', 1);
    v.number(gamma, 'gamma', 0);
    this.initialStep();
  }

  protected getLr(): number[] {
    const groups = this.optimizer.paramGroups;
    if (this.lastEpoch === 0 || this.lastEpoch % this.stepSize !== 0) return groups.map((g) => g.lr);
    return groups.map((g) => g.lr * this.gamma);
  }
}

/** Cosine annealing from the initial lr to etaMin over tMax steps (PyTorch's recursive form). */
export class CosineAnnealingLR extends LRScheduler {
  constructor(optimizer: Optimizer, readonly tMax: number, readonly etaMin = 0) {
    super(optimizer);
    v.integer(tMax, 'tMax', 1);
    v.number(etaMin, 'etaMin', 0);
    this.initialStep();
  }

  protected getLr(): number[] {
    const groups = this.optimizer.paramGroups;
    const e = this.lastEpoch, T = this.tMax, m = this.etaMin;
    if (e === 0) return groups.map((g) => g.lr);
    if (this.stepCount === 1 && e > 0) {
      return this.baseLrs.map((b) => m + ((b - m) * (1 + Math.cos((e * Math.PI) / T))) / 2);
    }
    const mod = (a: number, n: number) => ((a % n) + n) % n;
    if (mod(e - 1 - T, 2 * T) === 0) {
      return groups.map((g, i) => g.lr + ((this.baseLrs[i] - m) * (1 - Math.cos(Math.PI / T))) / 2);
    }
    return groups.map((g) => ((1 + Math.cos((Math.PI * e) / T)) / (1 + Math.cos((Math.PI * (e - 1)) / T))) * (g.lr - m) + m);
  }
}
