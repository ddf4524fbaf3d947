// The dataset interface DataLoader takes, as torch.utils.data.Dataset: a length,
// class names, and items by index. Datasets that hold their images as one uint8
// [N, C, H, W] array (CIFAR10, ImageFolder, and subsets of them) also expose it, so
// that the loader can copy it to the device once and augment whole batches there.
import { checkDevice } from '../device';
import { keep, Tensor, tensor } from '../tensor';
import * as v from '../validate';
import { Generator } from './random';
import { applyTransform, Image, TransformLike } from './transforms';

/** One image and its label, as a dataset's `get()` returns them. */
export interface Sample {
  /** The image's CHW values: uint8, or the transformed image's data. */
  image: Uint8Array | Float32Array;
  /** Class index, into the dataset's `classes`. */
  label: number;
}

/**
 * Images held as one uint8 [N, C, H, W] array, with a device copy made on demand: what
 * {@link DataLoader}'s fast path gathers batches from.
 */
export interface ImageStore {
  /** All images, CHW each, one after another. */
  readonly images: Uint8Array;
  /** [C, H, W] of every image. */
  readonly imageShape: readonly [number, number, number];
  /** All images as one uint8 [N, C, H, W] tensor on `device`, owned by the store (don't dispose it). */
  toTensor(device?: string): Tensor;
}

/** Which rows of an {@link ImageStore} a dataset's items are: item i is row `rows[i]` (row i when rows is null). */
export interface StoreRows {
  /** The images. */
  store: ImageStore;
  /** Row of each item; null when item i is row i. */
  rows: Int32Array | null;
}

/**
 * What {@link DataLoader} takes, as `torch.utils.data.Dataset`: a number of items, class names,
 * and each item's image and label. `get(i)` is the item as a user sees it (through the dataset's
 * transform, if any); the loader reads `image(i)` and `label(i)` and applies the transform itself,
 * or, when `storeRows()` gives the images as one uint8 store, gathers whole batches from it.
 */
export interface Dataset {
  /** Number of items. */
  readonly length: number;
  /** Class names, by label. */
  readonly classes: readonly string[];
  /** The per-image transform `get()` applies (and the DataLoader, unless it has its own). */
  readonly transform?: TransformLike;
  /** Image i, untransformed, with its shape. */
  image(i: number): Image;
  /** The label of item i. */
  label(i: number): number;
  /** Item i: its image (transformed when a transform is set) and its label. */
  get(i: number, generator?: Generator): Sample;
  /** The images as rows of one uint8 store, for the DataLoader's batched path; null or absent when there is none. */
  storeRows?(): StoreRows | null;
}

/** Throws a TypeError unless `x` has what {@link Dataset} promises (checked once, by its users' constructors). */
export function checkDataset(x: unknown, name = 'dataset'): Dataset {
  const d = x as Dataset;
  const ok = typeof x === 'object' && x !== null && v.isInteger(d.length) && d.length >= 0 && Array.isArray(d.classes) &&
    typeof d.image === 'function' && typeof d.label === 'function' && typeof d.get === 'function';
  if (!ok) throw v.invalid('dataset (length, classes, image(i), label(i) and get(i), as CIFAR10 or ImageFolder)', name, x);
  return d;
}

/** The parts of an in-memory dataset: images as one uint8 array, their labels and class names. */
export interface StoredParts {
  /** [N, C, H, W] uint8. */
  images: Uint8Array;
  /** One label per image. */
  labels: Uint8Array | Int32Array;
  /** Class names, by label. */
  classes: string[];
  /** [C, H, W] of each image. */
  imageShape: [number, number, number];
  /** Applied by get(). */
  transform?: TransformLike;
}

/**
 * A dataset held in memory as one uint8 [N, C, H, W] array plus labels: the shared part of
 * {@link CIFAR10} and {@link ImageFolder}. It is its own {@link ImageStore}; without a transform,
 * a DataLoader gathers and augments batches from its device copy.
 */
