// The layers: each keeps PyTorch's constructor arguments, parameter names,
// default initialisation and print text.
import { asTensor, ones, Tensor, zeros } from '../tensor';
import * as v from '../validate';
import * as F from './functional';
import { kaimingUniformWeight, uniformBias } from './init';
import { Module, Parameter } from './module';
import { ForwardPlan, layerStep, PlanStep, runStep } from './plan';
import { pyBool, pyFloat, pyTuple } from './repr';

type Pair = number | [number, number];
const pairText = (x: Pair): string => (Array.isArray(x) ? pyTuple(x) : String(x));

/**
 * A layer whose forward() is one native op, its step(). forward() runs the step
 * now and forwardPlan() hands it to {@link Module.forwardAsync}, so the two
 * cannot drift apart. A subclass that overrides forward() must declare
 * forwardPlan() again (or it has no plan, and forwardAsync refuses it).
 */
export abstract class OpLayer extends Module {
  /** The op forward() runs, with this layer's parameters and settings as they are now. */
  protected abstract step(): PlanStep;

  /** Runs step() on x now, on the JS thread, with autograd as it is. */
  forward(x: Tensor): Tensor {
    return runStep(this.step(), asTensor(x, 'input'));
  }

  /** `step()`: the one op, for forwardAsync. */
  forwardPlan(): ForwardPlan {
    return [this.step()];
  }
}

/** Options of {@link Conv2d}, with torch.nn.Conv2d's defaults. Sizes are an int or an [h, w] pair. */
export interface Conv2dOptions {
  /** Step of the kernel (1). */
  stride?: Pair;
  /** Zero padding added on each side (0). */
  padding?: Pair;
  /** Spacing between kernel elements (1). */
  dilation?: Pair;
  /** Blocked connections: inChannels and outChannels must both be divisible by it (1). */
  groups?: number;
  /** Whether to add a learnable bias (true). */
  bias?: boolean;
}

/**
 * 2-d convolution over [N, C, H, W] inputs, as `torch.nn.Conv2d`, with PyTorch's default initialisation
 * (kaiming-uniform weight, uniform bias from the global generator).
 * Throws a TypeError for bad sizes or channels not divisible by groups.
 */
export class Conv2d extends OpLayer {
  /** [outChannels, inChannels / groups, kh, kw]. */
  weight: Parameter;
  /** [outChannels], or null with `bias: false`. */
  bias: Parameter | null;
  /** Channels of the input. */
  readonly inChannels: number;
  /** Channels of the output (the number of filters). */
  readonly outChannels: number;
  /** Kernel [height, width]. */
  readonly kernelSize: [number, number];
  /** [height, width] step. */
  readonly stride: [number, number];
  /** [height, width] zero padding on each side. */
  readonly padding: [number, number];
  /** [height, width] spacing between kernel elements. */
  readonly dilation: [number, number];
  /** Blocked connections between input and output channels. */
  readonly groups: number;

  /**
   * @param inChannels - channels of the input.
   * @param outChannels - channels of the output.
   * @param kernelSize - an int or an [h, w] pair.
   */
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

