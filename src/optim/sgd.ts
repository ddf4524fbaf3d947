// torch.optim.SGD: the same update, param groups whose hyper-parameters can be
// read and written (schedulers do), and a state dict in PyTorch's layout.
import { addon, RawSGD } from '../native';
import { Tensor } from '../tensor';
import * as v from '../validate';
import { Optimizer, OptimizerStateDict, ParamGroup } from './optimizer';

export interface SGDOptions {
  lr?: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
  maximize?: boolean;
}

export interface SGDParamGroup extends ParamGroup {
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  maximize: boolean;
}

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

export interface SGDStateDict extends OptimizerStateDict {
  state: Record<string, { momentum_buffer: Tensor }>;
}

const optionKeys = ['lr', 'momentum', 'dampening', 'weightDecay', 'nesterov', 'maximize'] as const;
const builtinDefaults: Required<SGDOptions> = { lr: 1e-3, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false };

export class SGD extends Optimizer<SGDParamGroup> {
  readonly defaults: Required<SGDOptions>;
  /** Whether step() uses ATen's fused kernel where it applies (see SGDConstructorOptions). */
  readonly fused: boolean;
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
