// The data package on the development copy of CIFAR-10: loading and its errors,
// the seeded generator, and the batched native pipeline against the per-image
// transforms for the same random choices (exact equality).
import test from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  CIFAR10, CIFAR10_MEAN, CIFAR10_STD, Compose, DataLoader, Generator, Normalize, RandomCrop, RandomHorizontalFlip, ToTensor,
} from '../../src/data';
import { IMAGE_BYTES, RECORD_BYTES } from '../../src/data/layout';
import { Tensor } from '../../src/tensor';
import { devData } from '../helpers/data';
import { tempDir } from '../helpers/python';

const CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

const devRoot = devData;
const devDir = path.join(devRoot, 'cifar-10-batches-bin');

let train: CIFAR10;
let testSet: CIFAR10;
test.before(async () => {
  train = await CIFAR10.create({ root: devRoot, train: true });
  testSet = await CIFAR10.create({ root: devRoot, train: false });
});
test.after.always(() => {
  train?.dispose();
  testSet?.dispose();
});

function exactlyEqual(a: Float32Array, b: Float32Array): { equal: boolean; maxAbsDiff: number; first: number } {
  let maxAbsDiff = 0;
  let first = -1;
  for (let i = 0; i < a.length; i++) {
    if (!Object.is(a[i], b[i])) {
      if (first < 0) first = i;
      maxAbsDiff = Math.max(maxAbsDiff, Math.abs(a[i] - b[i]));
    }
  }
  return { equal: a.length === b.length && first < 0, maxAbsDiff, first };
}

// ---- loading -------------------------------------------------------------

test('dev copy: counts, labels, classes', (t) => {
  t.is(train.length, 40_000);
  t.is(testSet.length, 10_000);
  t.is(train.images.length, 40_000 * 3072);
  t.is(testSet.images.length, 10_000 * 3072);
  t.deepEqual(train.classes, CLASSES);
  t.deepEqual(testSet.classes, CLASSES);
  for (const ds of [train, testSet]) {
    const counts = new Array(10).fill(0);
    for (const l of ds.labels) counts[l]++;
    t.is(counts.reduce((a, b) => a + b, 0), ds.length, 'every label is 0..9');
    // Roughly balanced (the README: within 2% for training; the validation split varies more).
    for (const c of counts) t.true(Math.abs(c - ds.length / 10) <= ds.length / 10 * 0.15, `class count ${c}`);
  }
});

test('records are read in file order, label byte then R, G, B planes', (t) => {
  const batch2 = fs.readFileSync(path.join(devDir, 'data_batch_2.bin'));
  const first = batch2.subarray(0, RECORD_BYTES);
  const s = train.get(8000);
  t.is(s.label, first[0]);
  t.deepEqual(Buffer.from(s.image as Uint8Array), Buffer.from(first.subarray(1)));
  const tb = fs.readFileSync(path.join(devDir, 'test_batch.bin'));
  const last = tb.subarray(9999 * RECORD_BYTES);
  t.is(testSet.get(9999).label, last[0]);
  t.deepEqual(Buffer.from(testSet.get(9999).image as Uint8Array), Buffer.from(last.subarray(1)));
  // get() hands out copies: changing one leaves the dataset alone.
  const img = train.get(0).image as Uint8Array;
  img[0] ^= 0xff;
  t.not(train.images[0], img[0]);
  t.throws(() => train.get(40_000), { message: /Expected integer between 0 and 39999 for index but received 40000/ });
});

test('limit and subset take the first images', async (t) => {
  const small = await CIFAR10.create({ root: devRoot, train: true, limit: 5000 });
  t.is(small.length, 5000);
  t.true(Buffer.from(small.images).equals(train.images.subarray(0, 5000 * IMAGE_BYTES)));
  t.deepEqual(Array.from(small.labels), Array.from(train.labels.subarray(0, 5000)));
  const sub = train.subset(100);
  t.is(sub.length, 100);
  t.deepEqual(Array.from(sub.labels), Array.from(train.labels.subarray(0, 100)));
  t.is(train.subset(10 ** 6).length, 40_000);
  t.throws(() => train.subset(0), { message: 'Expected positive integer for count but received 0 of type number' });
});

