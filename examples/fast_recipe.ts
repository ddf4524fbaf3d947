// The fast recipe in one's own training loop: recipeAugment.fast for the loader,
// recipes.fast() for the optimizer, schedule and loss; trainEpoch and evaluate run them.
//
//   npx ts-node examples/fast_recipe.ts --data ../shared/datasets/cifar10-dev --epochs 5
//
// Flags: --data <dir> (default ~/.cache/torchbridge/cifar10), --epochs <n> (5),
// --limit <n> (train and test on the first n images only, for a quick run). The CLI's `train --recipe fast`
// is the same recipe with checkpoints, resume and reports.
import { parseArgs } from 'node:util';
import { AlexNetModel, data, manualSeed } from '../src';
import { defaultConfig, evaluate, recipeAugment, recipeDefaults, recipes, resolveConfig, trainEpoch } from '../src/train';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { data: { type: 'string' }, epochs: { type: 'string' }, limit: { type: 'string' } } });
  // The library's checks, with the flags' names.
  const num = (text: string | undefined) => (text === undefined ? undefined : Number(text));
  const limit = num(values.limit) ?? null;
  const c = resolveConfig({ recipe: 'fast', data: values.data ?? defaultConfig.data, epochs: num(values.epochs), trainLimit: limit, testLimit: limit },
    (k) => `--${k === 'trainLimit' || k === 'testLimit' ? 'limit' : k}`);
  manualSeed(c.seed);
  const trainset = await data.CIFAR10.create({ root: c.data, train: true, download: true, ...(c.trainLimit ? { limit: c.trainLimit } : {}) });
  const testset = await data.CIFAR10.create({ root: c.data, train: false, download: true, ...(c.testLimit ? { limit: c.testLimit } : {}) });

  const model = new AlexNetModel();
  const { batchSize } = recipeDefaults.fast;
  const train = new data.DataLoader(trainset, { batchSize, shuffle: true, seed: c.seed, augment: recipeAugment.fast });
  const { optimizer, scheduler, criterion, testTimeFlip } = recipes.fast(model, { epochs: c.epochs, stepsPerEpoch: train.length });
  const test = new data.DataLoader(testset, { batchSize: 500 });
  console.log(`The fast recipe: ${trainset.length} images, ${train.length} steps an epoch of ${batchSize}`);
  try {
    for (let epoch = 0; epoch < c.epochs; epoch++) {
      const { loss } = trainEpoch(model, train, criterion, optimizer, scheduler, epoch);
      const { accuracy } = evaluate(model, test, criterion, { testTimeFlip });
      console.log(`Epoch ${epoch + 1}: loss ${loss.toFixed(3)}, validation accuracy ${accuracy.toFixed(2)}%`);
    }
  } finally {
    optimizer.dispose();
    model.dispose();
    trainset.dispose();
    testset.dispose();
  }
}

main().catch((e: Error) => {
  console.error(e.message);
  process.exitCode = 1;
});
