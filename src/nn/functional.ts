/**
 * The operations behind the layers, as `torch.nn.functional`, with arguments checked before they
 * reach libtorch (a TypeError names the bad one). Modules call these.
 *
 * @module
 */
import { addon } from '../native';
import { asTensor, Tensor } from '../tensor';
import * as v from '../validate';
import { layerStep, runStep } from './plan';

const raw = (t: Tensor | null | undefined, name: string) => (t == null ? null : asTensor(t, name).raw);

// The layer functions run the step a layer's forward() runs (./plan), so that a
// forward plan takes the same arguments and checks.

/**
 * 2-d convolution, as `torch.nn.functional.conv2d`: input [N, C, H, W], weight [out, C / groups, kh, kw],
 * optional bias [out]. stride, padding and dilation are an int or an [h, w] pair.
 */
export function conv2d(x: Tensor, weight: Tensor, bias: Tensor | null = null,
  stride: number | [number, number] = 1, padding: number | [number, number] = 0,
  dilation: number | [number, number] = 1, groups = 1): Tensor {
  const input = asTensor(x, 'input');
  return runStep(layerStep.conv2d(weight, bias, stride, padding, dilation, groups), input);
}

/**
 * x Wᵀ + b, as `torch.nn.functional.linear`: weight [out, in], optional bias [out].
 * On the CPU, float32 runs in the kernel {@link setCpuLinearKernel} chose.
 */
export function linear(x: Tensor, weight: Tensor, bias: Tensor | null = null): Tensor {
  const input = asTensor(x, 'input');
  return runStep(layerStep.linear(weight, bias), input);
}

/** max(x, 0), as `torch.nn.functional.relu`; with `inplace` it overwrites and returns x. */
export function relu(x: Tensor, inplace = false): Tensor {
  const input = asTensor(x, 'input');
  return runStep(layerStep.relu(inplace), input);
}

/** 2-d max pooling, as `torch.nn.functional.max_pool2d`; stride defaults to the kernel size. */
export function maxPool2d(x: Tensor, kernelSize: number | [number, number], stride?: number | [number, number] | null,
  padding: number | [number, number] = 0, dilation: number | [number, number] = 1, ceilMode = false): Tensor {
  const input = asTensor(x, 'input');
  return runStep(layerStep.maxPool2d(kernelSize, stride, padding, dilation, ceilMode), input);
}

/**
 * 2-d average pooling, as `torch.nn.functional.avg_pool2d`; stride defaults to the kernel size,
 * countIncludePad (true) counts padded zeros in the average.
 */
export function avgPool2d(x: Tensor, kernelSize: number | [number, number], stride?: number | [number, number] | null,
  padding: number | [number, number] = 0, ceilMode = false, countIncludePad = true): Tensor {
  const input = asTensor(x, 'input');
  return runStep(layerStep.avgPool2d(kernelSize, stride, padding, ceilMode, countIncludePad), input);
}

/** Average pooling to a fixed [h, w] output, as `torch.nn.functional.adaptive_avg_pool2d`. */
export function adaptiveAvgPool2d(x: Tensor, outputSize: number | [number, number]): Tensor {
  const input = asTensor(x, 'input');
  return runStep(layerStep.adaptiveAvgPool2d(outputSize), input);
}

/**
 * Zeroes each element with probability p and scales the rest by 1/(1-p) when `training` (true by
 * default), as `torch.nn.functional.dropout`. Draws from the global generator (seed it with
 * {@link manualSeed}), as Python's does.
 */
export function dropout(x: Tensor, p = 0.5, training = true, inplace = false): Tensor {
  const input = asTensor(x, 'input');
  return runStep(layerStep.dropout(p, training, inplace), input);
}

/** Local response normalisation across channels, as `torch.nn.functional.local_response_norm`. */
export function localResponseNorm(x: Tensor, size: number, alpha = 1e-4, beta = 0.75, k = 1.0): Tensor {
  const input = asTensor(x, 'input');
  return runStep(layerStep.localResponseNorm(size, alpha, beta, k), input);
}

/**
 * Batch normalisation, as `torch.nn.functional.batch_norm`. With `training` it normalises with the
 * batch's statistics and updates runningMean and runningVar in place (when given) by `momentum`;
 * otherwise it uses them.
 */
export function batchNorm(x: Tensor, runningMean: Tensor | null, runningVar: Tensor | null, weight: Tensor | null = null,
  bias: Tensor | null = null, training = false, momentum = 0.1, eps = 1e-5): Tensor {
  const input = asTensor(x, 'input');
  return runStep(layerStep.batchNorm(runningMean, runningVar, weight, bias, training, momentum, eps), input);
}

/** How a loss reduces over the batch: mean (the default), sum, or none (one value per sample). */
export type Reduction = 'mean' | 'sum' | 'none';

/** Options of {@link crossEntropy} and {@link CrossEntropyLoss}, with torch's defaults. */
export interface CrossEntropyOptions {
  /** A float weight per class [C], for unbalanced classes; none by default. */
  weight?: Tensor | null;
  /** 'mean' (the default), 'sum' or 'none'. */
  reduction?: Reduction;
  /** Targets equal to this add nothing to the loss or the mean (-100). */
  ignoreIndex?: number;
  /** In [0, 1]: mixes the one-hot target with the uniform distribution by this much (0). */
  labelSmoothing?: number;
}

/**
 * Cross entropy of logits [N, C] against int64 class indices [N], as
 * `torch.nn.functional.cross_entropy`: log_softmax then negative log likelihood.
 */
export function crossEntropy(logits: Tensor, target: Tensor, options: CrossEntropyOptions = {}): Tensor {
  const o = v.options(options, 'options', ['weight', 'reduction', 'ignoreIndex', 'labelSmoothing']);
  return new Tensor(addon.functional.crossEntropy(asTensor(logits, 'input').raw, asTensor(target, 'target').raw,
    raw(o.weight as Tensor | null | undefined, 'weight'),
    o.reduction === undefined ? 'mean' : v.oneOf(o.reduction, 'reduction', ['mean', 'sum', 'none'] as const),
    o.ignoreIndex === undefined ? -100 : v.integer(o.ignoreIndex, 'ignoreIndex'),
    o.labelSmoothing === undefined ? 0 : v.number(o.labelSmoothing, 'labelSmoothing', 0, 1)));
}
