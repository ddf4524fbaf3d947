// The per-image transforms (and the batched native path) against the same
// torchvision-style ops in Python PyTorch, for fixed crop offsets and flips:
// test/python/transforms_ref.py pads, crops, flips, divides by 255 and normalises
// with torch float32 ops. The values must be bit-identical.
import test from 'ava';
import {
  CIFAR10_MEAN, CIFAR10_STD, Generator, Image, Normalize, RandomCrop, RandomHorizontalFlip, ToTensor,
} from '../../src/data';
import { addon } from '../../src/native';
import { tensor } from '../../src/tensor';
import { pythonScript, runPython } from '../helpers/python';

const N = 48;

/** Seeded random images, plus an all-white and an all-black one for the extremes. */
function makeImages(): Uint8Array {
  const g = new Generator(2024);
  const data = new Uint8Array(N * 3072);
  for (let i = 0; i < data.length; i++) data[i] = g.int(256);
  data.fill(255, 0, 3072);
  data.fill(0, 3072, 2 * 3072);
  return data;
}

interface Choices {
  padding: number;
  tops: number[];
  lefts: number[];
  flips: number[];
  mean: number[];
  std: number[];
  normalize: boolean;
}

function makeChoices(padding: number, seed: number, normalize = true): Choices {
  const g = new Generator(seed);
  const span = 2 * padding + 1;
  const tops = Array.from({ length: N }, () => g.int(span));
  const lefts = Array.from({ length: N }, () => g.int(span));
  const flips = Array.from({ length: N }, () => g.int(2));
  // The corners of the offset range, both flipped and not.
  if (padding > 0) {
    [tops[0], lefts[0], flips[0]] = [0, 0, 1];
    [tops[1], lefts[1], flips[1]] = [2 * padding, 2 * padding, 0];
    [tops[2], lefts[2], flips[2]] = [0, 2 * padding, 1];
    [tops[3], lefts[3], flips[3]] = [2 * padding, 0, 1];
  }
  return { padding, tops, lefts, flips, mean: [...CIFAR10_MEAN], std: [...CIFAR10_STD], normalize };
}

function python(images: Uint8Array, c: Choices): Float32Array {
  const b64 = runPython(pythonScript('transforms_ref.py'), [JSON.stringify(c)], Buffer.from(images));
  const bytes = Buffer.from(b64.trim(), 'base64');
  const out = new Float32Array(bytes.length / 4);
  Buffer.from(out.buffer).set(bytes);
  return out;
}

function ours(images: Uint8Array, c: Choices): Float32Array {
  const crop = new RandomCrop(32, { padding: c.padding, seed: 0 });
  const flip = new RandomHorizontalFlip(0.5, { seed: 0 });
  const toTensor = new ToTensor();
  const norm = new Normalize(c.mean, c.std);
  const out = new Float32Array(N * 3072);
  for (let i = 0; i < N; i++) {
    let img: Image = { data: images.slice(i * 3072, (i + 1) * 3072), channels: 3, height: 32, width: 32 };
    img = toTensor.call(flip.apply(crop.apply(img, c.tops[i], c.lefts[i]), c.flips[i] === 1));
    if (c.normalize) img = norm.call(img);
    out.set(img.data, i * 3072);
  }
  return out;
}

function batched(images: Uint8Array, c: Choices): Float32Array {
  const t = tensor(images, [N, 3, 32, 32]);
  const mean = c.normalize ? c.mean : [0, 0, 0];
  const std = c.normalize ? c.std : [1, 1, 1];
  const raw = addon.augmentBatch(t.raw, Int32Array.from({ length: N }, (_, i) => i), Int32Array.from(c.tops),
    Int32Array.from(c.lefts), Int32Array.from(c.flips), mean, std, c.padding);
  const out = raw.data() as Float32Array;
  raw.dispose();
  t.dispose();
  return out;
}

function firstDifference(a: Float32Array, b: Float32Array): string | null {
  if (a.length !== b.length) return `lengths ${a.length} vs ${b.length}`;
  for (let i = 0; i < a.length; i++) {
    if (!Object.is(a[i], b[i])) {
      const img = Math.floor(i / 3072);
      const r = i % 3072;
      return `image ${img}, channel ${Math.floor(r / 1024)}, y ${Math.floor((r % 1024) / 32)}, x ${r % 32}: ${a[i]} vs ${b[i]}`;
    }
  }
  return null;
}

const images = makeImages();

for (const [name, c] of [
  ['padding 4, random crops and flips, normalised', makeChoices(4, 1)],
  ['padding 2, other choices, normalised', makeChoices(2, 7)],
  ['no padding (test mode), flips, normalised', makeChoices(0, 3)],
  ['padding 4, ToTensor only', makeChoices(4, 11, false)],
] as [string, Choices][]) {
  test(`transforms match Python torch: ${name}`, (t) => {
    const want = python(images, c);
    t.is(want.length, N * 3072);
    t.is(firstDifference(ours(images, c), want), null, 'per-image transforms vs Python');
    t.is(firstDifference(batched(images, c), want), null, 'batched native op vs Python');
  });
}
