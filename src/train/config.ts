// The run's configuration: every field with its default and what it means, and
// the checks that a config must pass.
import * as path from 'node:path';
import { AutocastDtype, autocastDtypes } from '../amp';
import { parseDevice } from '../device';
import { cacheDir } from '../paths';
import { MIN_TORCHVISION_SIZE, modelKindFor } from './trained_on';
import { CpuLinearKernel, cpuLinearKernels } from '../runtime';
import { recipeDefaults, RecipeName, recipeNames } from './recipes';
import * as v from '../validate';

/**
 * Everything a run of the reference recipe ({@link runTraining}, {@link Trainer}, the CLI) is
 * configured by; {@link defaultConfig} holds the defaults and {@link resolveConfig} the checks.
 */
export interface RunConfig {
  /**
   * 'reference' (the default: the tutorial's optimizer, schedule, loss and augmentation) or 'fast'
   * (the same network, a better model from the same epochs: see {@link recipes}). A recipe's
   * {@link recipeDefaults} fill batchSize, lr and weightDecay where the config leaves them out.
   */
  recipe: RecipeName;
  /** 'cifar10' (the default: the reference) or 'imagefolder' (your images in `data`, one folder per class). */
  dataset: DatasetKind;
  /** Folder holding cifar-10-batches-bin/ (default: the user cache, where it is downloaded), or the image folder. */
  data: string;
  /** imagefolder: side of the square images (null: 32). 32 trains AlexNetModel, 63 and up torchvision's AlexNet. */
  imageSize: number | null;
  /** imagefolder: the fraction of images held out (a seeded random split) to validate on each epoch (null: 0.1). */
  valSplit: number | null;
  /** imagefolder: leave out images that cannot be decoded (and list them) instead of failing. */
  skipBad: boolean;
  /** Fetch CIFAR-10 when it is missing. */
  download: boolean;
  /** Epochs to run (the reference: 5). */
  epochs: number;
  /** OneCycleLR's length in epochs; null fits it to `epochs`. The reference uses 150. */
  scheduleEpochs: number | null;
  /** Training batch size (the recipe's: 128 for the reference). */
  batchSize: number;
  /** Test batch size (100). */
  testBatchSize: number;
  /** OneCycleLR's max_lr (the recipe's: 0.1 for the reference); SGD's own lr=1.0 is replaced by the schedule from step 0. */
  lr: number;
  /** SGD's weight decay (the recipe's: 5e-4 for the reference). */
  weightDecay: number;
  /** Where to train: 'cpu' (the default), 'cuda', 'cuda:N', 'npu', 'npu:N'. */
  device: string;
  /** Seeds libtorch (weights, dropout) and the data loader (order, augmentation) (0). */
  seed: number;
  /** Train on only the first N training images (tests, quick runs); null for all. */
  trainLimit: number | null;
  /** Test on only the first N test images; null for all. */
  testLimit: number | null;
  /** Where to write the final weights (a state dict Python's torch.load reads). */
  checkpoint: string | null;
  /** runTest only: write each test image's predicted class here, one JSON object per line. */
  predictions: string | null;
  /** Save a resumable checkpoint after every epoch (and on stop) here. */
  checkpointDir: string | null;
  /**
   * Also save one every this many training steps (counted from the run's start), mid-epoch included;
   * null: epoch ends only.
   */
  checkpointEvery: number | null;
  /** Continue from the newest loadable checkpoint in checkpointDir. */
  resume: boolean;
  /** Print the mean loss every this many iterations (100, as the reference). */
  logEvery: number;
  /** channels_last memory format for conv weights and inputs (faster on some CPUs). */
  channelsLast: boolean;
  /** libtorch intra-op threads; null keeps libtorch's default. */
  threads: number | null;
  /**
   * The library for float32 Linear on the CPU (see setCpuLinearKernel); null keeps the process's
   * setting, 'onednn' unless changed.
   */
  cpuLinear: CpuLinearKernel | null;
  /**
   * Mixed precision for forward and loss: 'bfloat16', or 'float16' with a GradScaler; null (the
   * default) trains in float32.
   */
  autocast: AutocastDtype | null;
  /**
   * A folder for TensorBoard event files: train loss, lr and momentum every
   * logEvery steps, test loss and accuracy every epoch. null (the default): none.
   */
  tensorboard: string | null;
  /**
   * The format of the weight files the run writes (and `test` reads): the final
   * `checkpoint`, and with 'safetensors' also model-<epoch>.safetensors beside
   * each epoch's checkpoint in checkpointDir. Resumable checkpoints stay .pt
   * either way: optimizer and scheduler state is not a flat map of tensors.
   * null (the default): from checkpoint's extension, '.safetensors' or else 'pt'.
   */
  format: WeightsFormat | null;
  /**
   * A run directory: config.json, metrics.jsonl and the validation summary for
   * `torchbridge report`; checkpointDir and checkpoint default to its checkpoints/
   * and model.pt (or model.safetensors). null (the default): none.
   */
  runDir: string | null;
  /**
   * Train as one rank of a data-parallel job that torchrun's environment variables describe (RANK,
   * WORLD_SIZE, MASTER_ADDR, MASTER_PORT; `torchbridge train --nproc N` sets them). Each rank trains
   * its rows of every global batch of batchSize, so the run computes what one process would, and
   * resumes with any number of ranks; only rank 0 prints and writes files. false (the default): one process.
   */
  distributed: boolean;
}

