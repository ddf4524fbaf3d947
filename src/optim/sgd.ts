// torch.optim.SGD: the same update, param groups whose hyper-parameters can be
// read and written (schedulers do), and a state dict in PyTorch's layout.
import { addon, RawSGD } from '../native';
import { Tensor } from '../tensor';
import * as v from '../validate';
import { Optimizer, OptimizerStateDict, ParamGroup } from './optimizer';

/** Hyper-parameters of {@link SGD}, with torch.optim.SGD's names (camelCase) and defaults. */
export interface SGDOptions {
  /** Learning rate (1e-3). */
  lr?: number;
  /** Momentum factor (0: plain SGD). */
  momentum?: number;
  /** Dampening for momentum (0). */
  dampening?: number;
  /** L2 penalty added to the gradient (0). */
  weightDecay?: number;
  /** Nesterov momentum; needs momentum > 0 and dampening 0 (false). */
  nesterov?: boolean;
  /** Maximise the objective instead of minimising it (false). */
  maximize?: boolean;
}

/** A param group of {@link SGD}: {@link SGDOptions} resolved for these parameters. */
export interface SGDParamGroup extends ParamGroup {
  /** Momentum factor; OneCycleLR writes the cycled value here. */
  momentum: number;
  /** Dampening for momentum. */
  dampening: number;
  /** L2 penalty. */
  weightDecay: number;
  /** Nesterov momentum. */
  nesterov: boolean;
  /** Maximise instead of minimise. */
  maximize: boolean;
}

/** {@link SGDOptions} plus how the update runs. */
export interface SGDConstructorOptions extends SGDOptions {
  /**
   * true (the default): ATen's fused kernel, one pass over memory, where it applies
   * (dense float parameters on one device). Without momentum it is bit-identical
   * to the per-tensor update; with momentum it differs by float32 rounding (about
   * 1 ulp). false: the per-tensor loop, op for op torch.optim.SGD's single-tensor
   * path, which Python uses on the CPU. Not part of the param groups or state dict.
   */
  fused?: boolean;
}

/** {@link SGD}'s state dict: a momentum buffer per parameter that has one (none without momentum). */
export interface SGDStateDict extends OptimizerStateDict {
  state: Record<string, {
    /** The velocity of SGD with momentum, shaped like the parameter. */
    momentum_buffer: Tensor;
  }>;
}

const optionKeys = ['lr', 'momentum', 'dampening', 'weightDecay', 'nesterov', 'maximize'] as const;
const builtinDefaults: Required<SGDOptions> = { lr: 1e-3, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false };

/**
 * Stochastic gradient descent, optionally with momentum, as `torch.optim.SGD`: the same update,
 * param groups and state dict, so Python finishes a run from our state dict and we finish one from
 * Python's. `params` is a list of tensors or of groups `{ params, ...options }` whose options override
 * `options`. Throws a TypeError for an empty list, a parameter in two groups, or a bad hyper-parameter.
 *
 * ```ts
 * const opt = new optim.SGD(net.parameters(), { lr: 0.1, momentum: 0.9, weightDecay: 5e-4 });
 * ```
 */
export class SGD extends Optimizer<SGDParamGroup> {
  /** The constructor's options over the built-in defaults: what groups without their own values use. */
  readonly defaults: Required<SGDOptions>;
  /** Whether step() uses ATen's fused kernel where it applies (see SGDConstructorOptions). */
  readonly fused: boolean;
  /** @internal */
  protected readonly native: RawSGD;

  constructor(params: Tensor[] | ({ params: Tensor[] } & SGDOptions)[], options: SGDConstructorOptions = {}) {
    super();
    const { fused, ...o } = v.options(options, 'SGD options', [...optionKeys, 'fused']);
    this.fused = v.boolean(fused ?? true, 'fused');
    const { lr, momentum, dampening, weightDecay, nesterov, maximize } = this.checkGroup({ ...builtinDefaults, ...o }, '');
    this.defaults = { lr, momentum, dampening, weightDecay, nesterov, maximize };
    const flat = this.addGroups(params, optionKeys, this.defaults);
    this.native = new addon.SGD(flat.map((p) => p.raw));
  }

  protected checkGroup(g: Record<string, unknown>, where: string): Required<SGDOptions> & Record<string, unknown> {
    const group = {
      ...g,
      lr: v.number(g.lr, `${where}lr`, 0),
      momentum: v.number(g.momentum, `${where}momentum`, 0),
      dampening: v.finite(g.dampening, `${where}dampening`),
      weightDecay: v.number(g.weightDecay, `${where}weightDecay`, 0),
      nesterov: v.boolean(g.nesterov, `${where}nesterov`),
      maximize: v.boolean(g.maximize, `${where}maximize`),
    };
    if (group.nesterov && (group.momentum <= 0 || group.dampening !== 0)) {
      throw new TypeError('SGD: Nesterov momentum requires a momentum and zero dampening');
    }
    return group;
  }

  step(): void {
    this.paramGroups.forEach((g, i) => {
      const [s, e] = this.ranges[i];
      const h = this.checkGroup(g, `paramGroups[${i}].`);
      this.native.step(s, e, h.lr, h.momentum, h.dampening, h.weightDecay, h.nesterov, h.maximize, this.fused);
    });
  }

  stateDict(): SGDStateDict {
    return super.stateDict() as SGDStateDict;
  }

  protected readState(i: number): Record<string, Tensor> | null {
    const b = this.native.buffer(i);
    return b ? { momentum_buffer: new Tensor(b) } : null;
  }

  protected prepareState(i: number, entry: Record<string, unknown> | null): () => void {
    const b = entry?.momentum_buffer == null ? null : this.stateTensor(i, entry, 'momentum_buffer');
    return () => this.native.setBuffer(i, b ? b.raw : null);
  }
}
