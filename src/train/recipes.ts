// The training recipes for AlexNet on CIFAR-10: what optimizer, schedule, loss
// and augmentation a run uses. 'reference' is the tutorial's; 'fast' gets more
// out of the same network in the same number of epochs. buildRecipe and the CLI
// use these, and so can one's own training loop.
import type { AugmentOptions } from '../data/dataloader';
import { crossEntropy } from '../nn/functional';
import { Module } from '../nn/module';
import { OneCycleLR } from '../optim/lr_scheduler';
import { SGD } from '../optim/sgd';
import { Tensor } from '../tensor';
import * as v from '../validate';
import type { Criterion } from './loop';

/** The recipes: 'reference' (the tutorial's) and 'fast' (a better model from the same epochs). */
export type RecipeName = 'reference' | 'fast';
/** Every RecipeName, for checks and help text. */
export const recipeNames: readonly RecipeName[] = ['reference', 'fast'];

/** A recipe's defaults for the run settings it tunes; a run config may override each. */
export interface RecipeDefaults {
  /** Training batch size. */
  batchSize: number;
  /** OneCycleLR's max_lr. */
  lr: number;
  /** SGD's weight decay (the fast recipe: on weights only, not on biases). */
  weightDecay: number;
}

/** Each recipe's defaults. */
export const recipeDefaults: Readonly<Record<RecipeName, Readonly<RecipeDefaults>>> = {
  reference: { batchSize: 128, lr: 0.1, weightDecay: 5e-4 },
  fast: { batchSize: 64, lr: 0.1, weightDecay: 5e-4 },
};

/**
 * Whether each recipe tests on the mean of the logits of each image and its mirror image
 * (evaluate's testTimeFlip): in training's evaluation, and in runTest with the same recipe.
 */
export const recipeTestTimeFlip: Readonly<Record<RecipeName, boolean>> = { reference: false, fast: true };

/**
 * Each recipe's training augmentation (the loader adds the data's mean and std): random crops of
 * the image padded by 4 pixels, or 2 in the fast recipe (5 epochs underfit; lighter augmentation
 * helps), and flips. Known before the model, so that a loader, and its length, come first.
 */
export const recipeAugment: Readonly<Record<RecipeName, Readonly<Required<Pick<AugmentOptions, 'padding' | 'flip'>>>>> = {
  reference: { padding: 4, flip: true },
  fast: { padding: 2, flip: true },
};

/** Options of the {@link recipes}. */
export interface RecipeOptions {
  /** The epochs the one-cycle schedule spans (required). */
  epochs: number;
  /** Optimizer steps per epoch: the training loader's length (required). */
  stepsPerEpoch: number;
  /** OneCycleLR's max_lr; the recipe's default when left out. */
  lr?: number;
  /** SGD's weight decay; the recipe's default when left out. */
  weightDecay?: number;
}

/** What a recipe trains a model with. The caller owns the optimizer and disposes it. */
export interface RecipeParts {
  /** SGD over the model's parameters; the schedule sets its lr and momentum from step 0. */
  optimizer: SGD;
  /** OneCycleLR: call step() after every optimizer step. */
  scheduler: OneCycleLR;
  /** The training loss, of logits and class indices. */
  criterion: Criterion;
  /** The training loader's augmentation (add the data's mean and std). */
  augment: Required<Pick<AugmentOptions, 'padding' | 'flip'>>;
  /** Whether the recipe tests on the mean of the logits of each image and its mirror image (see evaluate). */
  testTimeFlip: boolean;
}

/** The reference recipe's criterion: mean cross entropy of logits against class indices. */
export const crossEntropyLoss: Criterion = (out: Tensor, y: Tensor) => crossEntropy(out, y);