/** The datasets a run trains on. */
export type DatasetKind = 'cifar10' | 'imagefolder';
/** Every DatasetKind, for checks and help text. */
export const datasetKinds: readonly DatasetKind[] = ['cifar10', 'imagefolder'];

/** The file formats of a run's weight files. */
export type WeightsFormat = 'pt' | 'safetensors';
/** Every WeightsFormat, for checks and help text. */
export const weightsFormats: readonly WeightsFormat[] = ['pt', 'safetensors'];

/** The format a config's weight files are in: its `format`, else the `checkpoint` file's extension. */
export function weightsFormat(c: RunConfig): WeightsFormat {
  return c.format ?? (c.checkpoint?.endsWith('.safetensors') ? 'safetensors' : 'pt');
}

/**
 * The reference recipe's settings: 5 epochs, batch 128, max lr 0.1, weight decay 5e-4, cpu, seed 0,
 * data in the user cache.
 */
export const defaultConfig: RunConfig = {
  recipe: 'reference',
  dataset: 'cifar10',
  data: path.join(cacheDir(), 'cifar10'),
  imageSize: null,
  valSplit: null,
  skipBad: false,
  download: true,
  epochs: 5,
  scheduleEpochs: null,
  batchSize: 128,
  testBatchSize: 100,
  lr: 0.1,
  weightDecay: 5e-4,
  device: 'cpu',
  seed: 0,
  trainLimit: null,
  testLimit: null,
  checkpoint: null,
  predictions: null,
  checkpointDir: null,
  checkpointEvery: null,
  resume: false,
  logEvery: 100,
  channelsLast: false,
  threads: null,
  cpuLinear: null,
  autocast: null,
  tensorboard: null,
  format: null,
  runDir: null,
  distributed: false,
};

/**
 * A full config from `partial`, the recipe's {@link recipeDefaults} and {@link defaultConfig}, in
 * that order, every field checked. The one place
 * these rules live: the CLI converts its flags and reports this function's errors,
 * naming each field through `label` ('--epochs' instead of 'epochs').
 * Throws a TypeError for an unknown key, a bad value, or inconsistent fields
 * (scheduleEpochs below epochs; resume or checkpointEvery without checkpointDir; imageSize, valSplit
 * or skipBad without dataset 'imagefolder'; an imageSize no model takes).
 */
