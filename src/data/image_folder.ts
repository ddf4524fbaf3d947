// ImageFolder: a user's images in torchvision's layout, root/<class>/<image>,
// decoded once with sharp into a uint8 [N, 3, S, S] store that lives in the cache
// folder with a manifest (each file's relative path, size and mtime). A later load
// decodes only the files whose size or time changed, and never uses a stale row.
//
// Cache files: <cacheDir>/<key>/manifest.json and the store it names,
// images-<id>.u8. The store is written first, under a new name, then the manifest
// (each to a temporary name, then renamed), so a crash at any point leaves either
// the old pair or the new one, never a manifest naming a half-written store.
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { writeFileAtomic } from '../files';
import { cacheDir as userCacheDir } from '../paths';
import * as v from '../validate';
import { StoredImageDataset } from './dataset';
import { decodeSquare, DecodeFailure, IMAGE_EXTENSIONS, oneLine } from './decode';
import { TransformLike } from './transforms';

/** Options of {@link ImageFolder.load}. */
export interface ImageFolderOptions {
  /** Side of the square images, in pixels (32). Each image's shorter side is scaled to it and the centre cropped. */
  imageSize?: number;
  /** Leave out images that cannot be read or decoded (listed in `skipped`) instead of failing. */
  skipBad?: boolean;
  /** Where decoded stores are kept: by default `imagefolder/` in the user cache (TORCHBRIDGE_CACHE, ~/.cache/torchbridge). */
  cacheDir?: string;
  /** Called as images are decoded: `done` of `total` files to decode this time (not called when nothing needs decoding). */
  onProgress?: (done: number, total: number) => void;
  /** Applied by get(); the DataLoader then uses it per image too. */
  transform?: TransformLike;
}

/** One image of an {@link ImageFolder}, as torchvision's `samples` entries. */
export interface FolderSample {
  /** Absolute path of the file. */
  path: string;
  /** Its class index. */
  label: number;
}

/** An image left out by `skipBad`, and why. */
export interface SkippedImage {
  /** Absolute path of the file. */
  path: string;
  /** sharp's message, or why the file could not be read. */
  reason: string;
}

interface ManifestEntry {
  path: string; // relative to root, '/'-separated
  size: number;
  mtimeMs: number;
  row: number | null; // row in the store, or null for a file that failed to decode
  error?: string;
}

interface Manifest {
  format: string;
  root: string;
  imageSize: number;
  store: string;
  rows: number;
  entries: ManifestEntry[];
}

const MANIFEST_FORMAT = 'torchbridge-imagefolder-1';
const MANIFEST = 'manifest.json';
// Files decoded at once: sharp runs each on libuv's pool (4 threads by default).
const PARALLEL = 4;

interface Found {
  rel: string;
  abs: string;
  label: number;
  size: number;
  mtimeMs: number;
}

/** Whether `p` is a folder, following symbolic links (as torchvision's scandir + is_dir does). */
function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** Image files under `dir`, at any depth, as paths relative to it, sorted. */
function listImages(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    const abs = path.join(dir, e.name);
    if (e.isDirectory() || (e.isSymbolicLink() && isDir(abs))) out.push(...listImages(abs, rel));
    else if (IMAGE_EXTENSIONS.includes(path.extname(e.name).toLowerCase())) out.push(rel);
  }
  return out.sort();
}

/** The cached manifest and store of a folder, or null when there is none that is whole. */
function readCache(dir: string, root: string, imageSize: number, rowBytes: number): { manifest: Manifest; store: Buffer } | null {
  try {
    const m = JSON.parse(fs.readFileSync(path.join(dir, MANIFEST), 'utf8')) as Manifest;
    if (m.format !== MANIFEST_FORMAT || m.root !== root || m.imageSize !== imageSize || !Array.isArray(m.entries) || !/^images-[0-9a-f]+\.u8$/.test(m.store)) return null;
    const store = fs.readFileSync(path.join(dir, m.store));
    if (store.length !== m.rows * rowBytes) return null;
    return { manifest: m, store };
  } catch {
    return null;
  }
}

/**
 * Images in torchvision's `ImageFolder` layout, `root/<class>/<image>`: one folder per class
 * (classes are the folder names, sorted; labels are their positions), PNG, JPEG and WebP files
 * at any depth under it (sorted; other files are ignored). Every image is decoded with sharp to
 * RGB, its shorter side scaled to `imageSize` and the centre cropped (torchvision's Resize +
 * CenterCrop), and kept as one uint8 [N, 3, imageSize, imageSize] store, so a {@link DataLoader}
 * augments batches of it on the device exactly as it does CIFAR-10's.
 *
 * ```ts
 * const ds = await ImageFolder.load('photos', { imageSize: 64, skipBad: true });
 * ds.classes; // ['cats', 'dogs']
 * const loader = new DataLoader(ds, { batchSize: 32, shuffle: true, augment: { flip: true, ...channelStats(ds) } });
 * ```
 */
