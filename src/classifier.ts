// Classifier: trained CIFAR-10 AlexNet weights that label images.
//
// Images (PNG, JPEG, WebP) are decoded with sharp, which is loaded on first use so
// that programs which never decode an image never load libvips. They are scaled to
// the model's 32x32 input and normalised by the same native call the DataLoader
// makes for a test batch, so a lossless picture of a CIFAR-10 test image gets the
// logits `torchbridge test` computes for it.
import * as fs from 'node:fs';
import { CIFAR10_MEAN, CIFAR10_STD } from './data/dataloader';
import { CIFAR10_CLASSES } from './data/layout';
import { checkDevice } from './device';
import { AlexNetModel } from './models/alexnet';
import { addon } from './native';
import { tensor, Tensor, tidy } from './tensor';
import { loadWeights } from './train/checkpoint';
import * as v from './validate';

/** One class of a prediction. */
export interface Prediction {
  /** The class name, e.g. 'cat'. */
  label: string;
  /** The class index: CIFAR-10's label, 0 to 9. */
  index: number;
  /** The softmax probability of the class, 0 to 1. */
  probability: number;
}

/** An image: a file path, or the encoded bytes of a PNG, JPEG or WebP file (a Buffer or Uint8Array). */
export type ImageInput = string | Uint8Array;

/** Options of Classifier.load(). */
export interface ClassifierOptions {
  /** Where the model runs: 'cpu' (the default), 'cuda', 'cuda:1', 'npu', ... */
  device?: string;
}

/** Options of Classifier.predict(). */
export interface PredictOptions {
  /** How many classes to return, best first: 1 to 10 (default 5). */
  topk?: number;
}

/** Options of Classifier.predictBatch(). */
export interface PredictBatchOptions extends PredictOptions {
  /** Images per forward pass (default 64). */
  batchSize?: number;
}

/** An image that could not be read or decoded. The message names the image and says what was expected. */
export class ImageError extends Error {
  /** The image's file path, or a description of a Buffer input such as 'images[1] (Buffer, 512 bytes)'. */
  readonly image: string;

  /** @internal */
  constructor(message: string, image: string) {
    super(message);
    this.name = 'ImageError';
    this.image = image;
  }
}

const SIZE = 32;
const FORMATS = ['png', 'jpeg', 'webp'];
const EXPECTED = 'expected a PNG, JPEG or WebP image';
const DEFAULT_TOPK = 5;
const DEFAULT_BATCH = 64;

type Sharp = typeof import('sharp').default;
let sharpModule: Sharp | undefined;
function sharp(): Sharp {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  return (sharpModule ??= require('sharp') as Sharp);
}

/** libvips' messages can span lines and repeat them; one line of each is enough. */
function oneLine(e: unknown): string {
  const lines = String((e as Error)?.message ?? e).split('\n').map((l) => l.trim()).filter(Boolean);
  return [...new Set(lines)].join('; ');
}

/** How an image is named in errors: its path, or which Buffer it is. */
function describeImage(image: ImageInput, name: string | null): { id: string; phrase: string } {
  if (typeof image === 'string') return { id: image, phrase: `image ${image}` };
  const type = Buffer.isBuffer(image) ? 'Buffer' : 'Uint8Array';
  return name === null
    ? { id: `${type} (${image.length} bytes)`, phrase: `the image ${type} (${image.length} bytes)` }
    : { id: `${name} (${type}, ${image.length} bytes)`, phrase: `${name} (a ${type} of ${image.length} bytes)` };
}

function checkInput(image: unknown, name: string): ImageInput {
  if ((typeof image === 'string' && image.length > 0) || image instanceof Uint8Array) return image;
  throw v.invalid('file path or Buffer', name, image);
}

/** Reads and decodes one image to 32x32 RGB, interleaved (HWC) bytes. */
async function decode(image: ImageInput, name: string | null): Promise<Uint8Array> {
  const { id, phrase } = describeImage(image, name);
  let bytes: Uint8Array;
  if (typeof image === 'string') {
    try {
      bytes = await fs.promises.readFile(image);
    } catch (e) {
      throw new ImageError(`Cannot read ${phrase}: ${oneLine(e)}`, id);
    }
  } else {
    bytes = image;
  }
  let format: string | undefined;
  try {
    format = (await sharp()(bytes).metadata()).format;
  } catch (e) {
    throw new ImageError(`Cannot decode ${phrase}: ${oneLine(e)}; ${EXPECTED}`, id);
  }
  // sharp reads more (SVG, TIFF, GIF, ...); keep to the formats promised, a smaller surface for a service.
  if (format === undefined || !FORMATS.includes(format)) {
    throw new ImageError(`Cannot decode ${phrase}: it is ${format ? `a ${format.toUpperCase()} image` : 'in an unknown format'}; ${EXPECTED}`, id);
  }
  try {
    // Upright as the camera meant it, alpha dropped, sRGB, and scaled to cover 32x32
    // (the centre kept when the aspect ratio differs). A 32x32 image passes through unchanged.
    const { data, info } = await sharp()(bytes).autoOrient().removeAlpha().toColourspace('srgb')
      .resize(SIZE, SIZE, { fit: 'cover' }).raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== 3 || info.width !== SIZE || info.height !== SIZE || data.length !== 3 * SIZE * SIZE) {
      throw new Error(`decoded to ${info.width}x${info.height} with ${info.channels} channels, not 32x32 RGB`);
    }
    return data;
  } catch (e) {
    throw new ImageError(`Cannot decode ${phrase}: ${oneLine(e)}; ${EXPECTED}`, id);
  }
}

