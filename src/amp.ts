// Mixed precision: autocast(device, dtype, fn) runs fn with libtorch's autocast
// on, as Python's `with torch.autocast(device_type, dtype):`. Run the forward
// pass and the loss inside it; backward() outside.
import { checkDevice, parseDevice } from './device';
import { addon } from './native';
import { Optimizer } from './optim/optimizer';
import { asTensor, full, keep, tidy, Tensor, zeros } from './tensor';
import * as v from './validate';

/** The dtypes autocast runs in. */
export const autocastDtypes = ['bfloat16', 'float16'] as const;
/** The lower-precision dtype {@link autocast} computes in. */
export type AutocastDtype = (typeof autocastDtypes)[number];

/**
 * Runs `fn` with libtorch's automatic mixed precision on for the device type of `device`, as Python's
 * `with torch.autocast(device_type, dtype):`. Eligible ops (convolutions, matmuls) run in `dtype`,
 * the rest in float32. Put the forward pass and the loss inside; call backward() outside.
 * 'bfloat16' needs no loss scaling; 'float16' needs a {@link GradScaler}. Returns what `fn` returns.
 * Throws a TypeError for an unknown device or dtype.
 */
export function autocast<T>(device: string, dtype: AutocastDtype, fn: () => T): T {
  const type = parseDevice(device).type;
  v.oneOf(dtype, 'dtype', autocastDtypes);
  const [wasEnabled, previous] = addon.autocastEnter(type, dtype);
  try {
    return fn();
  } finally {
    addon.autocastExit(type, wasEnabled, previous);
  }
}

/** Options of {@link GradScaler}, with torch.amp.GradScaler's defaults. */
export interface GradScalerOptions {
  /** Starting scale (PyTorch: 2**16). */
  initScale?: number;
  /** Scale *= this after growthInterval steps without inf/NaN gradients. */
  growthFactor?: number;
  /** Scale *= this when a step's gradients hold inf/NaN (the step is skipped). */
  backoffFactor?: number;
  /** Clean steps between growths (PyTorch: 2000). */
  growthInterval?: number;
  /** false makes every method a pass-through, so one loop serves both cases. */
  enabled?: boolean;
}

/**
 * {@link GradScaler.stateDict}'s result: torch.amp.GradScaler's `state_dict()` keys, so Python and
 * torchbridge checkpoints interchange.
 */
export interface GradScalerState {
  /** The current loss scale. */
  scale: number;
  /** See {@link GradScalerOptions.growthFactor}. */
  growth_factor: number;
  /** See {@link GradScalerOptions.backoffFactor}. */
  backoff_factor: number;
  /** See {@link GradScalerOptions.growthInterval}. */
  growth_interval: number;
  /** Clean steps since the scale last changed. */
  _growth_tracker: number;
}

type Stage = 'ready' | 'unscaled' | 'stepped';

/**
 * torch.amp.GradScaler: loss scaling for float16 training, so small gradients do not underflow.
 * The same kernels in the same order, so a run matches Python's step for step:
 *
 * ```ts
 * const loss = autocast('cuda', 'float16', () => criterion(net.forward(x), y));
 * scaler.scale(loss).backward();
 * scaler.step(opt);   // unscales; skips the step when a gradient is inf/NaN
 * scaler.update();
 * ```
 *
 * step() reads one flag from the device, as Python's does with non-fused optimizers.
 * Call {@link GradScaler.dispose} when done.
 */
export class GradScaler {
  /** The device named at construction. The scale itself is made on the device of the first loss passed to scale(). */
  readonly device: string;
  /** false when constructed with `enabled: false`: every method is then a pass-through. */
  readonly enabled: boolean;
  private initScale: number;
  private readonly growthFactor: number;
  private readonly backoffFactor: number;
  private readonly growthInterval: number;
  private initGrowthTracker = 0;
  private scaleT: Tensor | null = null;
  private tracker: Tensor | null = null;
  private readonly stages = new Map<Optimizer, { stage: Stage; foundInf: Tensor | null }>();

