/**
 * PyTorch's default initialisation, drawing from the global generator in the same order and with
 * the same bounds as torch.nn, so a seeded model matches Python's.
 *
 * @module
 */
import { empty, Tensor } from '../tensor';

/** fan_in of a weight [out, in, ...kernel]. */
export function fanIn(shape: number[]): number {
  return shape.slice(1).reduce((a, b) => a * b, 1);
}

/** kaiming_uniform_(w, a=sqrt(5)), as Conv and Linear reset_parameters do. */
export function kaimingUniformWeight(shape: number[]): Tensor {
  const a = Math.sqrt(5);
  const gain = Math.sqrt(2.0 / (1 + a ** 2));
  const std = gain / Math.sqrt(fanIn(shape));
  const bound = Math.sqrt(3.0) * std;
  return empty(shape).uniform_(-bound, bound);
}

/** The bias init of Conv and Linear: U(-1/sqrt(fan_in), 1/sqrt(fan_in)). */
export function uniformBias(size: number, weightShape: number[]): Tensor {
  const fan = fanIn(weightShape);
  const bound = fan > 0 ? 1 / Math.sqrt(fan) : 0;
  return empty([size]).uniform_(-bound, bound);
}
