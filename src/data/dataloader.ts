// Batches of any Dataset as device tensors: inputs float32 [B, C, H, W], targets int64 [B].
//
// Fast path: a dataset whose images are one uint8 store (CIFAR10, ImageFolder, their
// subsets) lives on the device as one uint8 tensor, and one native call
// (augmentBatch) gathers, pads, crops, flips, scales and normalises a batch. Other
// datasets without a transform get the same call on a batch stacked from image(i).
// The random choices are made here, from a seeded Generator, in exactly the order
// Compose([RandomCrop(32, {padding}), RandomHorizontalFlip(), ToTensor(), Normalize()])
// would draw them, so a batch can be replayed image by image (or in Python).
// Per-image path: with a transform (the loader's or the dataset's), each image goes
// through it in JavaScript and the results are stacked.
import { randomInt } from 'node:crypto';

import { checkDevice } from '../device';
import { addon } from '../native';
import { Tensor, tensor } from '../tensor';
import * as v from '../validate';
import { checkDataset, Dataset } from './dataset';
import { Generator } from './random';
import { applyTransform, Image, TransformLike } from './transforms';

/** The per-channel mean and std the reference tutorial normalises CIFAR-10 with. */
export const CIFAR10_MEAN: readonly number[] = Object.freeze([0.4914, 0.4822, 0.4465]);
/** The per-channel standard deviation the reference tutorial normalises CIFAR-10 with. */
export const CIFAR10_STD: readonly number[] = Object.freeze([0.2023, 0.1994, 0.201]);

/**
 * The batched augmentation of {@link DataLoader}: RandomCrop(size, padding) and RandomHorizontalFlip,
 * then ToTensor and Normalize, for a whole batch in one native call on the loader's device.
 */
export interface AugmentOptions {
  /** Zero padding before a random crop of the image's own size; 0 (the default) means no crop. */
  padding?: number;
  /** Random horizontal flip with probability 0.5. */
  flip?: boolean;
  /** Per-channel mean for normalisation; CIFAR10_MEAN by default. */
  mean?: readonly number[];
  /** Per-channel standard deviation for normalisation; CIFAR10_STD by default. */
  std?: readonly number[];
}

/** Options of {@link DataLoader}, as torch.utils.data.DataLoader's (camelCase). */
export interface DataLoaderOptions {
  /** Images per batch (1). */
  batchSize?: number;
  /** A new random order every epoch. */
  shuffle?: boolean;
  /**
   * Where each epoch's order comes from instead (for example a {@link DistributedSampler}: call
   * its setEpoch() before each epoch, as in PyTorch). Not with shuffle.
   */
  sampler?: Sampler;
  /** Skip the last batch when it would be smaller than batchSize. */
  dropLast?: boolean;
  /** Seed of the loader's Generator; random when omitted (see `seed`). */
  seed?: number;
  /** Where batches are made and returned; 'cpu' by default. */
  device?: string;
  /** Fast-path augmentation; without it images are only scaled and normalised. */
  augment?: AugmentOptions;
  /** A per-image pipeline instead of augment (must end in float32 or uint8 CHW images). */
  transform?: TransformLike;
}

/** The dataset indices of each epoch, in order: what {@link DataLoaderOptions.sampler} takes. */
export interface Sampler {
  /** How many indices each epoch has. */
  readonly length: number;
  /** The current epoch's indices. */
  indices(): Int32Array;
}

/** One batch from a {@link DataLoader}. The caller owns `inputs` and `targets`: dispose them. */
export interface Batch {
  /** float32 [B, C, H, W] (uint8 when a transform returns uint8 images). */
  inputs: Tensor;
  /** int64 [B]. */
  targets: Tensor;
  /** Dataset index of each image. */
  indices: Int32Array;
  /** The fast path's crop offsets (into the padded image) and flips (0/1); null on the per-image path. */
  choices: {
    /** Crop row offset of each image. */
    tops: Int32Array;
    /** Crop column offset of each image. */
    lefts: Int32Array;
    /** 1 where the image was flipped. */
    flips: Int32Array;
  } | null;
}

interface Augment {
  padding: number;
  flip: boolean;
  mean: number[];
  std: number[];
}

function checkChannels(x: unknown, name: string, nonZero: boolean): number[] {
  if (!Array.isArray(x) || x.length !== 3 || !x.every((e) => typeof e === 'number' && Number.isFinite(e) && (!nonZero || e !== 0))) {
    throw v.invalid(`array of 3 finite${nonZero ? ' non-zero' : ''} numbers`, name, x);
  }
  return x.slice();
}

/**
 * Batches of any {@link Dataset} (CIFAR10, ImageFolder, a Subset, your own) as device tensors, as
 * `torch.utils.data.DataLoader`: iterate it once per epoch with `for (const { inputs, targets } of loader)`.
 *
 * Without a transform, a dataset whose images are one uint8 store (`storeRows()`) is copied to the
 * device once and each batch is gathered, augmented and normalised there in one native call; other
 * datasets get the same call on a batch stacked from their uint8 images. The random choices come
 * from the loader's seeded {@link Generator}, in the order the per-image transforms would draw
 * them. With a transform (the loader's or the dataset's), each image goes through it in JavaScript.
 * Throws a TypeError for a bad dataset or option, or for both augment and a transform.
 */
