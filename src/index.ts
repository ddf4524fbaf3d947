// torchbridge: libtorch for Node.js.
export { backends, parseDevice, transferToNpu, isTransferToNpu } from './device';
export type { Backends } from './native';
export {
  arange, cat, empty, full, getCpuLinearKernel, getNumThreads, keep, manualSeed, noGrad, ones, rand, randint, randn, randperm, setCpuLinearKernel, setNumThreads,
  stack, tensor, tidy, Tensor, zeros,
} from './tensor';
export type { DType, TensorOptions } from './tensor';
export * as nn from './nn';
export * as optim from './optim';
export { autocast, GradScaler } from './amp';
export type { AutocastDtype, GradScalerOptions, GradScalerState } from './amp';
export { save, load } from './serialize';
export type { Value as SaveValue } from './serialize';
export { AlexNetModel } from './models/alexnet';
export * as data from './data';
export { ProgressBar } from './progress';
export { evaluate, trainEpoch, ConsoleReporter } from './train';
export type { Batch, BatchSource, EpochResult, EvalResult, Reporter } from './train';
export { Trainer } from './trainer';
export { runTraining, runTest, defaultConfig } from './run';
export type { RunConfig, RunResult, EpochReport } from './run';
