// torch.optim.Adam and AdamW: the same single-tensor update, op for op (bit-identical
// on the CPU), param groups, and state dicts in PyTorch's layout.
import { addon, RawAdam } from '../native';
import { full, Tensor } from '../tensor';
import * as v from '../validate';
import { Optimizer, ParamGroup } from './optimizer';

/** Hyper-parameters of {@link Adam} and {@link AdamW}, with torch.optim's names (camelCase) and defaults. */
export interface AdamOptions {
  /** Learning rate (1e-3). */
  lr?: number;
  /** Decay rates of the running averages of the gradient and its square, each in [0, 1) ([0.9, 0.999]). */
  betas?: [number, number];
  /** Added to the denominator for numerical stability (1e-8). */
  eps?: number;
  /** Weight decay: an L2 penalty for Adam (0), decoupled for AdamW (1e-2). */
  weightDecay?: number;
  /** Use the maximum of past squared-gradient averages (AMSGrad) (false). */
  amsgrad?: boolean;
  /** Maximise the objective instead of minimising it (false). */
  maximize?: boolean;
}

/** A param group of {@link Adam} or {@link AdamW}: {@link AdamOptions} resolved for these parameters. */
export interface AdamParamGroup extends ParamGroup {
  /** [beta1, beta2]; OneCycleLR cycles beta1 as momentum. */
  betas: [number, number];
  /** Denominator term. */
  eps: number;
  /** Weight decay. */
  weightDecay: number;
  /** AMSGrad. */
  amsgrad: boolean;
  /** Maximise instead of minimise. */
  maximize: boolean;
  /** AdamW: decay the weights directly instead of adding to the gradient. */
  decoupledWeightDecay: boolean;
}

const optionKeys = ['lr', 'betas', 'eps', 'weightDecay', 'amsgrad', 'maximize'] as const;

function betasArg(b: unknown, name: string): [number, number] {
  if (!Array.isArray(b) || b.length !== 2) throw v.invalid('[beta1, beta2]', name, b);
  return [0, 1].map((i) => {
    const x = v.number(b[i], `${name}[${i}]`, 0);
    if (x >= 1) throw v.invalid('number in [0, 1)', `${name}[${i}]`, x);
    return x;
  }) as [number, number];
}

/**
 * Adam, as `torch.optim.Adam`: the same single-tensor update op for op (bit-identical on the CPU),
 * param groups, and state dicts in PyTorch's layout (step, exp_avg, exp_avg_sq, max_exp_avg_sq).
 * `params` is a list of tensors or of groups `{ params, ...options }`. Throws a TypeError for an empty
 * list, a parameter in two groups, or a bad hyper-parameter.
 */
export class Adam extends Optimizer<AdamParamGroup> {
  /** The constructor's options over the built-in defaults: what groups without their own values use. */
  readonly defaults: Required<AdamOptions>;
  /** @internal */
  protected readonly native: RawAdam;
  private readonly decoupled: boolean;

  /**
   * @param params - tensors, or groups with their own options.
   * @param options - defaults for every group.
   * @param decoupled - AdamW's decoupled weight decay; use {@link AdamW} instead of setting it.
   */
  constructor(params: Tensor[] | ({ params: Tensor[] } & AdamOptions)[], options: AdamOptions = {}, decoupled = false) {
    super();
    this.decoupled = decoupled;
    const o = v.options(options, `${decoupled ? 'AdamW' : 'Adam'} options`, optionKeys);
    const builtin = { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: decoupled ? 1e-2 : 0, amsgrad: false, maximize: false };
    const { lr, betas, eps, weightDecay, amsgrad, maximize } = this.checkGroup({ ...builtin, ...o }, '');
    this.defaults = { lr, betas, eps, weightDecay, amsgrad, maximize };
    const flat = this.addGroups(params, optionKeys, this.defaults);
    this.native = new addon.Adam(flat.map((p) => p.raw));
  }

  protected checkGroup(g: Record<string, unknown>, where: string): Required<AdamOptions> & {
    /** True for AdamW. */
    decoupledWeightDecay: boolean;
  } & Record<string, unknown> {
    return {
      ...g,
      lr: v.number(g.lr, `${where}lr`, 0),
      betas: betasArg(g.betas, `${where}betas`),
      eps: v.number(g.eps, `${where}eps`, 0),
      weightDecay: v.number(g.weightDecay, `${where}weightDecay`, 0),
      amsgrad: v.boolean(g.amsgrad, `${where}amsgrad`),
      maximize: v.boolean(g.maximize, `${where}maximize`),
      decoupledWeightDecay: this.decoupled,
    };
  }

  step(): void {
    this.paramGroups.forEach((g, i) => {
      const [s, e] = this.ranges[i];
      const h = this.checkGroup(g, `paramGroups[${i}].`);
      this.native.step(s, e, h.lr, h.betas[0], h.betas[1], h.eps, h.weightDecay, h.amsgrad, h.maximize, h.decoupledWeightDecay);
    });
  }

  protected readState(i: number): Record<string, Tensor> | null {
    const s = this.native.state(i);
    if (!s) return null;
    // Python keeps `step` as a float32 scalar tensor.
    const out: Record<string, Tensor> = { step: full([], s.step, { dtype: 'float32' }), exp_avg: new Tensor(s.exp_avg), exp_avg_sq: new Tensor(s.exp_avg_sq) };
    if (s.max_exp_avg_sq) out.max_exp_avg_sq = new Tensor(s.max_exp_avg_sq);
    return out;
  }

  protected prepareState(i: number, entry: Record<string, unknown> | null): () => void {
    if (!entry) return () => this.native.setState(i, null);
    const step = entry.step instanceof Tensor ? entry.step.item() : entry.step;
    v.integer(step, `state[${i}].step`, 0);
    const expAvg = this.stateTensor(i, entry, 'exp_avg');
    const expAvgSq = this.stateTensor(i, entry, 'exp_avg_sq');
    const max = entry.max_exp_avg_sq == null ? null : this.stateTensor(i, entry, 'max_exp_avg_sq');
    return () => this.native.setState(i, step as number, expAvg.raw, expAvgSq.raw, max ? max.raw : null);
  }
}

/** torch.optim.AdamW: Adam with decoupled weight decay (default 1e-2). */
export class AdamW extends Adam {
  constructor(params: Tensor[] | ({ params: Tensor[] } & AdamOptions)[], options: AdamOptions = {}) {
    super(params, options, true);
  }
}