/**
 * Trained CIFAR-10 AlexNet weights, ready to label images.
 *
 * ```ts
 * const clf = await Classifier.load('alexnet.pt', { device: 'cpu' });
 * const top = await clf.predict('cat.png', { topk: 3 }); // [{ label: 'cat', index: 3, probability: 0.87 }, ...]
 * clf.dispose();
 * ```
 */
export class Classifier {
  /** The checkpoint file the weights came from. */
  readonly file: string;
  /** The device the model runs on. */
  readonly device: string;
  /** Class names by index. */
  readonly classes: readonly string[] = CIFAR10_CLASSES;
  /** The model's input: 3 x 32 x 32. Larger and smaller images are scaled to cover it. */
  readonly inputSize: readonly [number, number, number] = [3, SIZE, SIZE];
  /** Per-channel mean the inputs are normalised with: training's (CIFAR10_MEAN). */
  readonly mean: readonly number[] = CIFAR10_MEAN;
  /** Per-channel std the inputs are normalised with: training's (CIFAR10_STD). */
  readonly std: readonly number[] = CIFAR10_STD;
  private model: AlexNetModel | null;
  // Calls in progress, and the model of a dispose() that came during one: freed when the last ends.
  private running = 0;
  private disposeWhenIdle: AlexNetModel | null = null;

  private constructor(model: AlexNetModel, file: string, device: string) {
    this.model = model;
    this.file = file;
    this.device = device;
  }

  /**
   * Loads weights for the reference CIFAR-10 AlexNet: a state dict (as `torchbridge
   * train --checkpoint` or Python's torch.save(model.state_dict()) writes), a
   * training checkpoint from --checkpoint-dir, or a file whose name ends in
   * .safetensors. A file for another model is refused with an Error naming the
   * file and the tensors that do not fit.
   */
  static async load(file: string, options: ClassifierOptions = {}): Promise<Classifier> {
    v.string(file, 'file');
    const o = v.options(options, 'options', ['device']);
    const device = o.device === undefined ? 'cpu' : checkDevice(o.device, 'device');
    // The new model draws initial weights from the global generator; restore its
    // state so that loading weights does not change a seeded program's random numbers.
    const rng = addon.getRngState();
    let model: AlexNetModel;
    try {
      model = new AlexNetModel();
    } finally {
      addon.setRngState(rng);
      rng.dispose();
    }
    try {
      await loadWeights(model, file);
      model.to(device).eval();
    } catch (e) {
      model.dispose();
      throw e;
    }
    return new Classifier(model, file, device);
  }

  /** True once dispose() has been called. */
  get isDisposed(): boolean {
    return this.model === null;
  }

  /**
   * The top `topk` classes of one image (a file path or its bytes), best first. A file
   * that cannot be read or decoded rejects with an ImageError naming it.
   */
  async predict(image: ImageInput, options: PredictOptions = {}): Promise<Prediction[]> {
    checkInput(image, 'image');
    const topk = this.topk(v.options(options, 'options', ['topk']).topk);
    const [result] = await this.run([image], topk, 1, true, false);
    return result as Prediction[];
  }

  /**
   * The top classes of each image, one array per image in input order. Images are
   * decoded in parallel and classified `batchSize` at a time; the first image that
   * cannot be read or decoded rejects the whole call with an ImageError naming it.
   */
  async predictBatch(images: ImageInput[], options: PredictBatchOptions = {}): Promise<Prediction[][]> {
    const { topk, batchSize } = this.batchArgs(images, options);
    return (await this.run(images, topk, batchSize, true, true)) as Prediction[][];
  }

  /**
   * @internal predictBatch that keeps going past bad images: each is an ImageError in
   * its place. For the CLI, which reports them and prints the rest.
   */
  async predictSettled(images: ImageInput[], options: PredictBatchOptions = {}): Promise<(Prediction[] | ImageError)[]> {
    const { topk, batchSize } = this.batchArgs(images, options);
    return this.run(images, topk, batchSize, false, true);
  }

