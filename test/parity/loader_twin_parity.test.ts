// The DataLoader against its Python twin (test/python/torchbridge_loader.py), which
// the training twin (bench/python_train.py) reads its batches from: over two epochs
// the same order, crops, flips and normalised values, bit for bit, so that a Python
// run and a torchbridge run of the same seed see the same data.
import test from 'ava';
import { CIFAR10_MEAN, CIFAR10_STD, DataLoader } from '../../src/data/dataloader';
import { StoredImageDataset } from '../../src/data/dataset';
import { Generator } from '../../src/data/random';
import { cat, tensor, Tensor } from '../../src/tensor';
import { assertEqualTensors, closeness } from '../helpers/compare';
import { asRecord, asTensorValue, disposeAll, exchange } from '../helpers/python';

// Not a multiple of the batch size, so that each epoch ends with a short batch.
const N = 203;
const EPOCHS = 2;

function dataset(): StoredImageDataset {
  const g = new Generator(7);
  const images = Uint8Array.from({ length: N * 3072 }, () => g.int(256));
  const labels = Uint8Array.from({ length: N }, () => g.int(10));
  return new StoredImageDataset({ images, labels, classes: Array.from({ length: 10 }, (_, i) => `c${i}`), imageShape: [3, 32, 32] });
}

interface Case {
  batchSize: number;
  seed: number;
  shuffle: boolean;
  padding: number;
  flip: boolean;
}

/** Every batch of EPOCHS epochs, inputs and targets concatenated. */
function ours(ds: StoredImageDataset, c: Case): { x: Tensor; y: Tensor } {
  const loader = new DataLoader(ds, {
    batchSize: c.batchSize, shuffle: c.shuffle, seed: c.seed, augment: { padding: c.padding, flip: c.flip, mean: [...CIFAR10_MEAN], std: [...CIFAR10_STD] },
  });
  const xs: Tensor[] = [];
  const ys: Tensor[] = [];
  for (let e = 0; e < EPOCHS; e++) {
    for (const b of loader) {
      xs.push(b.inputs);
      ys.push(b.targets);
    }
  }
  const out = { x: cat(xs), y: cat(ys) };
  for (const t of [...xs, ...ys]) t.dispose();
  return out;
}

async function python(ds: StoredImageDataset, c: Case): Promise<{ x: Tensor; y: Tensor; dispose(): void }> {
  const options = [c.batchSize, c.seed, c.shuffle ? 1 : 0, c.padding, c.flip ? 1 : 0, EPOCHS, ...CIFAR10_MEAN, ...CIFAR10_STD];
  const inputs = {
    images: tensor(ds.images, [N, 3, 32, 32], { dtype: 'uint8' }),
    labels: tensor(Array.from(ds.labels), [N], { dtype: 'int64' }),
    options: tensor(options, [options.length], { dtype: 'float64' }),
  };
  try {
    const { outputs } = await exchange('torchbridge_loader.py', inputs);
    const r = asRecord(outputs, 'outputs');
    return { x: asTensorValue(r.x, 'x'), y: asTensorValue(r.y, 'y'), dispose: () => disposeAll(outputs) };
  } finally {
    disposeAll(inputs);
  }
}

const cases: [string, Case][] = [
  ['the fast recipe\'s training loader (batch 64, padding 2, flips)', { batchSize: 64, seed: 0, shuffle: true, padding: 2, flip: true }],
  ['the reference\'s training loader (batch 128, padding 4, flips), seed 2', { batchSize: 128, seed: 2, shuffle: true, padding: 4, flip: true }],
  ['a test loader (batch 100, in order, no augmentation)', { batchSize: 100, seed: 0, shuffle: false, padding: 0, flip: false }],
];

for (const [name, c] of cases) {
  test(`the Python loader twin gives the DataLoader's batches bit for bit: ${name}`, async (t) => {
    const ds = dataset();
    const mine = ours(ds, c);
    const theirs = await python(ds, c);
    try {
      t.deepEqual(mine.x.shape, [EPOCHS * N, 3, 32, 32]);
      assertEqualTensors(t, theirs.y, mine.y, 'labels, in order');
      assertEqualTensors(t, theirs.x, mine.x, 'inputs, bit for bit');
    } finally {
      mine.x.dispose();
      mine.y.dispose();
      theirs.dispose();
    }
  });
}

test('control: the twin with another seed gives other batches', async (t) => {
  const ds = dataset();
  const c: Case = { batchSize: 64, seed: 0, shuffle: true, padding: 2, flip: true };
  const mine = ours(ds, c);
  const theirs = await python(ds, { ...c, seed: 1 });
  try {
    t.deepEqual(theirs.x.shape, mine.x.shape);
    t.false(closeness(theirs.x, mine.x, { rtol: 0, atol: 0 }).ok);
  } finally {
    mine.x.dispose();
    mine.y.dispose();
    theirs.dispose();
  }
});
