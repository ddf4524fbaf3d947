// DataLoader with a sampler: the batches follow the sampler's order. Two ranks'
// DistributedSamplers split one epoch between them (each image once), each batch
// holds the dataset's own images and labels, and bad samplers are refused by name.
import test from 'ava';
import { DataLoader } from '../../src/data/dataloader';
import { StoredImageDataset } from '../../src/data/dataset';
import { DistributedSampler } from '../../src/data/distributed_sampler';

// 10 tiny images whose pixels all equal their index, labelled index % 3.
function tiny(n = 10): StoredImageDataset {
  const images = new Uint8Array(n * 3 * 2 * 2);
  for (let i = 0; i < n; i++) images.fill(i, i * 12, (i + 1) * 12);
  const labels = Uint8Array.from({ length: n }, (_, i) => i % 3);
  return new StoredImageDataset({ images, labels, classes: ['a', 'b', 'c'], imageShape: [3, 2, 2] });
}

test('two ranks\' samplers split each epoch; batches hold the sampled images and labels', (t) => {
  const ds = tiny();
  const seen: number[] = [];
  for (const rank of [0, 1]) {
    const sampler = new DistributedSampler(ds, { numReplicas: 2, rank, seed: 3 });
    sampler.setEpoch(1);
    const loader = new DataLoader(ds, { batchSize: 2, sampler, seed: 0, augment: { mean: [0, 0, 0], std: [1, 1, 1] } });
    t.is(loader.length, 3, '5 indices in batches of 2');
    const expected = Array.from(sampler.indices());
    const got: number[] = [];
    for (const b of loader) {
      const pixels = b.inputs.toArray();
      const per = pixels.length / b.indices.length;
      b.indices.forEach((index, k) => {
        got.push(index);
        // ToTensor scales by 1/255; every pixel of image i is i.
        t.is(Math.round(pixels[k * per] * 255), index);
      });
      t.deepEqual(b.targets.toArray(), Array.from(b.indices, (i) => i % 3));
      b.inputs.dispose();
      b.targets.dispose();
    }
    t.deepEqual(got, expected, `rank ${rank} reads its sampler's order`);
    seen.push(...got);
  }
  t.deepEqual(seen.sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
});

test('bad samplers, and a sampler with shuffle, are refused', (t) => {
  const ds = tiny();
  const sampler = new DistributedSampler(ds, { numReplicas: 2, rank: 0 });
  t.is(t.throws(() => new DataLoader(ds, { sampler, shuffle: true }))!.message, 'sampler option is mutually exclusive with shuffle');
  t.regex(t.throws(() => new DataLoader(ds, { sampler: { length: 2 } as never }))!.message, /^Expected sampler \(length and indices\(\)/);
  const outside = new DataLoader(ds, { sampler: { length: 2, indices: () => Int32Array.of(0, 10) } });
  t.is(t.throws(() => [...outside])!.message, "sampler.indices()[1] is 10, outside the dataset's 0..9");
  const short = new DataLoader(ds, { sampler: { length: 2, indices: () => Int32Array.of(0) } });
  t.regex(t.throws(() => [...short])!.message, /^Expected Int32Array of length 2 \(the sampler's length\) for sampler.indices\(\)/);
});