export function resolveConfig(partial: Partial<RunConfig>, label: (key: keyof RunConfig) => string = (k) => k): RunConfig {
  // A key given as undefined is left out, as an option object's missing key.
  const given = Object.fromEntries(Object.entries(v.options(partial, 'config', Object.keys(defaultConfig))).filter(([, x]) => x !== undefined));
  const L = label;
  const recipe = v.oneOf(given.recipe ?? defaultConfig.recipe, L('recipe'), recipeNames);
  const c = { ...defaultConfig, ...recipeDefaults[recipe], ...given } as RunConfig;
  v.oneOf(c.dataset, L('dataset'), datasetKinds);
  if (c.runDir !== null) {
    v.string(c.runDir, L('runDir'));
    c.checkpointDir ??= path.join(c.runDir, 'checkpoints');
    c.checkpoint ??= path.join(c.runDir, c.format === 'safetensors' ? 'model.safetensors' : 'model.pt');
  }
  v.string(c.data, L('data'));
  if (c.imageSize !== null) {
    v.integer(c.imageSize, L('imageSize'), 1, 4096);
    if (modelKindFor(c.imageSize) === null) {
      throw new TypeError(`${L('imageSize')} ${c.imageSize} fits no model: 32 trains the reference AlexNet, ${MIN_TORCHVISION_SIZE} and up torchvision's AlexNet`);
    }
  }
  if (c.valSplit !== null) {
    if (typeof c.valSplit !== 'number' || !(c.valSplit > 0 && c.valSplit < 1)) throw v.invalid('number strictly between 0 and 1', L('valSplit'), c.valSplit);
  }
  v.boolean(c.skipBad, L('skipBad'));
  if (c.dataset !== 'imagefolder') {
    const only = (['imageSize', 'valSplit'] as const).find((k) => c[k] !== null) ?? (c.skipBad ? 'skipBad' : null);
    if (only) throw new TypeError(`${L(only)} applies only to ${L('dataset')} imagefolder`);
  } else if (c.data === defaultConfig.data) {
    throw new TypeError(`${L('dataset')} imagefolder needs ${L('data')}: the folder that holds one folder of images per class`);
  }
  v.boolean(c.download, L('download'));
  v.integer(c.epochs, L('epochs'), 1);
  if (c.scheduleEpochs !== null) {
    v.integer(c.scheduleEpochs, L('scheduleEpochs'), 1);
    if (c.scheduleEpochs < c.epochs) throw new TypeError(`${L('scheduleEpochs')} (${c.scheduleEpochs}) must be at least ${L('epochs')} (${c.epochs})`);
  }
  v.integer(c.batchSize, L('batchSize'), 1);
  v.integer(c.testBatchSize, L('testBatchSize'), 1);
  v.positive(c.lr, L('lr'));
  v.number(c.weightDecay, L('weightDecay'), 0);
  parseDevice(c.device, L('device'));
  v.integer(c.seed, L('seed'), 0);
  if (c.trainLimit !== null) v.integer(c.trainLimit, L('trainLimit'), 1);
  if (c.testLimit !== null) v.integer(c.testLimit, L('testLimit'), 1);
  if (c.checkpoint !== null) v.string(c.checkpoint, L('checkpoint'));
  if (c.predictions !== null) v.string(c.predictions, L('predictions'));
  if (c.checkpointDir !== null) v.string(c.checkpointDir, L('checkpointDir'));
  if (c.checkpointEvery !== null) v.integer(c.checkpointEvery, L('checkpointEvery'), 1);
  if (c.checkpointEvery !== null && c.checkpointDir === null) throw new TypeError(`${L('checkpointEvery')} needs ${L('checkpointDir')}`);
  v.boolean(c.resume, L('resume'));
  if (c.resume && c.checkpointDir === null) throw new TypeError(`${L('resume')} needs ${L('checkpointDir')}`);
  v.integer(c.logEvery, L('logEvery'), 1);
  v.boolean(c.channelsLast, L('channelsLast'));
  if (c.threads !== null) v.integer(c.threads, L('threads'), 1);
  if (c.cpuLinear !== null) v.oneOf(c.cpuLinear, L('cpuLinear'), cpuLinearKernels);
  if (c.autocast !== null) v.oneOf(c.autocast, L('autocast'), autocastDtypes);
  if (c.tensorboard !== null) v.string(c.tensorboard, L('tensorboard'));
  v.boolean(c.distributed, L('distributed'));
  if (c.format !== null) {
    v.oneOf(c.format, L('format'), weightsFormats);
    // A file's name tells its format: a .safetensors name holding a zip, or the reverse, would mislead every reader.
    if (c.checkpoint !== null && c.checkpoint.endsWith('.safetensors') !== (c.format === 'safetensors')) {
      throw new TypeError(c.format === 'safetensors' ? `${L('checkpoint')} must end in .safetensors with ${L('format')} safetensors`
        : `${L('checkpoint')} ends in .safetensors, which ${L('format')} pt does not write`);
    }
  }
  return c;
}
