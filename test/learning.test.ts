// A real learning test on real images: AlexNetModel trained for one epoch on
// 5,000 CIFAR-10 training images, then evaluated on 1,000 validation images.
// Chance is 10%. No timing asserts.
import test from 'ava';
import * as path from 'node:path';
import { CIFAR10, DataLoader } from '../src/data';
import { AlexNetModel } from '../src/models/alexnet';
import { crossEntropy } from '../src/nn/functional';
import { SGD } from '../src/optim/sgd';
import { manualSeed } from '../src/tensor';
import { evaluate, silentReporter, trainEpoch } from '../src/train';
import { repoRoot } from './helpers/python';

const data = path.resolve(repoRoot, '..', 'shared', 'datasets', 'cifar10-dev');

test('one epoch on 5,000 images learns: validation accuracy well above chance', async (t) => {
  manualSeed(0);
  const train = await CIFAR10.create({ root: data, train: true, limit: 5000, log: () => {} });
  const val = await CIFAR10.create({ root: data, train: false, limit: 1000, log: () => {} });
  // Small batches give this short run enough steps to leave the initial plateau.
  const loader = new DataLoader(train, { batchSize: 16, shuffle: true, seed: 0, augment: { padding: 4, flip: true } });
  const net = new AlexNetModel();
  const opt = new SGD(net.parameters(), { lr: 0.01, momentum: 0.9, weightDecay: 5e-4 });
  const criterion = (o: Parameters<typeof crossEntropy>[0], y: Parameters<typeof crossEntropy>[1]) => crossEntropy(o, y);
  const before = evaluate(net, new DataLoader(val, { batchSize: 100 }), criterion, { reporter: silentReporter });
  const r = trainEpoch(net, loader, criterion, opt, null, 0, { reporter: silentReporter });
  const after = evaluate(net, new DataLoader(val, { batchSize: 100 }), criterion, { reporter: silentReporter });
  t.log(`accuracy ${before.accuracy.toFixed(1)}% -> ${after.accuracy.toFixed(1)}%, train loss ${r.loss.toFixed(3)}, val loss ${before.loss.toFixed(3)} -> ${after.loss.toFixed(3)}`);
  t.is(after.total, 1000);
  t.true(after.loss < before.loss - 0.1, 'validation loss fell');
  t.true(after.accuracy > 18, `accuracy ${after.accuracy}% is well above chance (10%)`);
  net.dispose();
  opt.dispose();
});