export class DataLoader implements Iterable<Batch> {
  /** The dataset batches come from. */
  readonly dataset: Dataset;
  /** Images per batch. */
  readonly batchSize: number;
  /** Whether each epoch draws a new order. */
  readonly shuffle: boolean;
  /** Whether a last, smaller batch is skipped. */
  readonly dropLast: boolean;
  /** The order's source when given one (else the dataset's order, shuffled or not). */
  readonly sampler: Sampler | null;
  /** Where batches are made and returned. */
  readonly device: string;
  /** The seed the generator started from (log it to reproduce a run). */
  readonly seed: number;
  /** Source of the shuffle order and augmentation choices. */
  readonly generator: Generator;
  private readonly augment: Augment;
  private readonly transform: TransformLike | undefined;

  constructor(dataset: Dataset, options: DataLoaderOptions = {}) {
    checkDataset(dataset);
    const o = v.options(options, 'options', ['batchSize', 'shuffle', 'sampler', 'dropLast', 'seed', 'device', 'augment', 'transform']);
    this.dataset = dataset;
    this.batchSize = o.batchSize === undefined ? 1 : v.integer(o.batchSize, 'batchSize', 1);
    this.shuffle = o.shuffle === undefined ? false : v.boolean(o.shuffle, 'shuffle');
    this.dropLast = o.dropLast === undefined ? false : v.boolean(o.dropLast, 'dropLast');
    this.sampler = o.sampler === undefined ? null : checkSampler(o.sampler);
    // As PyTorch: the sampler decides the order, so shuffle has nothing to do.
    if (this.sampler !== null && this.shuffle) throw new TypeError('sampler option is mutually exclusive with shuffle');
    this.seed = o.seed === undefined ? randomInt(2 ** 48 - 1) : v.integer(o.seed, 'seed', 0);
    this.generator = new Generator(this.seed);
    this.device = o.device === undefined ? 'cpu' : checkDevice(o.device, 'device');

    if (o.transform !== undefined && typeof o.transform !== 'function' && typeof (o.transform as { call?: unknown })?.call !== 'function') {
      throw v.invalid('transform (an object with call(img) or a function)', 'transform', o.transform);
    }
    this.transform = (o.transform as TransformLike | undefined) ?? dataset.transform;
    if (this.transform !== undefined && o.augment !== undefined) {
      throw new TypeError(
        `Pass either augment or a transform, not both: ${o.transform !== undefined ? 'the transform option' : "the dataset's transform"} already makes each image`,
      );
    }
    const a = v.options(o.augment, 'augment', ['padding', 'flip', 'mean', 'std']);
    this.augment = {
      padding: a.padding === undefined ? 0 : v.integer(a.padding, 'augment.padding', 0, 4096),
      flip: a.flip === undefined ? false : v.boolean(a.flip, 'augment.flip'),
      mean: a.mean === undefined ? CIFAR10_MEAN.slice() : checkChannels(a.mean, 'augment.mean', false),
      std: a.std === undefined ? CIFAR10_STD.slice() : checkChannels(a.std, 'augment.std', true),
    };
  }