export class StoredImageDataset implements Dataset, ImageStore {
  /** Class names, by label. */
  readonly classes: string[];
  /** All images, [N, C, H, W] CHW uint8. */
  readonly images: Uint8Array;
  /** One label per image. */
  readonly labels: Uint8Array | Int32Array;
  /** [C, H, W] of each image. */
  readonly imageShape: readonly [number, number, number];
  /** The per-image transform applied by get(), and by a DataLoader without its own. */
  transform: TransformLike | undefined;
  private readonly tensors = new Map<string, Tensor>();

  /** @internal Made by the datasets' loaders, which check the parts. */
  constructor(parts: StoredParts) {
    this.classes = parts.classes;
    this.images = parts.images;
    this.labels = parts.labels;
    this.imageShape = Object.freeze(parts.imageShape.slice()) as [number, number, number];
    this.transform = parts.transform;
  }

  /** Number of images. */
  get length(): number {
    return this.labels.length;
  }

  /** Image i as an untransformed CHW uint8 image (a copy). */
  image(i: number): Image {
    v.integer(i, 'index', 0, this.length - 1);
    const [c, h, w] = this.imageShape;
    const bytes = c * h * w;
    return { data: this.images.slice(i * bytes, (i + 1) * bytes), channels: c, height: h, width: w };
  }

  /** The label of image i. */
  label(i: number): number {
    return this.labels[v.integer(i, 'index', 0, this.length - 1)];
  }

  /** Image i (a copy, transformed when a transform is set) and its label. */
  get(i: number, generator?: Generator): Sample {
    const img = this.image(i);
    const label = this.labels[i];
    if (!this.transform) return { image: img.data, label };
    return { image: applyTransform(this.transform, img, generator).data, label };
  }

  /** This dataset's own images, row i for item i; null with a transform (which the loader must apply per image). */
  storeRows(): StoreRows | null {
    return this.transform ? null : { store: this, rows: null };
  }

  /**
   * All images as one uint8 [N, C, H, W] tensor on `device`, made once per device
   * and owned by the dataset: don't dispose it, call dataset.dispose().
   */
  toTensor(device = 'cpu'): Tensor {
    const key = checkDevice(device);
    const cached = this.tensors.get(key);
    if (cached && !cached.isDisposed) return cached;
    // keep(): the cache must outlive any tidy() this first call happens in.
    const t = keep(tensor(this.images, [this.length, ...this.imageShape], { device: key }));
    this.tensors.set(key, t);
    return t;
  }

  /** Frees the cached device tensors. */
  dispose(): void {
    for (const t of this.tensors.values()) t.dispose();
    this.tensors.clear();
  }
}

/**
 * Some items of another dataset, in the given order, as `torch.utils.data.Subset`: item i is
 * `dataset`'s item `indices[i]`. A view: nothing is copied, and a subset of a stored dataset keeps
 * the DataLoader's batched path.
 */
export class Subset implements Dataset {
  /** The dataset the items come from. */
  readonly dataset: Dataset;
  /** Index into `dataset` of each item. */
  readonly indices: Int32Array;

  /** Throws a TypeError for a bad dataset or an index outside it. */
  constructor(dataset: Dataset, indices: ArrayLike<number>) {
    this.dataset = checkDataset(dataset);
    if (indices === null || typeof indices !== 'object' || !v.isInteger((indices as ArrayLike<number>).length)) {
      throw v.invalid('array of dataset indices', 'indices', indices);
    }
    this.indices = Int32Array.from(Array.from(indices, (x, i) => v.integer(x, `indices[${i}]`, 0, dataset.length - 1)));
  }

  /** Number of items. */
  get length(): number {
    return this.indices.length;
  }

  /** The underlying dataset's class names. */
  get classes(): readonly string[] {
    return this.dataset.classes;
  }

  /** The underlying dataset's transform. */
  get transform(): TransformLike | undefined {
    return this.dataset.transform;
  }

  private at(i: number): number {
    return this.indices[v.integer(i, 'index', 0, this.length - 1)];
  }

  /** Image i, untransformed: the dataset's image `indices[i]`. */
  image(i: number): Image {
    return this.dataset.image(this.at(i));
  }

  /** The label of item i. */
  label(i: number): number {
    return this.dataset.label(this.at(i));
  }

  /** Item i: the dataset's item `indices[i]`. */
  get(i: number, generator?: Generator): Sample {
    return this.dataset.get(this.at(i), generator);
  }