test('toTensor: uint8 [N,3,32,32], made once per device', (t) => {
  const sub = train.subset(50);
  const a = sub.toTensor('cpu');
  t.deepEqual(a.shape, [50, 3, 32, 32]);
  t.is(a.dtype, 'uint8');
  t.is(sub.toTensor(), a, 'cached');
  t.true(Buffer.from(a.data() as Uint8Array).equals(sub.images));
  sub.dispose();
  t.true(a.isDisposed);
  t.not(sub.toTensor(), a, 'recreated after dispose');
  sub.dispose();
});

test('argument checks', async (t) => {
  await t.throwsAsync(CIFAR10.create({ root: '' }), { message: "Expected non-empty string for root but received '' of type string" });
  await t.throwsAsync(CIFAR10.create({ root: devRoot, limit: -1 }), { message: 'Expected positive integer for limit but received -1 of type number' });
  await t.throwsAsync(CIFAR10.create({ root: devRoot, train: 'yes' as unknown as boolean }), { message: "Expected boolean for train but received 'yes' of type string" });
  await t.throwsAsync(CIFAR10.create({ root: devRoot, bogus: 1 } as never), { message: /Unknown option 'bogus'/ });
});

// ---- bad data --------------------------------------------------------------

/** A small valid copy: 3 records per train file, 2 in test_batch. */
function writeSmallCopy(root: string): string {
  const dir = path.join(root, 'cifar-10-batches-bin');
  fs.mkdirSync(dir, { recursive: true });
  const record = (label: number): Buffer => {
    const r = Buffer.alloc(RECORD_BYTES, label * 7);
    r[0] = label;
    return r;
  };
  for (let f = 1; f <= 5; f++) fs.writeFileSync(path.join(dir, `data_batch_${f}.bin`), Buffer.concat([record(f), record(9), record(0)]));
  fs.writeFileSync(path.join(dir, 'test_batch.bin'), Buffer.concat([record(3), record(4)]));
  fs.writeFileSync(path.join(dir, 'batches.meta.txt'), `${CLASSES.join('\n')}\n\n`);
  return dir;
}