  /** Frees the model's weights; later calls throw. Calls already running finish first. Idempotent. */
  dispose(): void {
    const model = this.model;
    this.model = null;
    if (model && this.running === 0) model.dispose();
    else if (model) this.disposeWhenIdle = model;
  }

  /** `Classifier(file, device=cpu)`, with `, disposed` once disposed. */
  toString(): string {
    return `Classifier(${this.file}, device=${this.device}${this.isDisposed ? ', disposed' : ''})`;
  }

  private topk(value: unknown): number {
    return value === undefined ? DEFAULT_TOPK : v.integer(value, 'topk', 1, this.classes.length);
  }

  private batchArgs(images: unknown, options: unknown): { topk: number; batchSize: number } {
    if (!Array.isArray(images)) throw v.invalid('array of file paths or Buffers', 'images', images);
    images.forEach((image, i) => checkInput(image, `images[${i}]`));
    const o = v.options(options, 'options', ['topk', 'batchSize']);
    return { topk: this.topk(o.topk), batchSize: o.batchSize === undefined ? DEFAULT_BATCH : v.integer(o.batchSize, 'batchSize', 1) };
  }

  private alive(): AlexNetModel {
    if (this.model === null) throw new Error(`The Classifier of ${this.file} has been disposed; load another to predict`);
    return this.model;
  }

  /** Decodes and classifies batch by batch; bad images throw (failFast) or stand as ImageErrors. */
  private async run(images: ImageInput[], topk: number, batchSize: number, failFast: boolean, named: boolean): Promise<(Prediction[] | ImageError)[]> {
    // The model as the call starts: a dispose() meanwhile frees it only when the call ends.
    const model = this.alive();
    this.running += 1;
    try {
      const out: (Prediction[] | ImageError)[] = [];
      for (let start = 0; start < images.length; start += batchSize) {
        const chunk = images.slice(start, start + batchSize);
        const decoded = await Promise.allSettled(chunk.map((image, i) => decode(image, named ? `images[${start + i}]` : null)));
        const good: Uint8Array[] = [];
        for (const d of decoded) {
          if (d.status === 'fulfilled') good.push(d.value);
          else if (!(d.reason instanceof ImageError) || failFast) throw d.reason;
        }
        const ranked = good.length ? await this.classify(model, good, topk) : [];
        let next = 0;
        for (const d of decoded) out.push(d.status === 'fulfilled' ? ranked[next++] : (d.reason as ImageError));
      }
      return out;
    } finally {
      this.running -= 1;
      if (this.running === 0 && this.disposeWhenIdle) {
        this.disposeWhenIdle.dispose();
        this.disposeWhenIdle = null;
      }
    }
  }

  /** The ranked classes of decoded 32x32 HWC RGB images. */
  private async classify(model: AlexNetModel, images: Uint8Array[], topk: number): Promise<Prediction[][]> {
    const n = images.length;
    const plane = SIZE * SIZE;
    // HWC (sharp) to CHW (the dataset's layout).
    const chw = new Uint8Array(n * 3 * plane);
    images.forEach((hwc, i) => {
      for (let p = 0; p < plane; p++) for (let c = 0; c < 3; c++) chw[i * 3 * plane + c * plane + p] = hwc[p * 3 + c];
    });
    // The test DataLoader's own call: no crop, no flip, scale by 1/255, normalise.
    const none = new Int32Array(n);
    const x = tidy(() => {
      const bytes = tensor(chw, [n, 3, SIZE, SIZE], { device: this.device });
      return new Tensor(addon.augmentBatch(bytes.raw, Int32Array.from({ length: n }, (_, i) => i), none, none, none,
        this.mean.slice(), this.std.slice(), 0));
    });
    let logits: Tensor;
    try {
      logits = await this.forward(model, x);
    } finally {
      x.dispose();
    }
    let scores: Float32Array;
    let probs: Float32Array;
    try {
      scores = logits.data() as Float32Array;
      probs = tidy(() => logits.softmax(1).data() as Float32Array);
    } finally {
      logits.dispose();
    }
    const k = this.classes.length;
    return images.map((_, i) => {
      // Ranked by logit, not probability: softmax can round two close logits to one
      // float32 probability, and the logits' order is the one argmax (and `test`) uses.
      const order = Array.from({ length: k }, (_, c) => c).sort((a, b) => scores[i * k + b] - scores[i * k + a] || a - b);
      return order.slice(0, topk).map((c) => ({ label: this.classes[c], index: c, probability: probs[i * k + c] }));
    });
  }

  /** The model's logits for a normalised batch: the one place the model runs, on a native worker thread. */
  private async forward(model: AlexNetModel, x: Tensor): Promise<Tensor> {
    return model.forwardAsync(x);
  }
}
