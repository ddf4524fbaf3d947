// Learning-rate schedulers with torch.optim.lr_scheduler's exact formulas.
// Each is stepped after optimizer.step(); construction performs step 0.
import * as v from '../validate';
import { Optimizer, ParamGroup } from './optimizer';

/**
 * The base of the learning-rate schedulers, as `torch.optim.lr_scheduler.LRScheduler`: each sets the
 * param groups' `lr` from its formula. Construction performs step 0 (the first lr is set at once);
 * call {@link LRScheduler.step} after every `optimizer.step()`. Throws a TypeError unless given an
 * {@link Optimizer}.
 */
export abstract class LRScheduler {
  /**
   * The position in the schedule, as `last_epoch`: 0 after construction, one more per step()
   * (a count of steps, despite the name, when stepped per batch).
   */
  lastEpoch = -1;
  /** Calls to step(), the construction's included, as `_step_count`. */
  protected stepCount = 0;
  /** Each group's starting lr (its `initialLr`), as `base_lrs`. */
  readonly baseLrs: number[];
  /** The lrs the last step set, as `_last_lr`. */
  lastLrs: number[] = [];

  /**
   * @param optimizer - the optimizer whose param groups it schedules. Groups without `initialLr`
   *   get their current lr as one.
   */
  constructor(readonly optimizer: Optimizer) {
    if (!(optimizer instanceof Optimizer)) throw v.invalid('Optimizer (SGD, Adam or AdamW)', 'optimizer', optimizer);
    for (const g of optimizer.paramGroups) if (g.initialLr === undefined) g.initialLr = g.lr;
    this.baseLrs = optimizer.paramGroups.map((g) => g.initialLr as number);
  }

  /** Called at the end of the subclass constructor: PyTorch's _initial_step(). */
  protected initialStep(): void {
    this.step();
  }

  /** The lr of each group at `lastEpoch`: the subclass's formula, as `get_lr()`. */
  protected abstract getLr(): number[];

  /** Advances the schedule one step and writes the new lr into every param group. */
  step(): void {
    this.stepCount += 1;
    this.lastEpoch += 1;
    const lrs = this.getLr();
    this.optimizer.paramGroups.forEach((g, i) => (g.lr = lrs[i]));
    this.lastLrs = lrs;
  }

  /** The lrs the last step set, one per group, as `get_last_lr()`. */
  getLastLr(): number[] {
    return [...this.lastLrs];
  }

  /** The schedule's position and settings, as PyTorch's state_dict (minus the optimizer). */
  stateDict(): Record<string, unknown> {
    return { last_epoch: this.lastEpoch, _step_count: this.stepCount, base_lrs: [...this.baseLrs], _last_lr: [...this.lastLrs] };
  }

  /**
   * Restores the position from a {@link LRScheduler.stateDict} (ours or Python's); the settings come
   * from the constructor.
   */
  loadStateDict(state: Record<string, unknown>): void {
    const s = v.object(state, 'stateDict');
    this.lastEpoch = v.integer(s.last_epoch, 'last_epoch', -1);
    this.stepCount = v.integer(s._step_count, '_step_count', 0);
    if (Array.isArray(s._last_lr)) this.lastLrs = (s._last_lr as unknown[]).map((x, i) => v.number(x, `_last_lr[${i}]`));
  }
}

/** Options of {@link OneCycleLR}, with torch's defaults. Give totalSteps, or epochs and stepsPerEpoch. */
export interface OneCycleOptions {
  /** Length of the cycle in steps. */
  totalSteps?: number;
  /** With stepsPerEpoch, the cycle's length as epochs x stepsPerEpoch. */
  epochs?: number;
  /** Batches per epoch (a DataLoader's length). */
  stepsPerEpoch?: number;
  /** Fraction of the cycle spent raising the lr (0.3). */
  pctStart?: number;
  /** Shape of the rise and fall: 'cos' (the default) or 'linear'. */
  annealStrategy?: 'cos' | 'linear';
  /** Cycle momentum (SGD) or beta1 (Adam) inversely to the lr (true). */
  cycleMomentum?: boolean;
  /** Momentum at the lr's peak (0.85); a number, or one per group. */
  baseMomentum?: number;
  /** Momentum at the start and end (0.95); a number, or one per group. */
  maxMomentum?: number;
  /** The starting lr is maxLr / divFactor (25). */
  divFactor?: number;
  /** The final lr is the starting lr / finalDivFactor (1e4). */
  finalDivFactor?: number;
  /** Fall back to the starting lr symmetrically before annealing to the final one, as fast.ai's schedule (false). */
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
 * The 1cycle policy, as `torch.optim.lr_scheduler.OneCycleLR`, with its exact formulas: the lr rises
 * from maxLr / divFactor to maxLr over pctStart of the steps, then anneals to a far lower one. Step it
 * after every batch.
 *
 * With cycleMomentum (the default) it writes the cycled momentum into every param group, even when
 * the optimizer was made with momentum 0: PyTorch does the same, so the reference recipe really
 * trains with momentum. With Adam it cycles beta1.
 *
 * ```ts
 * const sched = new optim.OneCycleLR(opt, 0.1, { epochs: 5, stepsPerEpoch: loader.length });
 * ```
 */
export class OneCycleLR extends LRScheduler {
  /** Length of the cycle in steps; stepping past it throws a RangeError, as PyTorch does. */
  readonly totalSteps: number;
  /** Whether momentum (or beta1) is cycled. */
  readonly cycleMomentum: boolean;
  private readonly phases: Phase[];
  private readonly anneal: (a: number, b: number, pct: number) => number;

  /**
   * @param optimizer - the optimizer to schedule; its own lr is replaced from step 0.
   * @param maxLr - the peak lr, or one per param group.
   * @param options - see {@link OneCycleOptions}.
   * @throws TypeError without totalSteps or epochs and stepsPerEpoch, or for a bad value.
   */
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

/** Multiplies the lr by gamma every stepSize steps, as `torch.optim.lr_scheduler.StepLR`. */
export class StepLR extends LRScheduler {
  /**
   * @param optimizer - the optimizer to schedule.
   * @param stepSize - steps between decays.
   * @param gamma - the factor applied at each decay (0.1).
   */
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

/**
 * Cosine annealing from the initial lr to etaMin over tMax steps, as
 * `torch.optim.lr_scheduler.CosineAnnealingLR` (its recursive form).
 */
export class CosineAnnealingLR extends LRScheduler {
  /**
   * @param optimizer - the optimizer to schedule.
   * @param tMax - steps of the half cosine, from the initial lr down to etaMin.
   * @param etaMin - the minimum lr (0).
   */
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
