// torch.nn.functional, typed and validated. Modules call these.
import { addon } from '../native';
import { asTensor, Tensor } from '../tensor';
import * as v from '../validate';

const raw = (t: Tensor | null | undefined, name: string) => (t == null ? null : asTensor(t, name).raw);

export function conv2d(x: Tensor, weight: Tensor, bias: Tensor | null = null,
  stride: number | [number, number] = 1, padding: number | [number, number] = 0,
  dilation: number | [number, number] = 1, groups = 1): Tensor {
  return new Tensor(addon.functional.conv2d(asTensor(x, 'input').raw, asTensor(weight, 'weight').raw, raw(bias, 'bias'),
    v.pair(stride, 'stride', 1), v.pair(padding, 'padding'), v.pair(dilation, 'dilation', 1), v.integer(groups, 'groups', 1)));
}

export function linear(x: Tensor, weight: Tensor, bias: Tensor | null = null): Tensor {
  return new Tensor(addon.functional.linear(asTensor(x, 'input').raw, asTensor(weight, 'weight').raw, raw(bias, 'bias')));
}

export function relu(x: Tensor, inplace = false): Tensor {
  return v.boolean(inplace, 'inplace') ? asTensor(x, 'input').relu_() : asTensor(x, 'input').relu();
}

export function maxPool2d(x: Tensor, kernelSize: number | [number, number], stride?: number | [number, number] | null,
  padding: number | [number, number] = 0, dilation: number | [number, number] = 1, ceilMode = false): Tensor {
  const k = v.pair(kernelSize, 'kernelSize', 1);
  return new Tensor(addon.functional.maxPool2d(asTensor(x, 'input').raw, k, stride == null ? k : v.pair(stride, 'stride', 1),
    v.pair(padding, 'padding'), v.pair(dilation, 'dilation', 1), v.boolean(ceilMode, 'ceilMode')));
}

export function avgPool2d(x: Tensor, kernelSize: number | [number, number], stride?: number | [number, number] | null,
  padding: number | [number, number] = 0, ceilMode = false, countIncludePad = true): Tensor {
  const k = v.pair(kernelSize, 'kernelSize', 1);
  return new Tensor(addon.functional.avgPool2d(asTensor(x, 'input').raw, k, stride == null ? k : v.pair(stride, 'stride', 1),
    v.pair(padding, 'padding'), v.boolean(ceilMode, 'ceilMode'), v.boolean(countIncludePad, 'countIncludePad')));
}

export function adaptiveAvgPool2d(x: Tensor, outputSize: number | [number, number]): Tensor {
  return new Tensor(addon.functional.adaptiveAvgPool2d(asTensor(x, 'input').raw, v.pair(outputSize, 'outputSize', 1)));
}

/** Dropout from the global generator (seed it with manualSeed), as Python's. */
export function dropout(x: Tensor, p = 0.5, training = true, inplace = false): Tensor {
  return new Tensor(addon.functional.dropout(asTensor(x, 'input').raw, v.number(p, 'p', 0, 1),
    v.boolean(training, 'training'), v.boolean(inplace, 'inplace')));
}

export function localResponseNorm(x: Tensor, size: number, alpha = 1e-4, beta = 0.75, k = 1.0): Tensor {
  return new Tensor(addon.functional.localResponseNorm(asTensor(x, 'input').raw, v.integer(size, 'size', 1),
    v.finite(alpha, 'alpha'), v.finite(beta, 'beta'), v.finite(k, 'k')));
}

export function batchNorm(x: Tensor, runningMean: Tensor | null, runningVar: Tensor | null, weight: Tensor | null = null,
  bias: Tensor | null = null, training = false, momentum = 0.1, eps = 1e-5): Tensor {
  return new Tensor(addon.functional.batchNorm(asTensor(x, 'input').raw, raw(runningMean, 'runningMean'),
    raw(runningVar, 'runningVar'), raw(weight, 'weight'), raw(bias, 'bias'), v.boolean(training, 'training'),
    v.number(momentum, 'momentum', 0, 1), v.number(eps, 'eps', 0)));
}

export type Reduction = 'mean' | 'sum' | 'none';

export interface CrossEntropyOptions {
  weight?: Tensor | null;
  reduction?: Reduction;
  ignoreIndex?: number;
  labelSmoothing?: number;
}

/** Cross entropy of logits [N, C] against class indices [N] (int64). */
export function crossEntropy(logits: Tensor, target: Tensor, options: CrossEntropyOptions = {}): Tensor {
  const o = v.options(options, 'options', ['weight', 'reduction', 'ignoreIndex', 'labelSmoothing']);
  return new Tensor(addon.functional.crossEntropy(asTensor(logits, 'input').raw, asTensor(target, 'target').raw,
    raw(o.weight as Tensor | null | undefined, 'weight'),
    o.reduction === undefined ? 'mean' : v.oneOf(o.reduction, 'reduction', ['mean', 'sum', 'none'] as const),
    o.ignoreIndex === undefined ? -100 : v.integer(o.ignoreIndex, 'ignoreIndex'),
    o.labelSmoothing === undefined ? 0 : v.number(o.labelSmoothing, 'labelSmoothing', 0, 1)));
}
