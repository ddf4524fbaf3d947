// Process-wide runtime settings: the global seed, libtorch's CPU threads, and
// the CPU kernel for float32 Linear. Devices and backends are in device.ts.
import { addon } from './native';
import * as v from './validate';

/** Seeds libtorch's global generators (CPU and accelerators), like torch.manual_seed. */
export function manualSeed(seed: number): void {
  addon.manualSeed(v.integer(seed, 'seed', 0));
}

export function setNumThreads(n: number): void {
  addon.setNumThreads(v.integer(n, 'n', 1));
}

export function getNumThreads(): number {
  return addon.getNumThreads();
}

export const cpuLinearKernels = ['onednn', 'blas'] as const;
export type CpuLinearKernel = (typeof cpuLinearKernels)[number];

/**
 * Which library runs float32 Linear layers on the CPU, process-wide. 'onednn' (the
 * default) uses libtorch's oneDNN matmul, 2-3x faster than MKL's sgemm on AMD CPUs;
 * 'blas' calls at::linear, bit for bit what Python PyTorch computes. The two agree
 * to float32 rounding. Where libtorch has no oneDNN, 'blas' is used either way.
 */
export function setCpuLinearKernel(kernel: CpuLinearKernel): void {
  addon.setCpuLinearKernel(v.oneOf(kernel, 'kernel', cpuLinearKernels));
}

/** The kernel float32 Linear layers on the CPU use now (see setCpuLinearKernel). */
export function getCpuLinearKernel(): CpuLinearKernel {
  return addon.getCpuLinearKernel();
}