  /**
   * @param device - the training device, 'cuda' by default; checked (and initialised) now.
   * @param options - see {@link GradScalerOptions}.
   * @throws TypeError for a bad option, e.g. backoffFactor >= 1, or an unknown device.
   */
  constructor(device = 'cuda', options: GradScalerOptions = {}) {
    const o = v.options(options, 'GradScaler options', ['initScale', 'growthFactor', 'backoffFactor', 'growthInterval', 'enabled']);
    this.device = checkDevice(device, 'device');
    this.initScale = v.number(o.initScale ?? 2 ** 16, 'initScale', Number.MIN_VALUE);
    this.growthFactor = v.number(o.growthFactor ?? 2, 'growthFactor', 1);
    this.backoffFactor = v.number(o.backoffFactor ?? 0.5, 'backoffFactor', Number.MIN_VALUE);
    if (this.backoffFactor >= 1) throw v.invalid('number below 1', 'backoffFactor', this.backoffFactor);
    this.growthInterval = v.integer(o.growthInterval ?? 2000, 'growthInterval', 1);
    this.enabled = v.boolean(o.enabled ?? true, 'enabled');
  }

  /** loss * scale: a new tensor (the input unchanged), or the input itself when disabled. */
  scale(loss: Tensor): Tensor {
    asTensor(loss, 'loss');
    if (!this.enabled) return loss;
    this.lazyInit(loss.device);
    const s = (this.scaleT as Tensor).device === loss.device ? null : (this.scaleT as Tensor).to(loss.device);
    try {
      return loss.mul(s ?? (this.scaleT as Tensor));
    } finally {
      s?.dispose();
    }
  }

  /**
   * Divides the optimizer's gradients by the scale in place and records whether any is inf/NaN; call
   * it before clipping gradients. At most once per optimizer between updates; throws otherwise, and
   * for float16 gradients (keep parameters in float32).
   */
  unscale_(optimizer: Optimizer): void {
    checkOptimizer(optimizer);
    if (!this.enabled) return;
    const st = this.state(optimizer, 'unscale_');
    if (st.stage === 'unscaled') throw new Error('GradScaler.unscale_: already called on this optimizer since the last update()');
    if (st.stage === 'stepped') throw new Error('GradScaler.unscale_: called after step(); call update() first');
    const grads: Tensor[] = [];
    try {
      for (const g of optimizer.paramGroups) {
        for (const p of g.params) {
          const grad = p.grad;
          if (!grad) continue;
          grads.push(grad);
          if (grad.dtype === 'float16') throw new Error('GradScaler.unscale_: attempting to unscale float16 gradients; keep the parameters in float32 and use autocast');
        }
      }
      const scale = this.scaleT as Tensor;
      // Python: scale.double().reciprocal().float()
      const inv = tidy(() => full([], 1, { dtype: 'float64', device: scale.device }).div(scale.to('float64')).to('float32'));
      const foundInf = keep(zeros([], { device: scale.device })); // read by step() and update()
      try {
        addon.ampUnscale(grads.map((t) => t.raw), foundInf.raw, inv.raw);
      } catch (e) {
        foundInf.dispose();
        throw e;
      } finally {
        inv.dispose();
      }
      st.foundInf = foundInf;
      st.stage = 'unscaled';
    } finally {
      for (const t of grads) t.dispose();
    }
  }

  /**
   * Unscales (unless unscale_ was called) and calls `optimizer.step()`, unless a gradient is inf/NaN.
   * Returns whether it stepped. Throws when called twice before update(), or before scale().
   */
  step(optimizer: Optimizer): boolean {
    checkOptimizer(optimizer);
    if (!this.enabled) {
      optimizer.step();
      return true;
    }
    const st = this.state(optimizer, 'step');
    if (st.stage === 'stepped') throw new Error('GradScaler.step: already called since the last update()');
    if (st.stage === 'ready') this.unscale_(optimizer);
    const skip = (st.foundInf as Tensor).item() !== 0;
    if (!skip) optimizer.step();
    st.stage = 'stepped';
    return !skip;
  }