test('a small valid copy loads', async (t) => {
  const root = tempDir();
  try {
    writeSmallCopy(root);
    const ds = await CIFAR10.create({ root, train: true });
    t.is(ds.length, 15);
    t.deepEqual(Array.from(ds.labels), [1, 9, 0, 2, 9, 0, 3, 9, 0, 4, 9, 0, 5, 9, 0]);
    t.is(ds.images[3072 * 1 + 5], 63);
    const te = await CIFAR10.create({ root, train: false });
    t.deepEqual(Array.from(te.labels), [3, 4]);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('missing files: says which, where they go, and download: true', async (t) => {
  const root = tempDir();
  try {
    const e1 = await t.throwsAsync(CIFAR10.create({ root, train: true }));
    const dir = path.join(root, 'cifar-10-batches-bin');
    t.true(e1!.message.startsWith(`CIFAR-10 folder not found: ${dir}. `), e1!.message);
    t.true(e1!.message.includes(`Expected the CIFAR-10 binary files in ${dir}${path.sep}`), e1!.message);
    t.regex(e1!.message, /download: true/);
    t.regex(e1!.message, /cifar-10-binary\.tar\.gz/);
    writeSmallCopy(root);
    fs.rmSync(path.join(dir, 'data_batch_4.bin'));
    const e2 = await t.throwsAsync(CIFAR10.create({ root, train: true }));
    t.true(e2!.message.startsWith(`CIFAR-10 file not found: ${path.join(dir, 'data_batch_4.bin')}. Expected`), e2!.message);
    fs.rmSync(path.join(dir, 'batches.meta.txt'));
    const e3 = await t.throwsAsync(CIFAR10.create({ root, train: true }));
    t.true(e3!.message.startsWith(`CIFAR-10 files not found in ${dir}${path.sep}: data_batch_4.bin, batches.meta.txt. Expected`), e3!.message);
    writeSmallCopy(root);
    // The test split does not need the train files.
    t.is((await CIFAR10.create({ root, train: false })).length, 2);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('bad files: size, label, empty, class names', async (t) => {
  const root = tempDir();
  try {
    const dir = writeSmallCopy(root);
    const file = path.join(dir, 'data_batch_3.bin');
    const good = fs.readFileSync(file);

    fs.writeFileSync(file, good.subarray(0, good.length - 10));
    const size = await t.throwsAsync(CIFAR10.create({ root }));
    const truncated = `CIFAR-10 file ${file} is truncated: it has ${good.length - 10} bytes, not a whole number of 3073-byte records ` +
      `(1 label byte + 3072 pixel bytes); expected ${good.length} bytes for ${good.length / RECORD_BYTES} records`;
    t.true(size!.message.startsWith(truncated), size!.message);
    // With download on, as a training run asks, the truncated file is named, not downloaded over.
    const dl = await t.throwsAsync(CIFAR10.create({ root, download: true, url: 'http://127.0.0.1:9/never-fetched.tar.gz', progress: null, log: () => {} }));
    t.true(dl!.message.startsWith(truncated), dl!.message);
    t.regex(dl!.message, /Delete it to download CIFAR-10 again/);
    t.is(fs.statSync(file).size, good.length - 10, 'the file was left as it was');

    const bad = Buffer.from(good);
    bad[RECORD_BYTES] = 10;
    fs.writeFileSync(file, bad);
    const label = await t.throwsAsync(CIFAR10.create({ root }));
    t.true(label!.message.startsWith(`CIFAR-10 file ${file}: record 1 (byte offset 3073) has label 10; labels must be 0 to 9.`), label!.message);

    fs.writeFileSync(file, Buffer.alloc(0));
    const empty = await t.throwsAsync(CIFAR10.create({ root }));
    t.is(empty!.message, `CIFAR-10 file ${file} is empty (0 bytes)`);
    // The test split does not read this file.
    t.is((await CIFAR10.create({ root, train: false })).length, 2);

    fs.writeFileSync(file, good);
    fs.writeFileSync(path.join(dir, 'batches.meta.txt'), 'cat\ndog\n');
    const meta = await t.throwsAsync(CIFAR10.create({ root }));
    t.regex(meta!.message, /batches\.meta\.txt lists 2 class names; expected 10/);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

// ---- generator -------------------------------------------------------------

test('Generator: seeded, uniform ints, permutations, state round trip', (t) => {
  const a = new Generator(42);
  const b = new Generator(42);
  const xs = Array.from({ length: 100 }, () => a.next());
  t.deepEqual(xs, Array.from({ length: 100 }, () => b.next()));
  t.true(xs.every((x) => x >= 0 && x < 1));
  t.notDeepEqual(new Generator(43).next(), new Generator(42).next());
  const counts = new Array(9).fill(0);
  const g = new Generator(1);
  for (let i = 0; i < 90_000; i++) counts[g.int(9)]++;
  for (const c of counts) t.true(Math.abs(c - 10_000) < 500, `int(9) bucket ${c}`);
  const perm = g.shuffle(1000);
  t.deepEqual(Array.from(perm).sort((x, y) => x - y), Array.from({ length: 1000 }, (_, i) => i));
  const s = g.state();
  t.true(s.every((x) => Number.isInteger(x) && x >= 0 && x < 2 ** 32));
  const after = [g.next(), g.int(100)];
  g.setState(s);
  t.deepEqual([g.next(), g.int(100)], after);
  t.deepEqual(g.clone().state(), g.state());
  t.throws(() => g.int(0), { message: 'Expected integer between 1 and 4294967296 for n but received 0 of type number' });
  t.throws(() => g.setState([1, 2, 3]), { message: /Expected array of 4 unsigned 32-bit integers for state/ });
  t.throws(() => new Generator(-1), { message: 'Expected non-negative integer for seed but received -1 of type number' });
});

// ---- batched pipeline vs per-image transforms -------------------------------

function perImage(ds: CIFAR10, i: number, tf: Compose, gen: Generator): Float32Array {
  return tf.call(ds.image(i), gen).data as Float32Array;
}

test('batched augmentation equals the per-image transforms for the same choices', (t) => {
  const ds = train.subset(700);
  try {
    const loader = new DataLoader(ds, {
      batchSize: 256, shuffle: true, seed: 123, augment: { padding: 4, flip: true, mean: [...CIFAR10_MEAN], std: [...CIFAR10_STD] },
    });
    // Replay: a generator with the loader's starting state, through the same draws.
    const replay = loader.generator.clone();
    const crop = new RandomCrop(32, { padding: 4, seed: 0 });
    const flip = new RandomHorizontalFlip(0.5, { seed: 0 });
    const tf = new Compose([crop, flip, new ToTensor(), new Normalize([...CIFAR10_MEAN], [...CIFAR10_STD])]);
    const order = replay.shuffle(ds.length);
    let seen = 0;
    let flips = 0;
    const tops = new Set<number>();
    for (const batch of loader) {
      t.deepEqual(Array.from(batch.indices), Array.from(order.subarray(seen, seen + batch.indices.length)));
      const got = batch.inputs.data() as Float32Array;
      const want = new Float32Array(got.length);
      for (let b = 0; b < batch.indices.length; b++) {
        want.set(perImage(ds, batch.indices[b], tf, replay), b * IMAGE_BYTES);
        t.deepEqual(crop.last, { top: batch.choices!.tops[b], left: batch.choices!.lefts[b] });
        t.is(flip.last, batch.choices!.flips[b] === 1);
        // apply() with the recorded choices gives the same image.
        if (b < 4) {
          const norm = new Normalize([...CIFAR10_MEAN], [...CIFAR10_STD]);
          const cropped = crop.apply(ds.image(batch.indices[b]), crop.last!.top, crop.last!.left);
          const again = norm.call(new ToTensor().call(flip.apply(cropped, flip.last!))).data as Float32Array;
          t.true(exactlyEqual(again, want.subarray(b * IMAGE_BYTES, (b + 1) * IMAGE_BYTES)).equal);
        }
        flips += flip.last ? 1 : 0;
        tops.add(crop.last!.top);
      }
      const cmp = exactlyEqual(got, want);
      t.true(cmp.equal, `batch at ${seen}: max abs diff ${cmp.maxAbsDiff}, first at ${cmp.first}`);
      const labels = batch.targets.toArray();
      t.deepEqual(labels, Array.from(batch.indices, (i) => ds.labels[i]));
      seen += batch.indices.length;
      batch.inputs.dispose();
      batch.targets.dispose();
    }
    t.is(seen, 700);
    t.deepEqual(replay.state(), loader.generator.state(), 'same number of draws');
    t.true(flips > 250 && flips < 450, `flips ${flips}`);
    t.is(tops.size, 9, 'all 9 offsets occur');
  } finally {
    ds.dispose();
  }
});

test('test-mode batches equal ToTensor + Normalize, and the per-image path matches the fast path', (t) => {
  const ds = testSet.subset(300);
  try {
    const plain = new DataLoader(ds, { batchSize: 128 });
    const tf = new Compose([new ToTensor(), new Normalize([...CIFAR10_MEAN], [...CIFAR10_STD])]);
    for (const batch of plain) {
      t.deepEqual(batch.choices!.tops, new Int32Array(batch.indices.length));
      const got = batch.inputs.data() as Float32Array;
      const want = new Float32Array(got.length);
      batch.indices.forEach((i, b) => want.set(tf.call(ds.image(i)).data as Float32Array, b * IMAGE_BYTES));
      t.true(exactlyEqual(got, want).equal);
      batch.inputs.dispose();
      batch.targets.dispose();
    }
    // The same seed through the per-image path (a user's transform) gives the same batches.
    const fast = new DataLoader(ds, { batchSize: 100, shuffle: true, seed: 9, augment: { padding: 4, flip: true } });
    const slow = new DataLoader(ds, {
      batchSize: 100, shuffle: true, seed: 9,
      transform: new Compose([new RandomCrop(32, { padding: 4 }), new RandomHorizontalFlip(), new ToTensor(),
        new Normalize([...CIFAR10_MEAN], [...CIFAR10_STD])]),
    });
    const a = [...fast];
    const b = [...slow];
    t.is(a.length, 3);
    t.is(b.length, 3);
    for (let k = 0; k < 3; k++) {
      t.deepEqual(b[k].inputs.shape, [100, 3, 32, 32]);
      t.is(b[k].inputs.dtype, 'float32');
      t.is(b[k].choices, null);
      t.deepEqual(Array.from(a[k].indices), Array.from(b[k].indices));
      t.true(exactlyEqual(a[k].inputs.data() as Float32Array, b[k].inputs.data() as Float32Array).equal, `batch ${k}`);
      t.deepEqual(a[k].targets.toArray(), b[k].targets.toArray());
      for (const x of [a[k], b[k]]) {
        x.inputs.dispose();
        x.targets.dispose();
      }
    }
  } finally {
    ds.dispose();
  }
});

// ---- loader ------------------------------------------------------------------

test('loader: shapes, dtypes and lengths with batch 128 and 100', (t) => {
  const loader = new DataLoader(train, { batchSize: 128, shuffle: true, seed: 1, augment: { padding: 4, flip: true } });
  t.is(loader.length, 313);
  t.is(new DataLoader(train, { batchSize: 128, dropLast: true }).length, 312);
  let count = 0;
  let images = 0;
  const seen = new Uint8Array(train.length);
  for (const { inputs, targets, indices } of loader) {
    const last = count === 312;
    t.deepEqual(inputs.shape, [last ? 64 : 128, 3, 32, 32]);
    t.is(inputs.dtype, 'float32');
    t.is(inputs.device, 'cpu');
    t.deepEqual(targets.shape, [last ? 64 : 128]);
    t.is(targets.dtype, 'int64');
    for (const i of indices) seen[i]++;
    images += indices.length;
    count++;
    inputs.dispose();
    targets.dispose();
  }
  t.is(count, 313);
  t.is(images, 40_000);
  t.true(seen.every((c) => c === 1), 'each image once per epoch');

  const testLoader = new DataLoader(testSet, { batchSize: 100 });
  t.is(testLoader.length, 100);
  let n = 0;
  let k = 0;
  for (const { inputs, targets, indices } of testLoader) {
    t.deepEqual(inputs.shape, [100, 3, 32, 32]);
    t.deepEqual(targets.shape, [100]);
    t.is(indices[0], k * 100, 'in order without shuffle');
    n += indices.length;
    k++;
    inputs.dispose();
    targets.dispose();
  }
  t.is(n, 10_000);
  t.is(new DataLoader(testSet.subset(99), { batchSize: 100, dropLast: true }).length, 0);
});

test('loader: generator state restores the same epoch', (t) => {
  const ds = train.subset(300);
  try {
    const loader = new DataLoader(ds, { batchSize: 128, shuffle: true, seed: 5, augment: { padding: 4, flip: true } });
    const run = (): { idx: number[]; tops: number[]; sum: number } => {
      const idx: number[] = [];
      const tops: number[] = [];
      let sum = 0;
      for (const b of loader) {
        idx.push(...b.indices);
        tops.push(...b.choices!.tops);
        sum += b.inputs.sum().item();
        b.inputs.dispose();
        b.targets.dispose();
      }
      return { idx, tops, sum };
    };
    const state = loader.state();
    const first = run();
    const second = run();
    t.notDeepEqual(first.idx, second.idx, 'a new order each epoch');
    loader.setState(state);
    t.deepEqual(run(), first);
    const other = new DataLoader(ds, { batchSize: 128, shuffle: true, seed: 5, augment: { padding: 4, flip: true } });
    t.deepEqual(other.state(), state, 'same seed, same state');
  } finally {
    ds.dispose();
  }
});

test('loader: argument checks', (t) => {
  t.throws(() => new DataLoader(train, { batchSize: -1 }), { message: 'Expected positive integer for batchSize but received -1 of type number' });
  t.throws(() => new DataLoader(train, { batchSize: 1.5 }), { message: 'Expected positive integer for batchSize but received 1.5 of type number' });
  t.throws(() => new DataLoader(train, { seed: -3 }), { message: 'Expected non-negative integer for seed but received -3 of type number' });
  t.throws(() => new DataLoader(train, { device: 'gpu' }), { message: /Expected device such as 'cpu'/ });
  t.throws(() => new DataLoader(train, { augment: { padding: -1 } }), { message: /Expected integer between 0 and 4096 for augment.padding but received -1/ });
  t.throws(() => new DataLoader(train, { augment: { std: [1, 0, 1] } }), { message: /Expected array of 3 finite non-zero numbers for augment.std/ });
  t.throws(() => new DataLoader({} as CIFAR10), { message: /Expected dataset \(length, classes, image\(i\), label\(i\) and get\(i\), as CIFAR10 or ImageFolder\) for dataset/ });
  t.throws(() => new DataLoader(train, { augment: {}, transform: new ToTensor() }), { message: /either augment or a transform/ });
  t.throws(() => new DataLoader(train, { shuffel: true } as never), { message: /Unknown option 'shuffel'/ });
});

test('transforms: argument checks and shapes', (t) => {
  const img = { data: new Uint8Array(3 * 4 * 5).map((_, i) => i), channels: 3, height: 4, width: 5 };
  const flipped = new RandomHorizontalFlip(1, { seed: 0 }).call(img);
  t.deepEqual(Array.from(flipped.data.subarray(0, 5)), [4, 3, 2, 1, 0]);
  const crop = new RandomCrop([2, 3], { padding: 1, seed: 0 });
  const c = crop.apply(img, 0, 0);
  t.deepEqual([c.channels, c.height, c.width], [3, 2, 3]);
  t.deepEqual(Array.from(c.data.subarray(0, 6)), [0, 0, 0, 0, 0, 1]);
  t.throws(() => crop.apply(img, 5, 0), { message: 'Expected integer between 0 and 4 for top but received 5 of type number' });
  t.throws(() => new RandomCrop(0), { message: /Expected positive integer or pair of positive integers for size/ });
  t.throws(() => new Normalize([0.5], [0.5]).call(img), { message: /apply ToTensor\(\) first/ });
  t.throws(() => new ToTensor().call({ ...img, width: 6 }), { message: /has 60 values but channels x height x width = 3 x 4 x 6 = 72/ });
  // Same seed, same choices; the unpadded full-size crop draws nothing.
  t.deepEqual(new RandomCrop(32, { seed: 3 }).sample(32, 32), { top: 0, left: 0 });
  const x = new RandomCrop(32, { padding: 4, seed: 3 }).sample(32, 32);
  t.deepEqual(new RandomCrop(32, { padding: 4, seed: 3 }).sample(32, 32), x);
});

test('loader batches are tensors the caller owns', (t) => {
  const ds = testSet.subset(10);
  const loader = new DataLoader(ds, { batchSize: 4 });
  const batches = [...loader];
  t.is(batches.length, 3);
  t.deepEqual(batches[2].inputs.shape, [2, 3, 32, 32]);
  for (const b of batches) {
    t.true(b.inputs instanceof Tensor);
    b.inputs.dispose();
    b.targets.dispose();
  }
  t.false(ds.toTensor().isDisposed, 'the cached dataset tensor stays');
  ds.dispose();
});
