// torchbridge/train: the AlexNet-for-CIFAR-10 recipe of the reference tutorial,
// apart from the library. A run's config, the run loop with checkpoints and
// resume, reporters, the training and test loops, and Trainer (a run on a worker thread).
/**
 * The AlexNet-for-CIFAR-10 recipe of the reference tutorial, built on the library: a run's config,
 * the training and test loops, the run loop with checkpoints and resume, reporters, and
 * {@link Trainer}, which runs it on a worker thread.
 *
 * @module torchbridge/train
 */
export { defaultConfig, resolveConfig } from './config';
export type { DatasetKind, RunConfig } from './config';
export { datasetKinds } from './config';
export { weightsFormat, weightsFormats } from './config';
export type { WeightsFormat } from './config';
export { evaluate, trainEpoch } from './loop';
export type { Batch, BatchSource, Criterion, DataParallelStep, EpochResult, EvalResult, LogWindow, TrainEpochOptions } from './loop';
export { ConsoleReporter, silentReporter } from './reporter';
export type { Reporter } from './reporter';
export { buildRecipe, loadData, useChannelsLast } from './recipe';
export { crossEntropyLoss, recipeAugment, recipeDefaults, recipeNames, recipes, recipeTestTimeFlip } from './recipes';
export type { RecipeDefaults, RecipeName, RecipeOptions, RecipeParts } from './recipes';
export type { Recipe, RunData } from './recipe';
export { CIFAR10_TRAINED_ON } from './trained_on';
export type { ModelKind, TrainedOn } from './trained_on';
export { runTest, runTraining } from './run';
export type { EpochReport, RunControl, RunResult } from './run';
export { CHECKPOINT_FORMAT, listCheckpoints, loadLatestCheckpoint, saveCheckpoint } from './checkpoint';
export { modelWeightsName, openWeights, readTrainedOn, saveModelWeights, saveWeights, TRAINED_ON_KEY, WEIGHTS_FORMAT } from './checkpoint';
export type { Checkpoint, WeightsFile } from './checkpoint';
export { Trainer } from './trainer';
export type { TrainerEvents } from './trainer';
