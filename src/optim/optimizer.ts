// What every optimizer shares: param groups whose hyper-parameters schedulers
// read and write, zeroGrad, and a state dict in torch.optim's layout, so state
// dicts move between torchbridge and Python both ways.
import { asTensor, Tensor } from '../tensor';
import * as v from '../validate';

/**
 * A group of parameters and the hyper-parameters that apply to them, as an entry of torch's
 * `optimizer.param_groups`. Schedulers write `lr` (and momentum) here; you may too, between steps.
 */
export interface ParamGroup {
  /** The parameters this group updates. */
  params: Tensor[];
  /** Learning rate. */
  lr: number;
  /** The optimizer's own keys, and those schedulers write (initial_lr, max_lr, ...). */
  [key: string]: unknown;
}

/**
 * An optimizer's state in torch.optim's `state_dict()` layout, with Python's key names (weight_decay,
 * initial_lr, ...), so Python loads it and we load Python's.
 */
export interface OptimizerStateDict {
  /** Per-parameter state, by the parameter's index over all groups. */
  state: Record<string, Record<string, Tensor>>;
  /** Each group's hyper-parameters, with `params` as the indices of its parameters. */
  param_groups: Record<string, unknown>[];
}

/** The native half of an optimizer: the parameters and their state. */
interface RawOptimizer {
  zeroGrad(setToNone: boolean): void;
  dispose(): void;
}

// Python's names for group keys, so state dicts match torch.optim's.
const toPython: Record<string, string> = {
  weightDecay: 'weight_decay', initialLr: 'initial_lr', maxLr: 'max_lr', minLr: 'min_lr',
  maxMomentum: 'max_momentum', baseMomentum: 'base_momentum', decoupledWeightDecay: 'decoupled_weight_decay',
};
const fromPython = Object.fromEntries(Object.entries(toPython).map(([k, p]) => [p, k]));

/**
 * The base of {@link SGD}, {@link Adam} and {@link AdamW}, as `torch.optim.Optimizer`: param groups
 * whose hyper-parameters schedulers read and write, zeroGrad, step, and a state dict in torch.optim's
 * layout. Hyper-parameters are checked at construction and again at every step, so a bad value
 * written into a group is a TypeError naming it (`paramGroups[0].lr`).
 */
export abstract class Optimizer<G extends ParamGroup = ParamGroup> {
  /** The parameter groups, in the order given, as `optimizer.param_groups`. */
  readonly paramGroups: G[] = [];
  /** @internal */
  protected abstract readonly native: RawOptimizer;
  /** Each group's [start, end) in the flat list of parameters. */
  protected readonly ranges: [number, number][] = [];
  /** Every parameter over all groups, in order; state-dict indices refer to it. */
  protected readonly flatParams: Tensor[] = [];

  /** One update of every parameter that has a gradient, with each group's current hyper-parameters, as `step()`. */
  abstract step(): void;

  /**
   * Clears the parameters' gradients before the next backward, as `zero_grad()`: by default sets
   * them to none, as PyTorch 2 does; `false` fills them with zeros.
   */
  zeroGrad(setToNone = true): void {
    this.native.zeroGrad(v.boolean(setToNone, 'setToNone'));
  }

  /**
   * The state to checkpoint, as `state_dict()`:
   * `{ state: { i: {...} }, param_groups: [{ lr, ..., params: [i, ...] }] }`. The state tensors are
   * new handles: dispose them (or the whole value with {@link disposeValue}) when saved.
   */
  stateDict(): OptimizerStateDict {
    const state: OptimizerStateDict['state'] = {};
    for (let i = 0; i < this.paramCount; i++) {
      const s = this.readState(i);
      if (s) state[String(i)] = s;
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

  /**
   * Loads a state dict (ours or Python's), as `load_state_dict()`. Checks everything first (group
   * and parameter counts, state shapes), so a bad dict throws and changes nothing.
   */
  loadStateDict(dict: OptimizerStateDict): void {
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
    const apply: (() => void)[] = [];
    for (let i = 0; i < this.paramCount; i++) {
      const entry = state[String(i)];
      apply.push(this.prepareState(i, entry == null ? null : v.object(entry, `state[${i}]`)));
    }
    for (const f of apply) f();
    groups.forEach((g, gi) => {
      const group = this.paramGroups[gi] as ParamGroup;
      for (const [k, val] of Object.entries(g)) if (k !== 'params') group[fromPython[k] ?? k] = val;
    });
  }

  /** Releases the optimizer state and parameter references now. Idempotent. */
  dispose(): void {
    this.native.dispose();
  }

  /** Number of parameters over all groups. */
  protected get paramCount(): number {
    return this.flatParams.length;
  }

  /** A loaded state tensor, checked against its parameter's shape. */
  protected stateTensor(i: number, entry: Record<string, unknown>, key: string): Tensor {
    const t = asTensor(entry[key], `state[${i}].${key}`);
    const want = this.flatParams[i].shape;
    if (t.shape.join() !== want.join()) {
      throw new Error(`loaded state dict's state[${i}].${key} has shape [${t.shape}] but parameter ${i} has shape [${want}]`);
    }
    return t;
  }

  /** Parameter i's state, as Python names it, or null before its first step. */
  protected abstract readState(i: number): Record<string, Tensor> | null;

  /** Checks parameter i's loaded state (null: none) and returns what stores it. */
  protected abstract prepareState(i: number, entry: Record<string, unknown> | null): () => void;

  /**
   * Checks a group's hyper-parameters, named `${where}lr` and so on. The one
   * validator for the constructor's defaults, each param group, and step()
   * (users and schedulers may change groups between steps). Returns the group's
   * values without params.
   */
  protected abstract checkGroup(values: Record<string, unknown>, where: string): Record<string, unknown>;

  /**
   * Splits `params` (tensors, or groups with their own options) into groups:
   * each group's options over `defaults`, through checkGroup. Returns every parameter in order.
   */
  protected addGroups(params: unknown, optionKeys: readonly string[], defaults: object): Tensor[] {
    if (!Array.isArray(params) || params.length === 0) throw v.invalid('non-empty array of parameters or param groups', 'params', params);
    const groups = params[0] instanceof Tensor ? [{ params }] : (params as unknown[]);
    const flat: Tensor[] = [];
    groups.forEach((g, gi) => {
      const { params: gp, ...options } = v.options(g, `params[${gi}]`, ['params', ...optionKeys]);
      if (!Array.isArray(gp) || gp.length === 0) throw v.invalid('non-empty array of tensors', `params[${gi}].params`, gp);
      const ps = (gp as unknown[]).map((p, i) => asTensor(p, `params[${gi}].params[${i}]`));
      this.ranges.push([flat.length, flat.length + ps.length]);
      flat.push(...ps);
      const where = params[0] instanceof Tensor ? '' : `params[${gi}].`;
      this.paramGroups.push({ params: ps, ...this.checkGroup({ ...defaults, ...options }, where) } as G);
    });
    if (new Set(flat).size !== flat.length) throw new TypeError(`${this.constructor.name}: some parameters appear in more than one parameter group`);
    this.flatParams.push(...flat);
    return flat;
  }
}
