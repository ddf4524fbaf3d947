// A run built from a config: CIFAR-10, AlexNetModel, and the config's recipe
// (recipes.ts: the reference tutorial's, or the fast one) for its optimizer,
// schedule, loss and augmentation.
// On an image folder: the same, with the folder's classes, a seeded validation
// split, normalisation by the training images' own mean and std, and
// torchvision's AlexNet for inputs larger than 32x32.
import { GradScaler } from '../amp';
import { CIFAR10, DataLoader } from '../data';
import { channelStats, Dataset, randomSplit, Subset } from '../data/dataset';
import { ImageFolder } from '../data/image_folder';
import { Generator } from '../data/random';
import { Module } from '../nn/module';
import { OneCycleLR } from '../optim/lr_scheduler';
import { SGD } from '../optim/sgd';
import { recipeAugment, recipes } from './recipes';
import { RunConfig } from './config';
import { Criterion } from './loop';
import { Reporter } from './reporter';
import { buildModel, CIFAR10_TRAINED_ON, modelKindFor, ModelKind, TrainedOn } from './trained_on';

/** The default share of an image folder held out for validation. */
const DEFAULT_VAL_SPLIT = 0.1;

/** Everything one run trains with. dispose() frees it all; it is idempotent. */
export interface Recipe {
  /** The training split. */
  train: Dataset;
  /** The test split (an image folder's validation split). */
  test: Dataset;
  /** What the model trains on: classes, normalisation, input size and model layout, saved with its weights. */
  trainedOn: TrainedOn;
  /** Batches of batchSize, shuffled with the config's seed, with the recipe's augmentation: random crops of the image padded by 4 pixels (2 in the fast recipe), and flips. */
  trainLoader: DataLoader;
  /** Batches of testBatchSize in order, normalised only. */
  testLoader: DataLoader;
  /** A fresh model on the config's device: AlexNetModel, or torchvision's AlexNet for inputs above 32x32. */
  model: Module;
  /** The recipe's loss: cross entropy (with label smoothing in the fast recipe). */
  criterion: Criterion;
  /** The recipe's SGD; the schedule sets its lr from step 0. */
  optimizer: SGD;
  /** OneCycleLR(max lr, div 25, final div 1e4, pct 0.3) over scheduleEpochs (or epochs). */
  scheduler: OneCycleLR;
  /** Whether the recipe tests on each image with its mirror image (evaluate's testTimeFlip). */
  testTimeFlip: boolean;
  /** float16 autocast only. */
  scaler: GradScaler | null;
  /** Frees the datasets, model, optimizer and scaler. */
  dispose(): void;
}

/** A run's data: the two splits, what they are, and a release of their memory. */
export interface RunData {
  /** The training split (trainLimit images at most). */
  train: Dataset;
  /** The test split, or an image folder's validation split (testLimit images at most). */
  test: Dataset;
  /** Classes, normalisation, image size and model layout of this data. */
  trainedOn: TrainedOn;
  /** Frees the datasets' device copies. */
  dispose(): void;
}

/** The first `limit` items of a dataset (all when limit is null or larger). */
function first(ds: Dataset, limit: number | null): Dataset {
  return limit === null || limit >= ds.length ? ds : new Subset(ds, Int32Array.from({ length: limit }, (_, i) => i));
}

/**
 * Loads the config's data: CIFAR-10's train and test splits (downloading when allowed), or an
 * image folder split into training and validation images by a seeded random split (the split's
 * seed and fraction come from `split` when given, e.g. from a checkpoint, else from the config).
 * An image folder's mean and std are its training images' (see channelStats), unless `split`'s
 * record gives them. Status lines go to `log`; decoding progress to `bar`.
 */
export async function loadData(c: RunConfig, log: (line: string) => void, bar?: Pick<Reporter, 'barStart' | 'barUpdate' | 'barEnd'>,
  recorded?: TrainedOn | null): Promise<RunData> {
  if (c.dataset === 'imagefolder') return loadImageFolder(c, log, bar, recorded ?? null);
  const common = { root: c.data, download: c.download, log };
  const train = await CIFAR10.create({ ...common, train: true, ...(c.trainLimit ? { limit: c.trainLimit } : {}) });
  try {
    const test = await CIFAR10.create({ ...common, train: false, download: false, ...(c.testLimit ? { limit: c.testLimit } : {}) });
    return { train, test, trainedOn: { ...CIFAR10_TRAINED_ON, classes: train.classes.slice() }, dispose: () => { train.dispose(); test.dispose(); } };
  } catch (e) {
    train.dispose();
    throw e;
  }
}

