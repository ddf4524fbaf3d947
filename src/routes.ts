// Which branch the speed-motivated native code paths took (binding/routes.cc),
// counted per thread, so that a test can assert that the route it checks really
// ran.
import { addon, RawTensor, RouteCounts } from './native';

export type { RouteCounts };

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
