// torch.optim.Adam and AdamW: the same single-tensor update, op for op (bit-identical
// on the CPU), param groups, and state dicts in PyTorch's layout.
import { addon, RawAdam } from '../native';
import { full, Tensor } from '../tensor';
import * as v from '../validate';
import { Optimizer, ParamGroup } from './optimizer';

export interface AdamOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
  amsgrad?: boolean;
  maximize?: boolean;
}

export interface AdamParamGroup extends ParamGroup {
  betas: [number, number];
  eps: number;
  weightDecay: number;
  amsgrad: boolean;
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

export class Adam extends Optimizer<AdamParamGroup> {
  readonly defaults: Required<AdamOptions>;
  protected readonly native: RawAdam;
  private readonly decoupled: boolean;

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

  protected checkGroup(g: Record<string, unknown>, where: string): Required<AdamOptions> & { decoupledWeightDecay: boolean } & Record<string, unknown> {
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
