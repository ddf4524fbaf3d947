// The reference tutorial's recipe, built from a config: CIFAR-10 with
// RandomCrop(32, padding 4) and flips, AlexNetModel, CrossEntropyLoss,
// SGD(lr=1.0, weight_decay) and OneCycleLR(max_lr, div 25, final div 1e4, pct 0.3).
import { GradScaler } from '../amp';
import { CIFAR10, DataLoader } from '../data';
import { AlexNetModel } from '../models/alexnet';
import { crossEntropy } from '../nn/functional';
import { Module } from '../nn/module';
import { OneCycleLR } from '../optim/lr_scheduler';
import { SGD } from '../optim/sgd';
import { Tensor } from '../tensor';
import { RunConfig } from './config';
import { Criterion } from './loop';

/** Everything one run trains with. dispose() frees it all; it is idempotent. */
export interface Recipe {
  /** The training split. */
  train: CIFAR10;
  /** The test split. */
  test: CIFAR10;
  /** Batches of batchSize, shuffled with the config's seed, with RandomCrop(32, padding 4) and flips. */
  trainLoader: DataLoader;
  /** Batches of testBatchSize in order, normalised only. */
  testLoader: DataLoader;
  /** A fresh AlexNetModel on the config's device. */
  model: AlexNetModel;
  /** Cross entropy. */
  criterion: Criterion;
  /** SGD(lr 1.0, the config's weight decay); the schedule sets its lr from step 0. */
  optimizer: SGD;
  /** OneCycleLR(max lr, div 25, final div 1e4, pct 0.3) over scheduleEpochs (or epochs). */
  scheduler: OneCycleLR;
  /** float16 autocast only. */
  scaler: GradScaler | null;
  /** Frees the datasets, model, optimizer and scaler. */
  dispose(): void;
}

/**
 * Loads the train and test splits of CIFAR-10 as the config asks (downloading when allowed); status
 * lines go to `log`.
 */
export async function loadData(c: RunConfig, log: (line: string) => void): Promise<{
  /** The training split (trainLimit images at most). */
  train: CIFAR10;
  /** The test split (testLimit images at most). */
  test: CIFAR10;
}> {
  const common = { root: c.data, download: c.download, log };
  const train = await CIFAR10.create({ ...common, train: true, ...(c.trainLimit ? { limit: c.trainLimit } : {}) });
  try {
    const test = await CIFAR10.create({ ...common, train: false, download: false, ...(c.testLimit ? { limit: c.testLimit } : {}) });
    return { train, test };
  } catch (e) {
    train.dispose();
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

/** The recipe's criterion: mean cross entropy of logits against class indices. */
export const crossEntropyLoss: Criterion = (out: Tensor, y: Tensor) => crossEntropy(out, y);

/**
 * The data, model, loss, optimizer and schedule of the reference recipe, from a resolved config
 * (see {@link resolveConfig}). Frees what it made if any part fails; otherwise the caller frees it
 * with {@link Recipe.dispose}.
 */
export async function buildRecipe(c: RunConfig, log: (line: string) => void): Promise<Recipe> {
  const { train, test } = await loadData(c, log);
  const owned: { dispose(): void }[] = [train, test];
  const dispose = () => {
    for (const x of owned.splice(0).reverse()) x.dispose();
  };
  try {
    const trainLoader = new DataLoader(train, { batchSize: c.batchSize, shuffle: true, seed: c.seed, device: c.device, augment: { padding: 4, flip: true } });
    const testLoader = new DataLoader(test, { batchSize: c.testBatchSize, device: c.device });
    const model = new AlexNetModel().to(c.device);
    owned.push(model);
    if (c.channelsLast) useChannelsLast(model);
    // SGD's own lr=1.0 is replaced by the schedule from step 0, as in the reference.
    const optimizer = new SGD(model.parameters(), { lr: 1.0, weightDecay: c.weightDecay });
    owned.push(optimizer);
    const scheduler = new OneCycleLR(optimizer, c.lr, {
      epochs: c.scheduleEpochs ?? c.epochs, stepsPerEpoch: trainLoader.length, divFactor: 25, finalDivFactor: 1e4, pctStart: 0.3,
    });
    const scaler = c.autocast === 'float16' ? new GradScaler(c.device) : null;
    if (scaler) owned.push(scaler);
    return { train, test, trainLoader, testLoader, model, criterion: crossEntropyLoss, optimizer, scheduler, scaler, dispose };
  } catch (e) {
    dispose();
    throw e;
  }
}
