// The layers: each keeps PyTorch's constructor arguments, parameter names,
// default initialisation and print text.
import { asTensor, ones, Tensor, zeros } from '../tensor';
import * as v from '../validate';
import * as F from './functional';
import { kaimingUniformWeight, uniformBias } from './init';
import { Module, Parameter } from './module';
import { pyBool, pyFloat, pyTuple } from './repr';

type Pair = number | [number, number];
const pairText = (x: Pair): string => (Array.isArray(x) ? pyTuple(x) : String(x));

export interface Conv2dOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
  bias?: boolean;
}

export class Conv2d extends Module {
  weight: Parameter;
  bias: Parameter | null;
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;

  constructor(inChannels: number, outChannels: number, kernelSize: Pair, options: Conv2dOptions = {}) {
    super();
    const o = v.options(options, 'Conv2d options', ['stride', 'padding', 'dilation', 'groups', 'bias']);
    this.inChannels = v.integer(inChannels, 'inChannels', 1);
    this.outChannels = v.integer(outChannels, 'outChannels', 1);
    this.kernelSize = v.pair(kernelSize, 'kernelSize', 1);
    this.stride = v.pair(o.stride ?? 1, 'stride', 1);
    this.padding = v.pair(o.padding ?? 0, 'padding');
    this.dilation = v.pair(o.dilation ?? 1, 'dilation', 1);
    this.groups = v.integer(o.groups ?? 1, 'groups', 1);
    if (inChannels % this.groups || outChannels % this.groups) {
      throw new TypeError(`Conv2d: expected inChannels and outChannels divisible by groups but received ${inChannels}, ${outChannels} and groups ${this.groups}`);
    }
    const shape = [outChannels, inChannels / this.groups, ...this.kernelSize];
    this.weight = new Parameter(kaimingUniformWeight(shape));
    this.bias = v.boolean(o.bias ?? true, 'bias') ? new Parameter(uniformBias(outChannels, shape)) : null;
  }

  forward(x: Tensor): Tensor {
    return F.conv2d(x, this.weight, this.bias, this.stride, this.padding, this.dilation, this.groups);
  }

  extraRepr(): string {
    let s = `${this.inChannels}, ${this.outChannels}, kernel_size=${pyTuple(this.kernelSize)}, stride=${pyTuple(this.stride)}`;
    if (this.padding.some((p) => p !== 0)) s += `, padding=${pyTuple(this.padding)}`;
    if (this.dilation.some((d) => d !== 1)) s += `, dilation=${pyTuple(this.dilation)}`;
    if (this.groups !== 1) s += `, groups=${this.groups}`;
    if (!this.bias) s += ', bias=False';
    return s;
  }
}

export class Linear extends Module {
  weight: Parameter;
  bias: Parameter | null;
  readonly inFeatures: number;
  readonly outFeatures: number;

  constructor(inFeatures: number, outFeatures: number, options: { bias?: boolean } = {}) {
    super();
    const o = v.options(options, 'Linear options', ['bias']);
    this.inFeatures = v.integer(inFeatures, 'inFeatures', 1);
    this.outFeatures = v.integer(outFeatures, 'outFeatures', 1);
    const shape = [outFeatures, inFeatures];
    this.weight = new Parameter(kaimingUniformWeight(shape));
    this.bias = v.boolean(o.bias ?? true, 'bias') ? new Parameter(uniformBias(outFeatures, shape)) : null;
  }

  forward(x: Tensor): Tensor {
    return F.linear(x, this.weight, this.bias);
  }

  extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${pyBool(this.bias !== null)}`;
  }
}

export class ReLU extends Module {
  constructor(readonly inplace = false) {
    super();
    v.boolean(inplace, 'inplace');
  }
  forward(x: Tensor): Tensor {
    return F.relu(x, this.inplace);
  }
  extraRepr(): string {
    return this.inplace ? 'inplace=True' : '';
  }
}

export interface PoolOptions {
  stride?: Pair | null;
  padding?: Pair;
  dilation?: Pair;
  ceilMode?: boolean;
}

/** A pooling window's checked kernel, stride (the kernel by default, as in PyTorch) and padding. */
function poolWindow(kernelSize: Pair, o: { stride?: unknown; padding?: unknown }): { kernelSize: Pair; stride: Pair; padding: Pair } {
  v.pair(kernelSize, 'kernelSize', 1);
  const stride = o.stride == null ? kernelSize : (v.pair(o.stride, 'stride', 1), o.stride as Pair);
  const padding = (o.padding ?? 0) as Pair;
  v.pair(padding, 'padding');
  return { kernelSize, stride, padding };
}

export class MaxPool2d extends Module {
  readonly kernelSize: Pair;
  readonly stride: Pair;
  readonly padding: Pair;
  readonly dilation: Pair;
  readonly ceilMode: boolean;

  constructor(kernelSize: Pair, options: PoolOptions = {}) {
    super();
    const o = v.options(options, 'MaxPool2d options', ['stride', 'padding', 'dilation', 'ceilMode']);
    ({ kernelSize: this.kernelSize, stride: this.stride, padding: this.padding } = poolWindow(kernelSize, o));
    this.dilation = (o.dilation ?? 1) as Pair;
    v.pair(this.dilation, 'dilation', 1);
    this.ceilMode = v.boolean(o.ceilMode ?? false, 'ceilMode');
  }

  forward(x: Tensor): Tensor {
    return F.maxPool2d(x, this.kernelSize, this.stride, this.padding, this.dilation, this.ceilMode);
  }

  extraRepr(): string {
    return `kernel_size=${pairText(this.kernelSize)}, stride=${pairText(this.stride)}, padding=${pairText(this.padding)}, ` +
      `dilation=${pairText(this.dilation)}, ceil_mode=${pyBool(this.ceilMode)}`;
  }
}

export class AvgPool2d extends Module {
  readonly kernelSize: Pair;
  readonly stride: Pair;
  readonly padding: Pair;
  readonly ceilMode: boolean;
  readonly countIncludePad: boolean;

  constructor(kernelSize: Pair, options: { stride?: Pair | null; padding?: Pair; ceilMode?: boolean; countIncludePad?: boolean } = {}) {
    super();
    const o = v.options(options, 'AvgPool2d options', ['stride', 'padding', 'ceilMode', 'countIncludePad']);
    ({ kernelSize: this.kernelSize, stride: this.stride, padding: this.padding } = poolWindow(kernelSize, o));
    this.ceilMode = v.boolean(o.ceilMode ?? false, 'ceilMode');
    this.countIncludePad = v.boolean(o.countIncludePad ?? true, 'countIncludePad');
  }

  forward(x: Tensor): Tensor {
    return F.avgPool2d(x, this.kernelSize, this.stride, this.padding, this.ceilMode, this.countIncludePad);
  }

  extraRepr(): string {
    return `kernel_size=${pairText(this.kernelSize)}, stride=${pairText(this.stride)}, padding=${pairText(this.padding)}`;
  }
}

export class AdaptiveAvgPool2d extends Module {
  constructor(readonly outputSize: Pair) {
    super();
    v.pair(outputSize, 'outputSize', 1);
  }
  forward(x: Tensor): Tensor {
    return F.adaptiveAvgPool2d(x, this.outputSize);
  }
  extraRepr(): string {
    return `output_size=${pairText(this.outputSize)}`;
  }
}

export class Dropout extends Module {
  constructor(readonly p = 0.5, readonly inplace = false) {
    super();
    v.number(p, 'p', 0, 1);
    v.boolean(inplace, 'inplace');
  }
  forward(x: Tensor): Tensor {
    return F.dropout(x, this.p, this.training, this.inplace);
  }
  extraRepr(): string {
    return `p=${pyFloat(this.p)}, inplace=${pyBool(this.inplace)}`;
  }
}

export class Flatten extends Module {
  constructor(readonly startDim = 1, readonly endDim = -1) {
    super();
    v.integer(startDim, 'startDim');
    v.integer(endDim, 'endDim');
  }
  forward(x: Tensor): Tensor {
    return x.flatten(this.startDim, this.endDim);
  }
  extraRepr(): string {
    return `start_dim=${this.startDim}, end_dim=${this.endDim}`;
  }
}

/** The AlexNet paper's local response normalisation across channels. */
export class LocalResponseNorm extends Module {
  constructor(readonly size: number, readonly alpha = 1e-4, readonly beta = 0.75, readonly k = 1.0) {
    super();
    v.integer(size, 'size', 1);
    v.finite(alpha, 'alpha');
    v.finite(beta, 'beta');
    v.finite(k, 'k');
  }
  forward(x: Tensor): Tensor {
    return F.localResponseNorm(x, this.size, this.alpha, this.beta, this.k);
  }
  extraRepr(): string {
    return `${this.size}, alpha=${pyFloat(this.alpha)}, beta=${pyFloat(this.beta)}, k=${pyFloat(this.k)}`;
  }
}

export class BatchNorm2d extends Module {
  weight: Parameter | null;
  bias: Parameter | null;
  declare running_mean: Tensor | null;
  declare running_var: Tensor | null;
  declare num_batches_tracked: Tensor | null;
  readonly eps: number;
  readonly momentum: number;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;

  /** torch 2.13's keyword-only `bias`: with affine, whether there is a learnable shift. */
  constructor(readonly numFeatures: number, options: { eps?: number; momentum?: number; affine?: boolean; bias?: boolean; trackRunningStats?: boolean } = {}) {
    super();
    const o = v.options(options, 'BatchNorm2d options', ['eps', 'momentum', 'affine', 'bias', 'trackRunningStats']);
    v.integer(numFeatures, 'numFeatures', 1);
    this.eps = v.number(o.eps ?? 1e-5, 'eps', 0);
    this.momentum = v.number(o.momentum ?? 0.1, 'momentum', 0, 1);
    this.affine = v.boolean(o.affine ?? true, 'affine');
    this.trackRunningStats = v.boolean(o.trackRunningStats ?? true, 'trackRunningStats');
    this.weight = this.affine ? new Parameter(ones([numFeatures])) : null;
    this.bias = this.affine && v.boolean(o.bias ?? true, 'bias') ? new Parameter(zeros([numFeatures])) : null;
    if (this.trackRunningStats) {
      this.registerBuffer('running_mean', zeros([numFeatures]));
      this.registerBuffer('running_var', ones([numFeatures]));
      this.registerBuffer('num_batches_tracked', zeros([], { dtype: 'int64' }));
    } else {
      this.running_mean = this.running_var = this.num_batches_tracked = null;
    }
  }

  forward(x: Tensor): Tensor {
    if (asTensor(x, 'input').ndim !== 4) throw new TypeError(`BatchNorm2d: expected 4D input (got ${x.ndim}D input)`);
    const useBatchStats = this.training || !this.trackRunningStats;
    if (this.training && this.num_batches_tracked) this.num_batches_tracked.copy_(this.num_batches_tracked.add(1));
    return F.batchNorm(x, this.running_mean, this.running_var, this.weight, this.bias, useBatchStats, this.momentum, this.eps);
  }

  extraRepr(): string {
    return `${this.numFeatures}, eps=${pyFloat(this.eps)}, momentum=${pyFloat(this.momentum)}, ` +
      `affine=${pyBool(this.affine)}, bias=${pyBool(this.bias !== null)}, track_running_stats=${pyBool(this.trackRunningStats)}`;
  }
}

/** Children named "0", "1", ... applied in order. */
export class Sequential extends Module {
  constructor(...modules: Module[]) {
    super();
    modules.forEach((m, i) => {
      if (!(m instanceof Module)) throw v.invalid('Module', `modules[${i}]`, m);
      (this as unknown as Record<string, Module>)[String(i)] = m;
    });
  }
  forward(x: Tensor): Tensor {
    let y = x;
    for (const m of this.children()) y = m.forward(y);
    return y;
  }
  get length(): number {
    return this.children().length;
  }
}

export class CrossEntropyLoss extends Module {
  private readonly options: F.CrossEntropyOptions;
  constructor(options: F.CrossEntropyOptions = {}) {
    super();
    this.options = { ...v.options(options, 'CrossEntropyLoss options', ['weight', 'reduction', 'ignoreIndex', 'labelSmoothing']) };
  }
  forward(logits: Tensor, target: Tensor): Tensor {
    return F.crossEntropy(logits, target, this.options);
  }
}
