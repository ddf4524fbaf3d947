// Process-wide runtime settings: the global seed, libtorch's CPU threads, and
// the CPU kernel for float32 Linear. Devices and backends are in device.ts.
import { addon } from './native';
import * as v from './validate';

/**
 * Seeds libtorch's global generators (CPU and accelerators), as `torch.manual_seed`. Weight
 * initialisation, dropout and the random factories draw from them, so `new AlexNetModel()` after
 * `manualSeed(n)` equals Python's model after `torch.manual_seed(n)`. The data loader's shuffling
 * has its own seed. Throws a TypeError unless seed is a non-negative integer.
 */
export function manualSeed(seed: number): void {
  addon.manualSeed(v.integer(seed, 'seed', 0));
}

/**
 * Sets libtorch's intra-op CPU thread count for the whole process, as `torch.set_num_threads`.
 * libtorch defaults to one thread per core, usually the fastest. Throws a TypeError unless n is a positive integer.
 */
export function setNumThreads(n: number): void {
  addon.setNumThreads(v.integer(n, 'n', 1));
}

/** libtorch's intra-op CPU thread count, as `torch.get_num_threads`. */
export function getNumThreads(): number {
  return addon.getNumThreads();
}

/** The values {@link setCpuLinearKernel} accepts. */
export const cpuLinearKernels = ['onednn', 'blas'] as const;
/**
 * The library that runs float32 Linear on the CPU: 'onednn' (fast, the default) or 'blas' (Python
 * PyTorch's exact bits).
 */
export type CpuLinearKernel = (typeof cpuLinearKernels)[number];

/**
 * Which library runs float32 Linear layers on the CPU, process-wide. 'onednn' (the
 * default) uses libtorch's oneDNN matmul, 2-3x faster than MKL's sgemm on AMD CPUs;
 * 'blas' calls at::linear, bit for bit what Python PyTorch computes. The two agree
 * to float32 rounding. Where libtorch has no oneDNN, 'blas' is used either way.
 * Throws a TypeError for any other value.
 */
export function setCpuLinearKernel(kernel: CpuLinearKernel): void {
  addon.setCpuLinearKernel(v.oneOf(kernel, 'kernel', cpuLinearKernels));
}

/** The kernel float32 Linear layers on the CPU use now (see setCpuLinearKernel). */
export function getCpuLinearKernel(): CpuLinearKernel {
  return addon.getCpuLinearKernel();
}