export class ImageFolder extends StoredImageDataset {
  /** The absolute root folder. */
  readonly root: string;
  /** Side of the square images. */
  readonly imageSize: number;
  /** Class name to label, as torchvision's `class_to_idx`. */
  readonly classToIdx: Readonly<Record<string, number>>;
  /** Each image's absolute path and label, in dataset order, as torchvision's `samples`. */
  readonly samples: readonly FolderSample[];
  /** Images left out with `skipBad`, and why; empty otherwise. */
  readonly skipped: readonly SkippedImage[];
  /** Files decoded by this load (the others came from the cache). */
  readonly decoded: number;
  /** The cache folder of this root and image size. */
  readonly cacheFolder: string;

  private constructor(o: {
    root: string; imageSize: number; classes: string[]; images: Uint8Array; labels: Int32Array; samples: FolderSample[];
    skipped: SkippedImage[]; decoded: number; cacheFolder: string; transform?: TransformLike;
  }) {
    super({ classes: o.classes, images: o.images, labels: o.labels, imageShape: [3, o.imageSize, o.imageSize], transform: o.transform });
    this.root = o.root;
    this.imageSize = o.imageSize;
    this.classToIdx = Object.freeze(Object.fromEntries(o.classes.map((c, i) => [c, i])));
    this.samples = Object.freeze(o.samples);
    this.skipped = Object.freeze(o.skipped);
    this.decoded = o.decoded;
    this.cacheFolder = o.cacheFolder;
  }

  /**
   * Finds, decodes (or takes from the cache) and returns the images under `root`. Rejects with an
   * Error when root is missing or not a folder, holds no class folders, or a class holds no images;
   * when an image cannot be read or decoded, the Error names each such file with sharp's message
   * (unless `skipBad`: then they are left out and listed in `skipped`). One class is allowed.
   * A TypeError for a bad option. The decoded images are cached even when the load then fails.
   */
  static async load(root: string, options: ImageFolderOptions = {}): Promise<ImageFolder> {
    const abs = path.resolve(v.string(root, 'root'));
    const o = v.options(options, 'options', ['imageSize', 'skipBad', 'cacheDir', 'onProgress', 'transform']);
    const imageSize = o.imageSize === undefined ? 32 : v.integer(o.imageSize, 'imageSize', 1, 4096);
    const skipBad = o.skipBad === undefined ? false : v.boolean(o.skipBad, 'skipBad');
    const base = o.cacheDir === undefined ? path.join(userCacheDir(), 'imagefolder') : path.resolve(v.string(o.cacheDir, 'cacheDir'));
    if (o.onProgress !== undefined && typeof o.onProgress !== 'function') throw v.invalid('function', 'onProgress', o.onProgress);
    if (o.transform !== undefined && typeof o.transform !== 'function' && typeof (o.transform as { call?: unknown })?.call !== 'function') {
      throw v.invalid('transform (an object with call(img) or a function)', 'transform', o.transform);
    }
    const onProgress = o.onProgress as ImageFolderOptions['onProgress'];

    const { classes, files } = scan(abs);
    const rowBytes = 3 * imageSize * imageSize;
    const key = createHash('sha256').update(`${abs}\n${imageSize}`).digest('hex').slice(0, 24);
    const cacheFolder = path.join(base, key);
    const cached = readCache(cacheFolder, abs, imageSize, rowBytes);
    const before = new Map(cached?.manifest.entries.map((e) => [e.path, e]) ?? []);

    // Each file: its pixels from the old store when its size and time are unchanged, else decoded now.
    const pixels: (Uint8Array | null)[] = new Array(files.length).fill(null);
    const errors: (string | null)[] = new Array(files.length).fill(null);
    const todo: number[] = [];
    files.forEach((f, i) => {
      const e = before.get(f.rel);
      if (cached && e && e.size === f.size && e.mtimeMs === f.mtimeMs && (e.row === null ? typeof e.error === 'string' : v.isInteger(e.row) && e.row < cached.manifest.rows)) {
        if (e.row === null) errors[i] = e.error as string;
        else pixels[i] = cached.store.subarray(e.row * rowBytes, (e.row + 1) * rowBytes);
      } else {
        todo.push(i);
      }
    });
    let done = 0;
    const next = { at: 0 };
    const worker = async () => {
      while (next.at < todo.length) {
        const i = todo[next.at++];
        try {
          pixels[i] = await decodeSquare(await fs.promises.readFile(files[i].abs), imageSize);
        } catch (e) {
          errors[i] = e instanceof DecodeFailure ? e.message : `cannot read it: ${oneLine(e)}`;
        }
        done += 1;
        onProgress?.(done, todo.length);
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL, todo.length) }, worker));

    // The new store: the good images in dataset order.
    const good = files.map((_, i) => i).filter((i) => pixels[i] !== null);
    const images = new Uint8Array(good.length * rowBytes);
    good.forEach((i, row) => images.set(pixels[i] as Uint8Array, row * rowBytes));
    const changed = !cached || todo.length > 0 || before.size !== files.length;
    if (changed) {
      let row = 0;
      const entries: ManifestEntry[] = files.map((f, i) => ({
        path: f.rel, size: f.size, mtimeMs: f.mtimeMs, row: pixels[i] !== null ? row++ : null, ...(errors[i] !== null ? { error: errors[i] as string } : {}),
      }));
      await writeCache(cacheFolder, { format: MANIFEST_FORMAT, root: abs, imageSize, store: '', rows: good.length, entries }, images);
    }

    const bad = files.map((f, i) => ({ path: f.abs, reason: errors[i] })).filter((b): b is SkippedImage => b.reason !== null);
    if (bad.length > 0 && !skipBad) {
      const list = bad.slice(0, 5).map((b) => `${b.path}: ${b.reason}`).join('; ');
      throw new Error(
        `Cannot decode ${bad.length} of ${files.length} images in ${abs}: ${list}${bad.length > 5 ? `; and ${bad.length - 5} more` : ''}. ` +
          'Fix or remove them, or pass skipBad (--skip-bad) to leave them out',
      );
    }
    if (good.length === 0) throw new Error(`None of the ${files.length} images in ${abs} could be decoded (first: ${bad[0].path}: ${bad[0].reason})`);
    return new ImageFolder({
      root: abs, imageSize, classes, images, labels: Int32Array.from(good, (i) => files[i].label),
      samples: good.map((i) => ({ path: files[i].abs, label: files[i].label })), skipped: bad, decoded: todo.length, cacheFolder,
      transform: o.transform as TransformLike | undefined,
    });
  }

  /** torchvision's summary text: number of datapoints and root. */
  toString(): string {
    return `Dataset ImageFolder\n    Number of datapoints: ${this.length}\n    Root location: ${this.root}`;
  }
}

