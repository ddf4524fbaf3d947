// torch.optim.SGD: the same update, param groups whose hyper-parameters can be
// read and written (schedulers do), and a state dict in PyTorch's layout.
import { addon, RawSGD } from '../native';
import { asTensor, Tensor } from '../tensor';
import * as v from '../validate';

export interface SGDOptions {
  lr?: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
  maximize?: boolean;
}

export interface ParamGroup {
  params: Tensor[];
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  maximize: boolean;
  /** Written by schedulers, as in PyTorch (initial_lr, max_lr, ...). */
  [schedulerKey: string]: unknown;
}

export interface SGDStateDict {
  state: Record<string, { momentum_buffer: Tensor }>;
  param_groups: Record<string, unknown>[];
}

const optionKeys = ['lr', 'momentum', 'dampening', 'weightDecay', 'nesterov', 'maximize'] as const;
// Python's names for the group keys, so state dicts match torch.optim's.
const toPython: Record<string, string> = {
  weightDecay: 'weight_decay', initialLr: 'initial_lr', maxLr: 'max_lr', minLr: 'min_lr',
  maxMomentum: 'max_momentum', baseMomentum: 'base_momentum',
};
const fromPython = Object.fromEntries(Object.entries(toPython).map(([k, p]) => [p, k]));

export class SGD {
  readonly paramGroups: ParamGroup[] = [];
  readonly defaults: Required<SGDOptions>;
  private readonly native: RawSGD;
  private readonly ranges: [number, number][] = [];

  constructor(params: Tensor[] | ({ params: Tensor[] } & SGDOptions)[], options: SGDOptions = {}) {
    const o = v.options(options, 'SGD options', optionKeys);
    this.defaults = {
      lr: v.number(o.lr ?? 1e-3, 'lr', 0),
      momentum: v.number(o.momentum ?? 0, 'momentum', 0),
      dampening: v.finite(o.dampening ?? 0, 'dampening'),
      weightDecay: v.number(o.weightDecay ?? 0, 'weightDecay', 0),
      nesterov: v.boolean(o.nesterov ?? false, 'nesterov'),
      maximize: v.boolean(o.maximize ?? false, 'maximize'),
    };
    if (!Array.isArray(params) || params.length === 0) throw v.invalid('non-empty array of parameters or param groups', 'params', params);
    const groups = params[0] instanceof Tensor ? [{ params: params as Tensor[] }] : (params as ({ params: Tensor[] } & SGDOptions)[]);
    const flat: Tensor[] = [];
    groups.forEach((g, gi) => {
      const go = v.options(g, `params[${gi}]`, ['params', ...optionKeys]);
      if (!Array.isArray(go.params) || go.params.length === 0) throw v.invalid('non-empty array of tensors', `params[${gi}].params`, go.params);
      const ps = (go.params as unknown[]).map((p, i) => asTensor(p, `params[${gi}].params[${i}]`));
      const group: ParamGroup = {
        params: ps,
        lr: v.number(go.lr ?? this.defaults.lr, 'lr', 0),
        momentum: v.number(go.momentum ?? this.defaults.momentum, 'momentum', 0),
        dampening: v.finite(go.dampening ?? this.defaults.dampening, 'dampening'),
        weightDecay: v.number(go.weightDecay ?? this.defaults.weightDecay, 'weightDecay', 0),
        nesterov: v.boolean(go.nesterov ?? this.defaults.nesterov, 'nesterov'),
        maximize: v.boolean(go.maximize ?? this.defaults.maximize, 'maximize'),
      };
      if (group.nesterov && (group.momentum <= 0 || group.dampening !== 0)) {
        throw new TypeError('Nesterov momentum requires a momentum and zero dampening');
      }
      this.ranges.push([flat.length, flat.length + ps.length]);
      flat.push(...ps);
      this.paramGroups.push(group);
    });
    if (new Set(flat).size !== flat.length) throw new TypeError('some parameters appear in more than one parameter group');
    this.native = new addon.SGD(flat.map((p) => p.raw));
  }

  /** One update with each group's current hyper-parameters. */
  step(): void {
    this.paramGroups.forEach((g, i) => {
      const [s, e] = this.ranges[i];
      this.native.step(s, e, v.number(g.lr, 'lr', 0), v.number(g.momentum, 'momentum', 0), v.finite(g.dampening, 'dampening'),
        v.number(g.weightDecay, 'weightDecay', 0), v.boolean(g.nesterov, 'nesterov'), v.boolean(g.maximize, 'maximize'));
    });
  }

  /** Clears gradients; by default sets them to none, as PyTorch 2 does. */
  zeroGrad(setToNone = true): void {
    this.native.zeroGrad(v.boolean(setToNone, 'setToNone'));
  }

  /** PyTorch's layout: {state: {i: {momentum_buffer}}, param_groups: [{lr, ..., params: [i...]}]}. */
  stateDict(): SGDStateDict {
    const state: SGDStateDict['state'] = {};
    const total = this.ranges.length ? this.ranges[this.ranges.length - 1][1] : 0;
    for (let i = 0; i < total; i++) {
      const b = this.native.buffer(i);
      if (b) state[String(i)] = { momentum_buffer: new Tensor(b) };
    }
    const param_groups = this.paramGroups.map((g, gi) => {
      const out: Record<string, unknown> = {};
      for (const [k, val] of Object.entries(g)) if (k !== 'params') out[toPython[k] ?? k] = val;
      const [s, e] = this.ranges[gi];
      out.params = Array.from({ length: e - s }, (_, j) => s + j);
      return out;
    });
    return { state, param_groups };
  }

  loadStateDict(dict: SGDStateDict): void {
    const d = v.object(dict, 'stateDict');
    const groups = d.param_groups as Record<string, unknown>[];
    if (!Array.isArray(groups) || groups.length !== this.paramGroups.length) {
      throw new Error(`loaded state dict has ${Array.isArray(groups) ? groups.length : 'no'} parameter groups, the optimizer has ${this.paramGroups.length}`);
    }
    groups.forEach((g, gi) => {
      const [s, e] = this.ranges[gi];
      if (!Array.isArray(g.params) || g.params.length !== e - s) {
        throw new Error(`loaded state dict's group ${gi} has ${Array.isArray(g.params) ? g.params.length : 'no'} parameters, the optimizer's has ${e - s}`);
      }
    });
    const state = v.object(d.state ?? {}, 'stateDict.state');
    const total = this.ranges.length ? this.ranges[this.ranges.length - 1][1] : 0;
    // Check every buffer first so a bad dict changes nothing.
    const buffers: (Tensor | null)[] = [];
    for (let i = 0; i < total; i++) {
      const entry = state[String(i)] as { momentum_buffer?: unknown } | undefined;
      buffers.push(entry?.momentum_buffer == null ? null : asTensor(entry.momentum_buffer, `state[${i}].momentum_buffer`));
    }
    buffers.forEach((b, i) => this.native.setBuffer(i, b ? b.raw : null));
    groups.forEach((g, gi) => {
      for (const [k, val] of Object.entries(g)) if (k !== 'params') this.paramGroups[gi][fromPython[k] ?? k] = val;
    });
  }

  /** Releases the momentum buffers and parameter references now. */
  dispose(): void {
    this.native.dispose();
  }
}
