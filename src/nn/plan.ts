// Forward plans: a module's forward() as a list of native layer ops, which
// Module.forwardAsync hands to a worker thread. The layers' forward() and
// nn.functional's layer functions run the very same steps on the JS thread
// (runStep), and both routes end in the same native op (binding/functional.cc),
// so the synchronous and the asynchronous forward take the same arguments,
// checks and kernels.
import { addon, LayerOp, RawLayerArgs, RawPlanStep, RawTensor } from '../native';
import { asTensor, Tensor } from '../tensor';
import type { Module } from './module'; // for {@link Module.forwardPlan}
import * as v from '../validate';

/**
 * The layer ops forward plans are made of: the native ops behind nn.functional's conv2d, linear,
 * maxPool2d, avgPool2d, adaptiveAvgPool2d, dropout, localResponseNorm and batchNorm, and relu and
 * flatten.
 */
export type PlanOp = 'conv2d' | 'linear' | 'relu' | 'flatten' | 'maxPool2d' | 'avgPool2d' | 'adaptiveAvgPool2d' | 'dropout'
  | 'localResponseNorm' | 'batchNorm';

// PlanOp spelled out for the API reference, and the native list: the same names.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const planOpsAreTheNativeOps: Same<PlanOp, LayerOp> = true;
void planOpsAreTheNativeOps;

/**
 * One layer op of a {@link ForwardPlan}, made by a layer's forwardPlan(). Read `op` and `module`;
 * `args` are for native code.
 */
export interface PlanStep {
  /** The op. */
  readonly op: PlanOp;
  /** Its arguments after the input, as native code takes them (parameters as native handles). */
  readonly args: readonly unknown[];
  /**
   * The dotted name of the module the step belongs to, within the module whose plan it is ('' for
   * that module itself, `conv1.0` in AlexNetModel's); forwardAsync's errors name it.
   */
  readonly module: string;
}

/** A module's forward() as layer ops, applied in order to its input. See {@link Module.forwardPlan}. */
export type ForwardPlan = readonly PlanStep[];

/** The steps as the raw addon types them. */
export function rawSteps(plan: ForwardPlan): RawPlanStep[] {
  return plan as unknown as RawPlanStep[];
}

type Pair = number | [number, number];

const raw = (t: Tensor | null | undefined, name: string): RawTensor | null => (t == null ? null : asTensor(t, name).raw);

function step<K extends LayerOp>(op: K, args: RawLayerArgs[K]): PlanStep {
  return { op, args, module: '' };
}

/**
 * The steps of the layer ops, with their arguments checked (sharp-style
 * messages that name the argument). Defaults are PyTorch's.
 */
export const layerStep = {
  conv2d(weight: Tensor, bias: Tensor | null = null, stride: Pair = 1, padding: Pair = 0, dilation: Pair = 1, groups = 1): PlanStep {
    return step('conv2d', [asTensor(weight, 'weight').raw, raw(bias, 'bias'), v.pair(stride, 'stride', 1), v.pair(padding, 'padding'),
      v.pair(dilation, 'dilation', 1), v.integer(groups, 'groups', 1)]);
  },
  linear(weight: Tensor, bias: Tensor | null = null): PlanStep {
    return step('linear', [asTensor(weight, 'weight').raw, raw(bias, 'bias')]);
  },
  relu(inplace = false): PlanStep {
    return step('relu', [v.boolean(inplace, 'inplace')]);
  },
  flatten(startDim = 0, endDim = -1): PlanStep {
    return step('flatten', [v.integer(startDim, 'startDim'), v.integer(endDim, 'endDim')]);
  },
  /** stride null or undefined: the kernel size, as in PyTorch. */
  maxPool2d(kernelSize: Pair, stride?: Pair | null, padding: Pair = 0, dilation: Pair = 1, ceilMode = false): PlanStep {
    const k = v.pair(kernelSize, 'kernelSize', 1);
    return step('maxPool2d', [k, stride == null ? k : v.pair(stride, 'stride', 1), v.pair(padding, 'padding'),
      v.pair(dilation, 'dilation', 1), v.boolean(ceilMode, 'ceilMode')]);
  },
  avgPool2d(kernelSize: Pair, stride?: Pair | null, padding: Pair = 0, ceilMode = false, countIncludePad = true): PlanStep {
    const k = v.pair(kernelSize, 'kernelSize', 1);
    return step('avgPool2d', [k, stride == null ? k : v.pair(stride, 'stride', 1), v.pair(padding, 'padding'),
      v.boolean(ceilMode, 'ceilMode'), v.boolean(countIncludePad, 'countIncludePad')]);
  },
  adaptiveAvgPool2d(outputSize: Pair): PlanStep {
    return step('adaptiveAvgPool2d', [v.pair(outputSize, 'outputSize', 1)]);
  },
  dropout(p = 0.5, training = true, inplace = false): PlanStep {
    return step('dropout', [v.number(p, 'p', 0, 1), v.boolean(training, 'training'), v.boolean(inplace, 'inplace')]);
  },
  localResponseNorm(size: number, alpha = 1e-4, beta = 0.75, k = 1.0): PlanStep {
    return step('localResponseNorm', [v.integer(size, 'size', 1), v.finite(alpha, 'alpha'), v.finite(beta, 'beta'), v.finite(k, 'k')]);
  },
  /** inputDims: the number of dimensions the input must have (BatchNorm2d: 4); undefined for any. */
  batchNorm(runningMean: Tensor | null, runningVar: Tensor | null, weight: Tensor | null = null, bias: Tensor | null = null,
    training = false, momentum = 0.1, eps = 1e-5, inputDims?: number): PlanStep {
    const args: RawLayerArgs['batchNorm'] = [raw(runningMean, 'runningMean'), raw(runningVar, 'runningVar'), raw(weight, 'weight'),
      raw(bias, 'bias'), v.boolean(training, 'training'), v.number(momentum, 'momentum', 0, 1), v.number(eps, 'eps', 0)];
    if (inputDims !== undefined) args.push(v.integer(inputDims, 'inputDims', 1));
    return step('batchNorm', args);
  },
};

/**
 * Runs one step now, on the JS thread, with autograd as it is: the synchronous
 * forward of a layer. relu and flatten run as the Tensor methods (an in-place
 * relu returns x itself); the rest call addon.functional.<op>.
 */
export function runStep(step: PlanStep, x: Tensor): Tensor {
  const [s] = rawSteps([step]);
  switch (s.op) {
    case 'relu':
      return s.args[0] ? x.relu_() : x.relu();
    case 'flatten':
      return x.flatten(s.args[0], s.args[1]);
    default: {
      const fn = addon.functional[s.op] as (input: RawTensor, ...args: unknown[]) => RawTensor;
      return new Tensor(fn(x.raw, ...s.args));
    }
  }
}