/** The class folders and image files under root, with sizes and times; throws for a layout that is not torchvision's. */
function scan(root: string): { classes: string[]; files: Found[] } {
  let st: fs.Stats;
  try {
    st = fs.statSync(root);
  } catch {
    throw new Error(`Image folder not found: ${root}. Expected one folder per class holding its images (${path.join(root, '<class>', '<image>.png')})`);
  }
  if (!st.isDirectory()) throw new Error(`Image folder ${root} is not a folder. Expected one folder per class holding its images (${path.join(root, '<class>', '<image>.png')})`);
  const classes = fs.readdirSync(root).filter((n) => isDir(path.join(root, n))).sort();
  if (classes.length === 0) {
    throw new Error(`Found no class folders in ${root}: expected one folder per class holding its images (${path.join(root, '<class>', '<image>.png')}), as torchvision's ImageFolder`);
  }
  const files: Found[] = [];
  const empty: string[] = [];
  classes.forEach((c, label) => {
    const rels = listImages(path.join(root, c));
    if (rels.length === 0) empty.push(c);
    for (const r of rels) {
      const rel = `${c}/${r}`;
      const abs = path.join(root, ...rel.split('/'));
      const s = fs.statSync(abs);
      files.push({ rel, abs, label, size: s.size, mtimeMs: s.mtimeMs });
    }
  });
  if (empty.length > 0) {
    throw new Error(
      `Found no images for class${empty.length > 1 ? 'es' : ''} ${empty.join(', ')} in ${root}: every class folder needs at least one ` +
        `image, with one of the extensions ${IMAGE_EXTENSIONS.join(', ')} (other files are ignored)`,
    );
  }
  return { classes, files };
}

/** Writes a new store, then the manifest naming it, then removes older stores. */
async function writeCache(dir: string, manifest: Manifest, images: Uint8Array): Promise<void> {
  await fs.promises.mkdir(dir, { recursive: true });
  const store = `images-${randomBytes(8).toString('hex')}.u8`;
  await writeFileAtomic(path.join(dir, store), images);
  await writeFileAtomic(path.join(dir, MANIFEST), JSON.stringify({ ...manifest, store }));
  for (const f of await fs.promises.readdir(dir)) {
    if (f !== store && /^images-[0-9a-f]+\.u8(\.tmp-.*)?$/.test(f)) await fs.promises.rm(path.join(dir, f), { force: true });
  }
}