  /** The dataset's store, with these items' rows; null when the dataset has none. */
  storeRows(): StoreRows | null {
    const base = this.dataset.storeRows?.() ?? null;
    if (base === null) return null;
    return { store: base.store, rows: base.rows === null ? this.indices : this.indices.map((i) => (base.rows as Int32Array)[i]) };
  }
}

/**
 * Splits a dataset into non-overlapping random subsets, as `torch.utils.data.random_split(dataset,
 * lengths, generator)`: `lengths` are item counts summing to the dataset's length, or fractions
 * summing to 1 (each gets floor(fraction x length) items, and the remainder is dealt one by one
 * from the first). The order comes from `generator`, so a seed gives the same split every time.
 */
export function randomSplit(dataset: Dataset, lengths: number[], generator: Generator): Subset[] {
  checkDataset(dataset);
  if (!(generator instanceof Generator)) throw v.invalid('Generator', 'generator', generator);
  if (!Array.isArray(lengths) || lengths.length === 0) throw v.invalid('non-empty array of lengths or fractions', 'lengths', lengths);
  const n = dataset.length;
  let counts: number[];
  const sum = lengths.reduce((a, b) => a + (typeof b === 'number' ? b : NaN), 0);
  if (lengths.every((x) => v.isInteger(x) && x >= 0) && sum === n) {
    counts = lengths.slice();
  } else if (lengths.every((x) => typeof x === 'number' && x >= 0 && x <= 1) && Math.abs(sum - 1) < 1e-9) {
    counts = lengths.map((f) => Math.floor(f * n));
    const left = n - counts.reduce((a, b) => a + b, 0);
    for (let i = 0; i < left; i++) counts[i % counts.length] += 1;
  } else {
    throw v.invalid(`array of counts summing to the dataset's length (${n}) or of fractions summing to 1`, 'lengths', lengths);
  }
  const order = generator.shuffle(n);
  const out: Subset[] = [];
  let at = 0;
  for (const c of counts) {
    out.push(new Subset(dataset, order.subarray(at, at + c)));
    at += c;
  }
  return out;
}

/** Per-channel statistics of a dataset's images, as {@link channelStats} returns them. */
export interface ChannelStats {
  /** Mean of each channel, in [0, 1]. */
  mean: number[];
  /** Standard deviation of each channel. */
  std: number[];
}

/**
 * Per-channel mean and standard deviation of a dataset's images, scaled to [0, 1] as ToTensor
 * does: the values to normalise it with. The std is the population std over all pixels of all
 * images (N x H x W values per channel; with so many, dividing by the count or the count minus 1
 * makes no visible difference).
 */
export function channelStats(dataset: Dataset): ChannelStats {
  checkDataset(dataset);
  if (dataset.length === 0) throw new RangeError('channelStats needs a dataset with at least one image');
  let sums: number[] = [];
  let squares: number[] = [];
  let count = 0;
  const view = dataset.storeRows?.() ?? null;
  const addImage = (data: Uint8Array | Float32Array, c: number, plane: number) => {
    if (sums.length === 0) {
      sums = new Array(c).fill(0);
      squares = new Array(c).fill(0);
    }
    for (let ch = 0; ch < c; ch++) {
      let s = 0;
      let q = 0;
      for (let p = ch * plane; p < (ch + 1) * plane; p++) {
        s += data[p];
        q += data[p] * data[p];
      }
      sums[ch] += s;
      squares[ch] += q;
    }
    count += plane;
  };
  for (let i = 0; i < dataset.length; i++) {
    if (view) {
      const [c, h, w] = view.store.imageShape;
      const row = view.rows ? view.rows[i] : i;
      addImage(view.store.images.subarray(row * c * h * w, (row + 1) * c * h * w), c, h * w);
    } else {
      const img = dataset.image(i);
      if (!(img.data instanceof Uint8Array)) throw new TypeError('channelStats needs uint8 images');
      addImage(img.data, img.channels, img.height * img.width);
    }
  }
  const mean = sums.map((s) => s / count / 255);
  const std = squares.map((q, ch) => Math.sqrt(Math.max(0, q / count / 255 ** 2 - mean[ch] ** 2)));
  return { mean, std };
}
