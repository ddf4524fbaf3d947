// Which branch the speed-motivated native code paths took (binding/routes.cc),
// counted per thread, so that a test can assert that the route it checks really
// ran. Also types the raw entries that choose a route. (These extend the raw
// addon's types in src/native.ts by declaration merging.)
import { addon, RawTensor } from './native';

export interface RouteCounts {
  /** SGD steps through ATen's fused kernel. */
  sgdFused: number;
  /** SGD steps through the per-tensor loop (torch.optim.SGD's single-tensor path). */
  sgdPerTensor: number;
  /** maxPool2d calls re-laid out to channels_last and handed back NCHW. */
  maxPool2dChannelsLast: number;
  /** maxPool2d calls that ran at::max_pool2d on the input as it came. */
  maxPool2dPlain: number;
  /** maxPool2d calls forced onto at::max_pool2d_with_indices (route 'aten'). */
  maxPool2dAten: number;
}

declare module './native' {
  interface Addon {
    routeCounts(): RouteCounts;
  }
  interface RawFunctional {
    /** route 'aten': ATen's max_pool2d_with_indices on x as it is, skipping the channels_last route. */
    maxPool2d(x: RawTensor, kernel: number[], stride: number[], padding: number[], dilation: number[], ceilMode: boolean,
      route: 'auto' | 'aten'): RawTensor;
  }
  interface RawSGD {
    /** fused false: the per-tensor loop even where ATen's fused kernel applies. */
    step(start: number, end: number, lr: number, momentum: number, dampening: number, weightDecay: number,
      nesterov: boolean, maximize: boolean, fused: boolean): void;
  }
}

/** The counts so far on this thread. */
export function routeCounts(): RouteCounts {
  return addon.routeCounts();
}

/** Runs fn and returns how many times each route was taken during it. */
export function countRoutes(fn: () => void): RouteCounts {
  const before = addon.routeCounts();
  fn();
  const after = addon.routeCounts();
  return Object.fromEntries(Object.entries(after).map(([k, n]) => [k, n - before[k as keyof RouteCounts]])) as unknown as RouteCounts;
}

/** ATen's max_pool2d_with_indices on x as it is (the reference for maxPool2d's channels_last route). */
export function atenMaxPool2d(x: RawTensor, kernel: [number, number], stride: [number, number], padding: [number, number],
  dilation: [number, number], ceilMode: boolean): RawTensor {
  return addon.functional.maxPool2d(x, kernel, stride, padding, dilation, ceilMode, 'aten');
}
