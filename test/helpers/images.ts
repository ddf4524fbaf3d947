// Fixtures for the prediction tests: CIFAR-10 test images as image files, a
// CIFAR-10 folder made from given pixels, and quickly made AlexNet weights whose
// predictions depend on the image.
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { CIFAR10 } from '../../src/data/cifar10';
import { BASE_FOLDER, IMAGE_BYTES, META_FILE, TRAIN_FILES } from '../../src/data/layout';
import { AlexNetModel } from '../../src/models/alexnet';
import { manualSeed } from '../../src/runtime';
import { save } from '../../src/serialize';
import { noGrad, tidy } from '../../src/tensor';
import { devData } from './data';

/** The first `count` CIFAR-10 test images: CHW pixels and labels. */
export async function testImages(count: number): Promise<{ pixels: Uint8Array[]; labels: number[] }> {
  const ds = await CIFAR10.create({ root: devData, train: false, limit: count });
  return { pixels: Array.from({ length: ds.length }, (_, i) => ds.image(i).data as Uint8Array), labels: Array.from(ds.labels) };
}

/** CHW to the interleaved HWC layout image files use, and back. */
export function toHwc(chw: Uint8Array): Buffer {
  const out = Buffer.alloc(IMAGE_BYTES);
  for (let p = 0; p < 1024; p++) for (let c = 0; c < 3; c++) out[p * 3 + c] = chw[c * 1024 + p];
  return out;
}
export function toChw(hwc: Uint8Array): Uint8Array {
  const out = new Uint8Array(IMAGE_BYTES);
  for (let p = 0; p < 1024; p++) for (let c = 0; c < 3; c++) out[c * 1024 + p] = hwc[p * 3 + c];
  return out;
}

/** A 32x32 CHW image encoded as PNG, lossless WebP or JPEG (quality 100, no chroma subsampling: the closest JPEG gets). */
export function encode(chw: Uint8Array, format: 'png' | 'webp' | 'jpeg'): Promise<Buffer> {
  const img = sharp(toHwc(chw), { raw: { width: 32, height: 32, channels: 3 } });
  if (format === 'png') return img.png().toBuffer();
  if (format === 'webp') return img.webp({ lossless: true }).toBuffer();
  return img.jpeg({ quality: 100, chromaSubsampling: '4:4:4' }).toBuffer();
}

/** Decodes an image file's bytes to 32x32 CHW pixels, plainly (no resizing or colour handling). */
export async function decodePlain(bytes: Buffer): Promise<Uint8Array> {
  const { data, info } = await sharp(bytes).raw().toBuffer({ resolveWithObject: true });
  if (info.width !== 32 || info.height !== 32 || info.channels !== 3) throw new Error(`unexpected image ${JSON.stringify(info)}`);
  return toChw(data);
}

/**
 * A CIFAR-10 folder under `root` whose test split is these images: the training
 * files and class names link to the dev data (runTest reads them), test_batch.bin
 * is written here. Returns root, for `torchbridge test --data`.
 */
export function cifarFolder(root: string, pixels: Uint8Array[], labels: number[]): string {
  const dir = path.join(root, BASE_FOLDER);
  fs.mkdirSync(dir, { recursive: true });
  for (const f of [...TRAIN_FILES, META_FILE]) fs.symlinkSync(path.join(devData, BASE_FOLDER, f), path.join(dir, f));
  const records = Buffer.alloc(pixels.length * (1 + IMAGE_BYTES));
  pixels.forEach((p, i) => {
    records[i * (1 + IMAGE_BYTES)] = labels[i];
    records.set(p, i * (1 + IMAGE_BYTES) + 1);
  });
  fs.writeFileSync(path.join(dir, 'test_batch.bin'), records);
  return root;
}

/**
 * Untrained AlexNet weights from a seed, saved as `torchbridge train --checkpoint`
 * saves them, in a second instead of a training run. Biases are zeroed and weights
 * scaled by sqrt(6), from PyTorch's default init to He's: activations then keep
 * their size through the ReLUs, so the logits depend on the image (several classes
 * win, with margins well above float32 noise) instead of on the last bias.
 */
export async function saveSeededWeights(file: string, seed = 7): Promise<void> {
  manualSeed(seed);
  const model = new AlexNetModel();
  try {
    noGrad(() => {
      for (const [name, p] of model.namedParameters()) {
        tidy(() => {
          if (name.endsWith('bias')) p.zero_();
          else p.copy_(p.mul(Math.sqrt(6)));
        });
      }
    });
    const weights = model.stateDict();
    try {
      await save(weights, file);
    } finally {
      for (const t of Object.values(weights)) t.dispose();
    }
  } finally {
    model.dispose();
  }
}

/**
 * An image folder (root/<class>/<nnnnn>.png|.jpg) of the first `perClass` CIFAR-10 training
 * images of each named class, every `jpegEvery`-th one as JPEG (quality 100, 4:4:4), the rest
 * as PNG. Returns the files written, by class.
 */
export async function writeImageFolder(root: string, classes: string[], perClass: number, jpegEvery = 3): Promise<Record<string, string[]>> {
  const ds = await CIFAR10.create({ root: devData, train: true, log: () => {} });
  const written: Record<string, string[]> = {};
  try {
    for (const name of classes) {
      const label = ds.classes.indexOf(name);
      if (label < 0) throw new Error(`no CIFAR-10 class ${name}`);
      fs.mkdirSync(path.join(root, name), { recursive: true });
      written[name] = [];
      for (let i = 0; i < ds.length && written[name].length < perClass; i++) {
        if (ds.labels[i] !== label) continue;
        const n = written[name].length;
        const format = n % jpegEvery === jpegEvery - 1 ? 'jpeg' : 'png';
        const file = path.join(root, name, `${String(i).padStart(5, '0')}.${format === 'jpeg' ? 'jpg' : 'png'}`);
        fs.writeFileSync(file, await encode(ds.image(i).data as Uint8Array, format));
        written[name].push(file);
      }
    }
  } finally {
    ds.dispose();
  }
  return written;
}