async function loadImageFolder(c: RunConfig, log: (line: string) => void, bar: Pick<Reporter, 'barStart' | 'barUpdate' | 'barEnd'> | undefined,
  recorded: TrainedOn | null): Promise<RunData> {
  const imageSize = recorded?.imageSize ?? c.imageSize ?? 32;
  let started = false;
  const folder = await ImageFolder.load(c.data, {
    imageSize, skipBad: c.skipBad,
    onProgress: bar && ((done, total) => {
      if (!started) bar.barStart(total, 'Decoding images');
      started = true;
      bar.barUpdate(1);
      if (done === total) bar.barEnd();
    }),
  });
  try {
    if (folder.decoded === 0) log(`Using the decoded images cached in ${folder.cacheFolder}`);
    for (const s of folder.skipped) log(`Skipped ${s.path}: ${s.reason}`);
    const split = recorded?.split ?? { seed: c.seed, valSplit: c.valSplit ?? DEFAULT_VAL_SPLIT };
    const [train, val] = randomSplit(folder, [1 - split.valSplit, split.valSplit], new Generator(split.seed));
    if (val.length === 0 || train.length === 0) {
      throw new Error(`A validation split of ${split.valSplit} leaves ${val.length ? 'no training' : 'no validation'} images of the ${folder.length} in ${folder.root}`);
    }
    const stats = recorded ?? channelStats(train);
    const model = modelKindFor(imageSize) as ModelKind;
    log(`Image folder ${folder.root}: ${folder.length} images in ${folder.classes.length} classes (${train.length} training, ${val.length} validation), ` +
      `${imageSize}x${imageSize}${folder.skipped.length ? `, ${folder.skipped.length} skipped` : ''}`);
    return {
      train: first(train, c.trainLimit), test: first(val, c.testLimit),
      trainedOn: { dataset: 'imagefolder', classes: folder.classes.slice(), mean: stats.mean.slice(), std: stats.std.slice(), imageSize, model, split },
      dispose: () => folder.dispose(),
    };
  } catch (e) {
    folder.dispose();
    throw e;
  }
}

/** Puts a model's 4-d weights in channels_last memory format. */
export function useChannelsLast(model: Module): void {
  for (const p of model.parameters()) {
    if (p.ndim !== 4) continue;
    const q = p.to({ memoryFormat: 'channels_last' });
    p.setData(q);
    q.dispose();
  }
}

/**
 * The data, model, loss, optimizer and schedule of the config's recipe (see {@link recipes}), from a resolved config
 * (see {@link resolveConfig}). Frees what it made if any part fails; otherwise the caller frees it
 * with {@link Recipe.dispose}.
 */
export async function buildRecipe(c: RunConfig, log: (line: string) => void, bar?: Pick<Reporter, 'barStart' | 'barUpdate' | 'barEnd'>): Promise<Recipe> {
  const data = await loadData(c, log, bar);
  const { train, test, trainedOn } = data;
  const owned: { dispose(): void }[] = [data];
  const dispose = () => {
    for (const x of owned.splice(0).reverse()) x.dispose();
  };
  try {
    if (trainedOn.classes.length < 2) throw new Error(`Training needs at least 2 classes; ${c.data} has one (${trainedOn.classes[0]})`);
    const { mean, std } = trainedOn;
    const trainLoader = new DataLoader(train, {
      batchSize: c.batchSize, shuffle: true, seed: c.seed, device: c.device, augment: { ...recipeAugment[c.recipe], mean, std },
    });
    const testLoader = new DataLoader(test, { batchSize: c.testBatchSize, device: c.device, augment: { mean, std } });
    const model = buildModel(trainedOn.model, trainedOn.classes.length).to(c.device);
    owned.push(model);
    if (c.channelsLast) useChannelsLast(model);
    const { optimizer, scheduler, criterion, testTimeFlip } = recipes[c.recipe](model, {
      epochs: c.scheduleEpochs ?? c.epochs, stepsPerEpoch: trainLoader.length, lr: c.lr, weightDecay: c.weightDecay,
    });
    owned.push(optimizer);
    const scaler = c.autocast === 'float16' ? new GradScaler(c.device) : null;
    if (scaler) owned.push(scaler);
    return { train, test, trainedOn, trainLoader, testLoader, model, criterion, optimizer, scheduler, testTimeFlip, scaler, dispose };
  } catch (e) {
    dispose();
    throw e;
  }
}