  /** Backs the scale off after an inf/NaN step, grows it after growthInterval clean ones. */
  update(newScale?: number): void {
    if (!this.enabled) return;
    if (!this.scaleT || !this.tracker) throw new Error('GradScaler.update: no scale yet; call scale() first');
    try {
      if (newScale !== undefined) {
        this.scaleT.fill_(v.number(newScale, 'newScale', Number.MIN_VALUE));
        return;
      }
      const infs = [...this.stages.values()].map((s) => s.foundInf).filter((t): t is Tensor => t !== null);
      if (infs.length === 0) throw new Error('GradScaler.update: no inf checks were recorded; call step() first');
      const combined = tidy(() => infs.slice(1).reduce((a, b) => a.add(b), infs[0].clone()));
      try {
        addon.ampUpdateScale(this.scaleT.raw, this.tracker.raw, combined.raw, this.growthFactor, this.backoffFactor, this.growthInterval);
      } finally {
        combined.dispose();
      }
    } finally {
      this.resetStages();
    }
  }

  /** The current scale (reads it from the device). */
  getScale(): number {
    if (!this.enabled) return 1;
    return this.scaleT ? this.scaleT.item() : this.initScale;
  }

  /** PyTorch's scaler.state_dict(): the same keys, so checkpoints carry over. */
  stateDict(): GradScalerState | Record<string, never> {
    if (!this.enabled) return {};
    return {
      scale: this.getScale(), growth_factor: this.growthFactor, backoff_factor: this.backoffFactor,
      growth_interval: this.growthInterval, _growth_tracker: this.tracker ? this.tracker.item() : this.initGrowthTracker,
    };
  }

  /**
   * Restores a {@link GradScaler.stateDict} (ours or Python's). Throws when this scaler is disabled, the
   * dict is empty, or its growth settings differ from this scaler's.
   */
  loadStateDict(state: GradScalerState): void {
    if (!this.enabled) throw new Error('GradScaler.loadStateDict: this scaler is disabled');
    const o = v.options(state, 'state', ['scale', 'growth_factor', 'backoff_factor', 'growth_interval', '_growth_tracker']);
    if (o.scale === undefined) throw new Error('GradScaler.loadStateDict: the state dict is empty; was it saved by a disabled scaler?');
    this.initScale = v.number(o.scale, 'state.scale', Number.MIN_VALUE);
    this.initGrowthTracker = v.integer(o._growth_tracker ?? 0, 'state._growth_tracker', 0);
    for (const [k, mine] of [['growth_factor', this.growthFactor], ['backoff_factor', this.backoffFactor], ['growth_interval', this.growthInterval]] as const) {
      if (o[k] !== undefined && o[k] !== mine) throw new Error(`GradScaler.loadStateDict: ${k} is ${String(o[k])} in the state but ${mine} here; construct the scaler with the same options`);
    }
    this.scaleT?.fill_(this.initScale);
    this.tracker?.fill_(this.initGrowthTracker);
  }

  /** Frees the scale tensors. Idempotent. */
  dispose(): void {
    this.resetStages();
    this.scaleT?.dispose();
    this.tracker?.dispose();
    this.scaleT = this.tracker = null;
  }

  private lazyInit(device: string): void {
    if (this.scaleT) return;
    // keep(): the scaler outlives any tidy() that its first scale() runs in.
    this.scaleT = keep(full([], this.initScale, { dtype: 'float32', device }));
    this.tracker = keep(full([], this.initGrowthTracker, { dtype: 'int32', device }));
  }

  private state(optimizer: Optimizer, op: string): { stage: Stage; foundInf: Tensor | null } {
    if (!this.scaleT) throw new Error(`GradScaler.${op}: no scale yet; call scale() on the loss first`);
    let st = this.stages.get(optimizer);
    if (!st) this.stages.set(optimizer, (st = { stage: 'ready', foundInf: null }));
    return st;
  }

  private resetStages(): void {
    for (const s of this.stages.values()) s.foundInf?.dispose();
    this.stages.clear();
  }
}

/** A disabled scaler still calls optimizer.step(), so the check comes before anything else. */
function checkOptimizer(optimizer: unknown): asserts optimizer is Optimizer {
  if (!(optimizer instanceof Optimizer)) throw v.invalid('Optimizer (SGD, Adam or AdamW)', 'optimizer', optimizer);
}