  protected step(): PlanStep {
    return layerStep.conv2d(this.weight, this.bias, this.stride, this.padding, this.dilation, this.groups);
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

/**
 * y = x Wᵀ + b over the last dimension, as `torch.nn.Linear`, with PyTorch's default initialisation.
 * On the CPU, float32 runs in oneDNN by default (see {@link setCpuLinearKernel}).
 */
export class Linear extends OpLayer {
  /** [outFeatures, inFeatures]. */
  weight: Parameter;
  /** [outFeatures], or null with `bias: false` (true by default). */
  bias: Parameter | null;
  /** Size of each input's last dimension. */
  readonly inFeatures: number;
  /** Size of each output's last dimension. */
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

  protected step(): PlanStep {
    return layerStep.linear(this.weight, this.bias);
  }

  extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${pyBool(this.bias !== null)}`;
  }
}

/** max(x, 0), as `torch.nn.ReLU`. With `inplace` it overwrites its input and returns it. */
export class ReLU extends OpLayer {
  /** @param inplace - overwrite the input instead of allocating the output (false). */
  constructor(readonly inplace = false) {
    super();
    v.boolean(inplace, 'inplace');
  }
  protected step(): PlanStep {
    return layerStep.relu(this.inplace);
  }
  extraRepr(): string {
    return this.inplace ? 'inplace=True' : '';
  }
}

/** Options of {@link MaxPool2d}, with torch.nn.MaxPool2d's defaults. Sizes are an int or an [h, w] pair. */
export interface PoolOptions {
  /** Step of the window; the kernel size when omitted or null, as in PyTorch. */
  stride?: Pair | null;
  /** Implicit padding (with -infinity) on each side (0); at most half the kernel. */
  padding?: Pair;
  /** Spacing between window elements (1). */
  dilation?: Pair;
  /** Round the output size up instead of down (false). */
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

/**
 * 2-d max pooling over [N, C, H, W] inputs, as `torch.nn.MaxPool2d`. On the CPU it runs ATen's
 * channels_last kernel (the same values, indices and gradients, faster).
 */
export class MaxPool2d extends OpLayer {
  /** Window size, as given. */
  readonly kernelSize: Pair;
  /** Window step, as given (the kernel size by default). */
  readonly stride: Pair;
  /** Padding on each side, as given. */
  readonly padding: Pair;
  /** Spacing between window elements, as given. */
  readonly dilation: Pair;
  /** Whether the output size rounds up. */
  readonly ceilMode: boolean;

  constructor(kernelSize: Pair, options: PoolOptions = {}) {
    super();
    const o = v.options(options, 'MaxPool2d options', ['stride', 'padding', 'dilation', 'ceilMode']);
    ({ kernelSize: this.kernelSize, stride: this.stride, padding: this.padding } = poolWindow(kernelSize, o));
    this.dilation = (o.dilation ?? 1) as Pair;
    v.pair(this.dilation, 'dilation', 1);
    this.ceilMode = v.boolean(o.ceilMode ?? false, 'ceilMode');
  }

  protected step(): PlanStep {
    return layerStep.maxPool2d(this.kernelSize, this.stride, this.padding, this.dilation, this.ceilMode);
  }

  extraRepr(): string {
    return `kernel_size=${pairText(this.kernelSize)}, stride=${pairText(this.stride)}, padding=${pairText(this.padding)}, ` +
      `dilation=${pairText(this.dilation)}, ceil_mode=${pyBool(this.ceilMode)}`;
  }
}

/**
 * 2-d average pooling over [N, C, H, W] inputs, as `torch.nn.AvgPool2d`. Options: stride (the kernel by
 * default), padding (0), ceilMode (false), countIncludePad (true: padding counts in the average).
 */
export class AvgPool2d extends OpLayer {
  /** Window size, as given. */
  readonly kernelSize: Pair;
  /** Window step, as given (the kernel size by default). */
  readonly stride: Pair;
  /** Zero padding on each side, as given. */
  readonly padding: Pair;
  /** Whether the output size rounds up. */
  readonly ceilMode: boolean;
  /** Whether padded zeros count in the average. */
  readonly countIncludePad: boolean;

  constructor(kernelSize: Pair, options: { stride?: Pair | null; padding?: Pair; ceilMode?: boolean; countIncludePad?: boolean } = {}) {
    super();
    const o = v.options(options, 'AvgPool2d options', ['stride', 'padding', 'ceilMode', 'countIncludePad']);
    ({ kernelSize: this.kernelSize, stride: this.stride, padding: this.padding } = poolWindow(kernelSize, o));
    this.ceilMode = v.boolean(o.ceilMode ?? false, 'ceilMode');
    this.countIncludePad = v.boolean(o.countIncludePad ?? true, 'countIncludePad');
  }

  protected step(): PlanStep {
    return layerStep.avgPool2d(this.kernelSize, this.stride, this.padding, this.ceilMode, this.countIncludePad);
  }

  extraRepr(): string {
    return `kernel_size=${pairText(this.kernelSize)}, stride=${pairText(this.stride)}, padding=${pairText(this.padding)}`;
  }
}

/**
 * Average pooling to a fixed output size (an int or [h, w]) whatever the input size, as
 * `torch.nn.AdaptiveAvgPool2d`.
 */
export class AdaptiveAvgPool2d extends OpLayer {
  /** @param outputSize - output [h, w], or one int for both. */
  constructor(readonly outputSize: Pair) {
    super();
    v.pair(outputSize, 'outputSize', 1);
  }
  protected step(): PlanStep {
    return layerStep.adaptiveAvgPool2d(this.outputSize);
  }
  extraRepr(): string {
    return `output_size=${pairText(this.outputSize)}`;
  }
}

/**
 * Zeroes each element with probability p during training and scales the rest by 1/(1-p), as
 * `torch.nn.Dropout`; the identity in eval mode. Draws from the global generator (see {@link manualSeed}).
 * p defaults to 0.5; throws a TypeError outside [0, 1].
 */
export class Dropout extends OpLayer {
  /**
   * @param p - probability of zeroing an element (0.5).
   * @param inplace - overwrite the input (false).
   */
  constructor(readonly p = 0.5, readonly inplace = false) {
    super();
    v.number(p, 'p', 0, 1);
    v.boolean(inplace, 'inplace');
  }
  protected step(): PlanStep {
    return layerStep.dropout(this.p, this.training, this.inplace);
  }
  extraRepr(): string {
    return `p=${pyFloat(this.p)}, inplace=${pyBool(this.inplace)}`;
  }
}

/** Flattens dimensions startDim..endDim (1..-1 by default: all but the batch) into one, as `torch.nn.Flatten`. */
export class Flatten extends OpLayer {
  /**
   * @param startDim - first dimension to flatten (1).
   * @param endDim - last dimension to flatten, inclusive (-1).
   */
  constructor(readonly startDim = 1, readonly endDim = -1) {
    super();
    v.integer(startDim, 'startDim');
    v.integer(endDim, 'endDim');
  }
  protected step(): PlanStep {
    return layerStep.flatten(this.startDim, this.endDim);
  }
  extraRepr(): string {
    return `start_dim=${this.startDim}, end_dim=${this.endDim}`;
  }
}

/** The AlexNet paper's local response normalisation across channels, as `torch.nn.LocalResponseNorm`. */
export class LocalResponseNorm extends OpLayer {
  /**
   * @param size - number of neighbouring channels to normalise over.
   * @param alpha - multiplicative factor (1e-4).
   * @param beta - exponent (0.75).
   * @param k - additive factor (1).
   */
  constructor(readonly size: number, readonly alpha = 1e-4, readonly beta = 0.75, readonly k = 1.0) {
    super();
    v.integer(size, 'size', 1);
    v.finite(alpha, 'alpha');
    v.finite(beta, 'beta');
    v.finite(k, 'k');
  }
  protected step(): PlanStep {
    return layerStep.localResponseNorm(this.size, this.alpha, this.beta, this.k);
  }
  extraRepr(): string {
    return `${this.size}, alpha=${pyFloat(this.alpha)}, beta=${pyFloat(this.beta)}, k=${pyFloat(this.k)}`;
  }
}

/**
 * Batch normalisation over the channels of [N, C, H, W] inputs, as `torch.nn.BatchNorm2d`. Training
 * mode normalises with the batch's statistics and updates the running ones; eval mode uses the
 * running ones. Options: eps (1e-5), momentum (0.1), affine (true), bias (true), trackRunningStats (true).
 */
export class BatchNorm2d extends OpLayer {
  /** Learnable scale [numFeatures] (ones at start), or null without affine. */
  weight: Parameter | null;
  /** Learnable shift [numFeatures] (zeros at start), or null without affine or bias. */
  bias: Parameter | null;
  /** Buffer: running mean per channel, or null without trackRunningStats. Python's name, for state-dict keys. */
  declare running_mean: Tensor | null;
  /** Buffer: running variance per channel, or null without trackRunningStats. */
  declare running_var: Tensor | null;
  /** Buffer: int64 count of training batches seen, or null without trackRunningStats. */
  declare num_batches_tracked: Tensor | null;
  /** Added to the variance for numerical stability. */
  readonly eps: number;
  /** Weight of the newest batch in the running statistics. */
  readonly momentum: number;
  /** Whether there is a learnable weight (and bias). */
  readonly affine: boolean;
  /** Whether running statistics are kept (and used in eval mode). */
  readonly trackRunningStats: boolean;

  /**
   * @param numFeatures - C, the number of channels.
   * @param options - see the class; `bias` is torch 2.13's keyword-only flag: with affine, whether
   *   there is a learnable shift.
   */
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

  /** Batch statistics in training mode or without running statistics; the input must be 4-D. */
  protected step(): PlanStep {
    const useBatchStats = this.training || !this.trackRunningStats;
    return layerStep.batchNorm(this.running_mean, this.running_var, this.weight, this.bias, useBatchStats, this.momentum, this.eps, 4);
  }

  /** Checks the input is 4-D and, in training mode, counts the batch; then runs step(). */
  forward(x: Tensor): Tensor {
    if (asTensor(x, 'input').ndim !== 4) throw new TypeError(`BatchNorm2d: expected 4D input (got ${x.ndim}D input)`);
    if (this.training && this.num_batches_tracked) this.num_batches_tracked.copy_(this.num_batches_tracked.add(1));
    return super.forward(x);
  }

  /**
   * `step()`: forwardAsync refuses training mode with running statistics (the
   * worker would update them), so num_batches_tracked, which only that mode
   * counts, has nothing to count there.
   */
  forwardPlan(): ForwardPlan {
    return super.forwardPlan();
  }

  extraRepr(): string {
    return `${this.numFeatures}, eps=${pyFloat(this.eps)}, momentum=${pyFloat(this.momentum)}, ` +
      `affine=${pyBool(this.affine)}, bias=${pyBool(this.bias !== null)}, track_running_stats=${pyBool(this.trackRunningStats)}`;
  }
}

/**
 * Applies its child modules in order, as `torch.nn.Sequential`. Children are numbered fields:
 * `seq[6]` reads one, and `seq[6] = new Linear(4096, 10)` replaces it, as in Python (dispose the
 * old one if nothing else holds it).
 */
export class Sequential extends Module {
  /** The child at this index (fields "0", "1", ...). */
  [index: number]: Module;

  /**
   * Children are stored as fields "0", "1", ..., so state-dict keys are `0.weight` and so on, as in Python.
   * Throws a TypeError for anything that is not a Module.
   */
  constructor(...modules: Module[]) {
    super();
    modules.forEach((m, i) => {
      if (!(m instanceof Module)) throw v.invalid('Module', `modules[${i}]`, m);
      (this as unknown as Record<string, Module>)[String(i)] = m;
    });
  }
  /** The children in order, each on the previous one's output. */
  forward(x: Tensor): Tensor {
    return this.forwardChildren(x);
  }
  /** The children's plans in order; null when one of them has none. */
  forwardPlan(): ForwardPlan | null {
    return this.planChildren();
  }
  /** Number of child modules. */
  get length(): number {
    return this.children().length;
  }
}

/**
 * Cross entropy between logits [N, C] and int64 class indices [N], as `torch.nn.CrossEntropyLoss`:
 * log_softmax then negative log likelihood, averaged by default. Options: see {@link functional.CrossEntropyOptions}.
 */
export class CrossEntropyLoss extends Module {
  private readonly options: F.CrossEntropyOptions;
  constructor(options: F.CrossEntropyOptions = {}) {
    super();
    this.options = { ...v.options(options, 'CrossEntropyLoss options', ['weight', 'reduction', 'ignoreIndex', 'labelSmoothing']) };
  }
  /** The loss of logits [N, C] against int64 class indices [N]: a 0-d tensor, or [N] with `reduction: 'none'`. */
  forward(logits: Tensor, target: Tensor): Tensor {
    return F.crossEntropy(logits, target, this.options);
  }
}