function checkOptions(model: Module, options: RecipeOptions, name: RecipeName): Required<RecipeOptions> {
  if (!(model instanceof Module)) throw v.invalid('Module', 'model', model);
  const o = v.options(options, 'recipe options', ['epochs', 'stepsPerEpoch', 'lr', 'weightDecay']);
  const d = recipeDefaults[name];
  return {
    epochs: v.integer(o.epochs, 'epochs', 1),
    stepsPerEpoch: v.integer(o.stepsPerEpoch, 'stepsPerEpoch', 1),
    lr: o.lr === undefined ? d.lr : v.positive(o.lr, 'lr'),
    weightDecay: o.weightDecay === undefined ? d.weightDecay : v.number(o.weightDecay, 'weightDecay', 0),
  };
}

/** The schedule both recipes use: OneCycleLR(max lr, div 25, final div 1e4, pct 0.3) over the run. */
function oneCycle(optimizer: SGD, o: Required<RecipeOptions>): OneCycleLR {
  return new OneCycleLR(optimizer, o.lr, { epochs: o.epochs, stepsPerEpoch: o.stepsPerEpoch, divFactor: 25, finalDivFactor: 1e4, pctStart: 0.3 });
}

/**
 * The tutorial's recipe: SGD(lr 1.0, weight decay on every parameter) under OneCycleLR(max lr, div 25,
 * final div 1e4, pct 0.3), which also cycles SGD's momentum between 0.95 and 0.85 as PyTorch's does;
 * plain cross entropy; RandomCrop(32, padding 4) and flips; no test-time augmentation.
 */
function reference(model: Module, options: RecipeOptions): RecipeParts {
  const o = checkOptions(model, options, 'reference');
  // SGD's own lr=1.0 is replaced by the schedule from step 0, as in the reference.
  const optimizer = new SGD(model.parameters(), { lr: 1.0, weightDecay: o.weightDecay });
  return { optimizer, scheduler: oneCycle(optimizer, o), criterion: crossEntropyLoss, augment: recipeAugment.reference, testTimeFlip: recipeTestTimeFlip.reference };
}

/** The fast recipe's label smoothing: the target puts 1 - 0.2 on the class and spreads 0.2 over all ten. */
const FAST_LABEL_SMOOTHING = 0.2;

/**
 * The same network trained for a better model in the same epochs (issue 14; the README's recipe
 * table shows what each ingredient adds). Relative to the reference: batch 64 (twice the steps),
 * random crops of the image padded by 2 pixels (not 4), Nesterov momentum, no weight decay on biases,
 * label smoothing 0.2, and at test time the mean of the logits of each image and its mirror image. The schedule is the reference's OneCycleLR.
 */
function fast(model: Module, options: RecipeOptions): RecipeParts {
  const o = checkOptions(model, options, 'fast');
  const params = model.parameters();
  // Decay pulls weights towards 0 to keep them small; a bias has no such reason.
  const weights = params.filter((p: Tensor) => p.ndim > 1);
  const biases = params.filter((p: Tensor) => p.ndim <= 1);
  const groups = biases.length ? [{ params: weights }, { params: biases, weightDecay: 0 }] : [{ params: weights }];
  // Nesterov needs a momentum at construction; the schedule sets it from step 0.
  const optimizer = new SGD(groups, { lr: 1.0, weightDecay: o.weightDecay, momentum: 0.9, nesterov: true });
  return {
    optimizer, scheduler: oneCycle(optimizer, o), criterion: (out, y) => crossEntropy(out, y, { labelSmoothing: FAST_LABEL_SMOOTHING }),
    augment: recipeAugment.fast, testTimeFlip: recipeTestTimeFlip.fast,
  };
}

/**
 * The training recipes, for one's own loop: each returns the optimizer, schedule, loss and
 * augmentation it trains a model with.
 *
 * ```ts
 * const loader = new data.DataLoader(train, { batchSize: recipeDefaults.fast.batchSize, shuffle: true, augment: recipeAugment.fast });
 * const { optimizer, scheduler, criterion, testTimeFlip } = recipes.fast(model, { epochs: 5, stepsPerEpoch: loader.length });
 * // ... trainEpoch(model, loader, criterion, optimizer, scheduler, epoch); evaluate(model, testLoader, criterion, { testTimeFlip })
 * ```
 */
export const recipes: Readonly<Record<RecipeName, (model: Module, options: RecipeOptions) => RecipeParts>> = { reference, fast };
