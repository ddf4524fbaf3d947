// torchbridge: libtorch for Node.js. This is the library: tensors and autograd,
// nn, optim, data, models, save/load, devices and runtime settings. The
// AlexNet training recipe is at 'torchbridge/train'.
/**
 * The library: tensors and autograd, `nn`, `optim`, `data`, mixed precision, PyTorch-format
 * save/load, the AlexNet model, devices and runtime settings. Names and behaviour follow PyTorch
 * (`Tensor`, `nn.Module`, `optim.SGD`, `optim.OneCycleLR`, ...), in camelCase.
 *
 * @module torchbridge
 */
export { backends, parseDevice, transferToNpu, isTransferToNpu } from './device';
export type { DeviceType } from './device';
export type { Backends } from './native';
export { cpuLinearKernels, getCpuLinearKernel, getNumThreads, manualSeed, setCpuLinearKernel, setNumThreads } from './runtime';
export type { CpuLinearKernel } from './runtime';
export {
  arange, cat, dtypes, empty, full, keep, noGrad, ones, rand, randint, randn, randperm, stack, tensor, tidy, Tensor, zeros,
} from './tensor';
export type { DType, RandomOptions, TensorOptions } from './tensor';
export * as nn from './nn';
export * as optim from './optim';
export * as data from './data';
export * as distributed from './distributed';
export { autocast, autocastDtypes, GradScaler } from './amp';
export type { AutocastDtype, GradScalerOptions, GradScalerState } from './amp';
export { save, load, disposeValue } from './serialize';
export type { Value as SaveValue } from './serialize';
export { AlexNetModel } from './models/alexnet';
export type { AlexNetModelOptions } from './models/alexnet';
export { PaperAlexNet, TorchvisionAlexNet } from './models/torchvision_alexnet';
export type { AlexNetOptions } from './models/torchvision_alexnet';
export { Classifier, ImageError } from './classifier';
export type { ClassifierOptions, ImageInput, Prediction, PredictBatchOptions, PredictOptions } from './classifier';
export { cacheDir } from './paths';
export { loadSafetensors, saveSafetensors, safetensorsDtypes } from './safetensors';
export type { LoadSafetensorsOptions, SafetensorsContents, SaveSafetensorsOptions } from './safetensors';
export { defaultHistogramEdges, histogram, SummaryWriter } from './tensorboard';
export type { Histogram, SummaryWriterOptions } from './tensorboard';