  /** Number of batches per epoch. */
  get length(): number {
    const n = this.sampler?.length ?? this.dataset.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** The generator's state, for checkpoints; restore between epochs with setState(). */
  state(): number[] {
    return this.generator.state();
  }

  /** Restores the generator's state from {@link DataLoader.state}, between epochs, to resume a run exactly. */
  setState(state: number[]): void {
    this.generator.setState(state);
  }

  /**
   * One epoch. The order is drawn when iteration starts, augmentation choices batch
   * by batch. The caller owns each batch's tensors: dispose them, or use tidy().
   */
  *[Symbol.iterator](): Iterator<Batch> {
    const order = this.sampler ? this.samplerOrder(this.sampler) : this.shuffle ? this.generator.shuffle(this.dataset.length)
      : Int32Array.from({ length: this.dataset.length }, (_, i) => i);
    const n = order.length;
    const batches = this.length;
    for (let b = 0; b < batches; b++) {
      const indices = order.slice(b * this.batchSize, Math.min(n, (b + 1) * this.batchSize));
      yield this.makeBatch(indices);
    }
  }

  // The sampler's indices for this epoch, checked against the dataset once.
  private samplerOrder(sampler: Sampler): Int32Array {
    const order = sampler.indices();
    if (!(order instanceof Int32Array) || order.length !== sampler.length) {
      throw v.invalid(`Int32Array of length ${sampler.length} (the sampler's length)`, 'sampler.indices()', order);
    }
    const bad = order.findIndex((i) => i < 0 || i >= this.dataset.length);
    if (bad >= 0) throw new RangeError(`sampler.indices()[${bad}] is ${order[bad]}, outside the dataset's 0..${this.dataset.length - 1}`);
    return order;
  }

  /** Makes the batch of these dataset indices, drawing its random choices now. */
  makeBatch(indices: Int32Array): Batch {
    if (!(indices instanceof Int32Array) || indices.length === 0) throw v.invalid('non-empty Int32Array', 'indices', indices);
    const targets = this.targets(indices);
    try {
      if (this.transform) return { inputs: this.stackTransformed(indices, this.transform), targets, indices, choices: null };
      const choices = this.drawChoices(indices.length);
      const { padding, mean, std } = this.augment;
      const view = this.dataset.storeRows?.() ?? null;
      if (view) {
        const rows = view.rows ? indices.map((i) => (view.rows as Int32Array)[i]) : indices;
        const raw = addon.augmentBatch(view.store.toTensor(this.device).raw, rows, choices.tops, choices.lefts, choices.flips, mean, std, padding);
        return { inputs: new Tensor(raw), targets, indices, choices };
      }
      const stacked = this.stackImages(indices);
      try {
        const all = Int32Array.from({ length: indices.length }, (_, i) => i);
        const raw = addon.augmentBatch(stacked.raw, all, choices.tops, choices.lefts, choices.flips, mean, std, padding);
        return { inputs: new Tensor(raw), targets, indices, choices };
      } finally {
        stacked.dispose();
      }
    } catch (e) {
      targets.dispose();
      throw e;
    }
  }

  /**
   * Per image: crop top, crop left (only with padding), then flip (only with flip):
   * the same draws, in the same order, as the per-image transforms make.
   */
  private drawChoices(count: number): { tops: Int32Array; lefts: Int32Array; flips: Int32Array } {
    const { padding, flip } = this.augment;
    const tops = new Int32Array(count);
    const lefts = new Int32Array(count);
    const flips = new Int32Array(count);
    for (let i = 0; i < count; i++) {
      if (padding > 0) {
        tops[i] = this.generator.int(2 * padding + 1);
        lefts[i] = this.generator.int(2 * padding + 1);
      }
      if (flip) flips[i] = this.generator.next() < 0.5 ? 1 : 0;
    }
    return { tops, lefts, flips };
  }

  private targets(indices: Int32Array): Tensor {
    const out = new BigInt64Array(indices.length);
    for (let i = 0; i < indices.length; i++) out[i] = BigInt(this.dataset.label(indices[i]));
    return tensor(out, [indices.length], { device: this.device });
  }

  /** The untransformed uint8 images of a batch, stacked into one [B, C, H, W] tensor on the loader's device. */
  private stackImages(indices: Int32Array): Tensor {
    return this.stack(indices, (img) => {
      if (!(img.data instanceof Uint8Array)) {
        throw new TypeError(`Without a transform, the DataLoader needs uint8 images, but the dataset's image(${img.index}) is float32; pass a transform`);
      }
      return img;
    }, 'The dataset has images of different shapes');
  }

  private stackTransformed(indices: Int32Array, transform: TransformLike): Tensor {
    return this.stack(indices, (img) => applyTransform(transform, img, this.generator), 'The transform returned images of different shapes or types in one batch');
  }

  private stack(indices: Int32Array, make: (img: Image & { index: number }) => Image, differ: string): Tensor {
    let data: Uint8Array | Float32Array | null = null;
    let shape: [number, number, number] = [0, 0, 0];
    for (let i = 0; i < indices.length; i++) {
      const img = make({ ...this.dataset.image(indices[i]), index: indices[i] });
      if (!img || !(img.data instanceof Float32Array || img.data instanceof Uint8Array)) {
        throw new TypeError('The transform must return an image {data: Float32Array | Uint8Array, channels, height, width}');
      }
      if (data === null) {
        shape = [img.channels, img.height, img.width];
        data = img.data instanceof Float32Array ? new Float32Array(indices.length * img.data.length) : new Uint8Array(indices.length * img.data.length);
      }
      if (img.channels !== shape[0] || img.height !== shape[1] || img.width !== shape[2] || img.data.constructor !== data.constructor ||
        img.data.length !== shape[0] * shape[1] * shape[2]) {
        throw new TypeError(
          `${differ} ([${shape}] then [${img.channels},${img.height},${img.width}]); ` +
            'they cannot be stacked',
        );
      }
      data.set(img.data, i * img.data.length);
    }
    return tensor(data as Float32Array | Uint8Array, [indices.length, ...shape], { device: this.device });
  }
}

function checkSampler(x: unknown): Sampler {
  const s = x as Sampler;
  if (typeof x !== 'object' || x === null || !v.isInteger(s.length) || s.length < 0 || typeof s.indices !== 'function') {
    throw v.invalid('sampler (length and indices(), as DistributedSampler)', 'sampler', x);
  }
  return s;
}
