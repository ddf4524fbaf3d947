// CIFAR-10 from the official binary files (cifar-10-batches-bin/), kept in memory as
// one uint8 [N, 3, 32, 32] array plus labels: 40,000 images take 123 MB.
//
// All files are checked before anything is returned, so a bad file never leaves a
// half-loaded dataset behind.
import * as fs from 'node:fs';
import * as path from 'node:path';

import * as v from '../validate';
import { downloadCIFAR10, DownloadOptions } from './download';
import {
  BASE_FOLDER, fileProblems, IMAGE_BYTES, META_FILE, NUM_CLASSES, placementHelp, RECORD_BYTES, sizeProblem, TEST_FILES, TRAIN_FILES,
} from './layout';
import { StoredImageDataset } from './dataset';
import { TransformLike } from './transforms';

/** Options of {@link CIFAR10.create}, as torchvision's `CIFAR10(root, train, download, transform)`. */
export interface CIFAR10Options {
  /** The folder that holds (or will hold) cifar-10-batches-bin/. */
  root: string;
  /** data_batch_1..5 when true (the default), test_batch otherwise. */
  train?: boolean;
  /** Fetch and unpack the archive into root when the files are not there. */
  download?: boolean;
  /** Applied by get(); the DataLoader then uses it per image too. */
  transform?: TransformLike;
  /** Keep only the first `limit` images (all if there are fewer). */
  limit?: number;
  /** Download source; $TORCHBRIDGE_CIFAR10_URL, else the official archive, by default. Only with download: true. */
  url?: string;
  /** Expected MD5 of the archive (hex); the official archive's by default. Only with download: true. */
  md5?: string;
  /** Where download progress goes; null for none. process.stderr by default. */
  progress?: NodeJS.WritableStream | null;
  /** Status lines such as 'Files already downloaded and verified'; console.log by default. */
  log?: (line: string) => void;
}

interface Loaded {
  root: string;
  train: boolean;
  classes: string[];
  images: Uint8Array;
  labels: Uint8Array;
  transform?: TransformLike;
}

/**
 * The CIFAR-10 dataset (60,000 32x32 colour images in 10 classes), as `torchvision.datasets.CIFAR10`,
 * read from the official binary files (cifar-10-batches-bin/) and kept in memory as uint8 (40,000
 * images take 123 MB). Every file is checked before anything is returned. Feed it to a {@link DataLoader}.
 */
export class CIFAR10 extends StoredImageDataset {
  /** The absolute folder that holds cifar-10-batches-bin/. */
  readonly root: string;
  /** Whether this is the training split (data_batch_1..5) or the test split (test_batch). */
  readonly train: boolean;
  /** Class names from batches.meta.txt, by label. */
  declare readonly classes: string[];
  /** All images, [N, 3, 32, 32] CHW uint8. */
  declare readonly images: Uint8Array;
  /** One label (0-9) per image. */
  declare readonly labels: Uint8Array;

  /** @internal Use CIFAR10.create(), which reads and checks the files. */
  constructor(loaded: Loaded) {
    super({ classes: loaded.classes, images: loaded.images, labels: loaded.labels, imageShape: [3, 32, 32], transform: loaded.transform });
    this.root = loaded.root;
    this.train = loaded.train;
  }

  /**
   * Reads (and with download: true, first fetches) the train or test split. Throws an Error that
   * says where the files should be and how to get them when they are missing, and names any file
   * that is truncated, empty or has a label above 9; a TypeError for a bad option.
   */
  static async create(options: CIFAR10Options): Promise<CIFAR10> {
    const o = v.options(options, 'options', ['root', 'train', 'download', 'transform', 'limit', 'url', 'md5', 'progress', 'log']);
    const root = path.resolve(v.string(o.root, 'root'));
    const train = o.train === undefined ? true : v.boolean(o.train, 'train');
    const download = o.download === undefined ? false : v.boolean(o.download, 'download');
    const limit = o.limit === undefined ? Infinity : v.integer(o.limit, 'limit', 1);
    if (o.transform !== undefined && typeof o.transform !== 'function' && typeof (o.transform as { call?: unknown })?.call !== 'function') {
      throw v.invalid('transform (an object with call(img) or a function)', 'transform', o.transform);
    }
    if (download) {
      await downloadCIFAR10(root, { url: o.url, md5: o.md5, progress: o.progress, log: o.log } as DownloadOptions);
    } else if (o.url !== undefined || o.md5 !== undefined) {
      throw new TypeError('The url and md5 options only apply with download: true');
    }
    const { classes, images, labels } = await readSplit(path.join(root, BASE_FOLDER), train ? TRAIN_FILES : TEST_FILES, limit, root);
    return new CIFAR10({ root, train, classes, images, labels, transform: o.transform as TransformLike | undefined });
  }

