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

  constructor(params: Tensor[] | ({ params: Tensor[] } & AdamOptions)[], options: AdamOptions = {}, decoupled = false) {
    super();
    const name = decoupled ? 'AdamW' : 'Adam';
    const o = v.options(options, `${name} options`, optionKeys);
    const d = (this.defaults = {
      lr: v.number(o.lr ?? 1e-3, 'lr', 0),
      betas: betasArg(o.betas ?? [0.9, 0.999], 'betas'),
      eps: v.number(o.eps ?? 1e-8, 'eps', 0),
      weightDecay: v.number(o.weightDecay ?? (decoupled ? 1e-2 : 0), 'weightDecay', 0),
      amsgrad: v.boolean(o.amsgrad ?? false, 'amsgrad'),
      maximize: v.boolean(o.maximize ?? false, 'maximize'),
    });
    const flat = this.addGroups(params, optionKeys, (go, ps) => ({
      params: ps,
      lr: v.number(go.lr ?? d.lr, 'lr', 0),
      betas: betasArg(go.betas ?? d.betas, 'betas'),
      eps: v.number(go.eps ?? d.eps, 'eps', 0),
      weightDecay: v.number(go.weightDecay ?? d.weightDecay, 'weightDecay', 0),
      amsgrad: v.boolean(go.amsgrad ?? d.amsgrad, 'amsgrad'),
      maximize: v.boolean(go.maximize ?? d.maximize, 'maximize'),
      decoupledWeightDecay: decoupled,
    }));
    this.native = new addon.Adam(flat.map((p) => p.raw));
  }

  step(): void {
    this.paramGroups.forEach((g, i) => {
      const [s, e] = this.ranges[i];
      const [b1, b2] = betasArg(g.betas, 'betas');
      this.native.step(s, e, v.number(g.lr, 'lr', 0), b1, b2, v.number(g.eps, 'eps', 0), v.number(g.weightDecay, 'weightDecay', 0),
        v.boolean(g.amsgrad, 'amsgrad'), v.boolean(g.maximize, 'maximize'), v.boolean(g.decoupledWeightDecay, 'decoupledWeightDecay'));
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