  /** Same as create(). */
  static load(options: CIFAR10Options): Promise<CIFAR10> {
    return CIFAR10.create(options);
  }

  /** The first `count` images as a new dataset (copies, so this one can be freed). */
  subset(count: number): CIFAR10 {
    const n = Math.min(v.integer(count, 'count', 1), this.length);
    return new CIFAR10({
      root: this.root, train: this.train, classes: this.classes.slice(), transform: this.transform,
      images: this.images.slice(0, n * IMAGE_BYTES), labels: this.labels.slice(0, n),
    });
  }

  /** torchvision's summary text: number of datapoints, root and split. */
  toString(): string {
    return `Dataset CIFAR10\n    Number of datapoints: ${this.length}\n    Root location: ${this.root}\n    Split: ${this.train ? 'Train' : 'Test'}`;
  }
}

/** Reads class names: one per line, blank lines ignored. */
async function readClasses(file: string): Promise<string[]> {
  const names = (await fs.promises.readFile(file, 'utf8')).split(/\r?\n/).map((s) => s.trim()).filter((s) => s.length > 0);
  if (names.length !== NUM_CLASSES) {
    throw new Error(`CIFAR-10 file ${file} lists ${names.length} class names; expected ${NUM_CLASSES}, one per line`);
  }
  return names;
}

/**
 * Reads and checks every file of a split, then returns the first `limit` records.
 * Throws before returning anything if any file is missing, empty, mis-sized or
 * has a label above 9.
 */
export async function readSplit(dir: string, files: readonly string[], limit: number, root: string): Promise<{
  classes: string[]; images: Uint8Array; labels: Uint8Array;
}> {
  const { missing, bad } = fileProblems(dir, [...files, META_FILE]);
  if (missing.length > 0) {
    const what = !fs.existsSync(dir) ? `CIFAR-10 folder not found: ${dir}`
      : missing.length === 1 ? `CIFAR-10 file not found: ${path.join(dir, missing[0])}`
      : `CIFAR-10 files not found in ${dir}${path.sep}: ${missing.join(', ')}`;
    throw new Error(`${what}. ${placementHelp(root)}`);
  }
  if (bad.length > 0) throw new Error(`CIFAR-10 file ${bad[0]}${bad.length > 1 ? ` (and: ${bad.slice(1).join('; ')})` : ''}`);
  const classes = await readClasses(path.join(dir, META_FILE));

  const sizes = files.map((f) => fs.statSync(path.join(dir, f)).size);
  const total = sizes.reduce((a, b) => a + b, 0) / RECORD_BYTES;
  const n = Math.min(total, limit);
  const images = new Uint8Array(n * IMAGE_BYTES);
  const labels = new Uint8Array(n);
  let at = 0;
  for (let f = 0; f < files.length; f++) {
    const file = path.join(dir, files[f]);
    const buf = await fs.promises.readFile(file);
    // The file may have changed since it was sized.
    const problem = sizeProblem(buf.length);
    if (problem || buf.length !== sizes[f]) throw new Error(`CIFAR-10 file ${file} ${problem ?? 'changed size while it was being read'}`);
    const records = buf.length / RECORD_BYTES;
    for (let r = 0; r < records; r++) {
      const label = buf[r * RECORD_BYTES];
      if (label >= NUM_CLASSES) {
        throw new Error(
          `CIFAR-10 file ${file}: record ${r} (byte offset ${r * RECORD_BYTES}) has label ${label}; labels must be 0 to ${NUM_CLASSES - 1}. ` +
            'The file is corrupt or not a CIFAR-10 binary batch (CIFAR-100 records have 2 label bytes)',
        );
      }
      // Labels of every record are checked; pixels are kept only up to the limit.
      if (at < n) {
        labels[at] = label;
        images.set(buf.subarray(r * RECORD_BYTES + 1, (r + 1) * RECORD_BYTES), at * IMAGE_BYTES);
        at++;
      }
    }
  }
  return { classes, images, labels };
}
