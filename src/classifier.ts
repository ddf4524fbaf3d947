// Classifier: trained AlexNet weights that label images.
//
// Images (PNG, JPEG, WebP) are decoded with sharp by the decoder ImageFolder uses
// (data/decode.ts). They are scaled to the model's input size and normalised by
// the same native call the DataLoader makes for a test batch, so a lossless picture
// of a CIFAR-10 test image gets the logits `torchbridge test` computes for it.
// Classes, normalisation, input size and model layout come from what the weights
// file records (see train/trained_on.ts); files without a record are CIFAR-10's.
import * as fs from 'node:fs';
import { decodeSquare, DecodeFailure, EXPECTED_FORMATS, oneLine } from './data/decode';
import { checkDevice } from './device';
import { addon } from './native';
import { Module } from './nn/module';
import { tensor, Tensor, tidy } from './tensor';
import { openWeights } from './train/checkpoint';
import { buildModel, CIFAR10_TRAINED_ON, TrainedOn } from './train/trained_on';
import * as v from './validate';

/** One class of a prediction. */
export interface Prediction {
  /** The class name, e.g. 'cat'. */
  label: string;
  /** The class index: the model's output, e.g. CIFAR-10's label 0 to 9. */
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
  /**
   * Score each image by the mean of its logits and its mirror image's, as the fast recipe
   * tests (`recipeTestTimeFlip.fast`; `torchbridge test --recipe fast`). Default false: the
   * image alone, as the reference recipe tests. Twice the compute per image.
   */
  testTimeFlip?: boolean;
}

/** Options of Classifier.predict(). */
export interface PredictOptions {
  /** How many classes to return, best first: 1 to the number of classes (default 5, or all when fewer). */
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

const DEFAULT_TOPK = 5;
const DEFAULT_BATCH = 64;

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

/** Reads and decodes one image to size x size RGB, CHW bytes. */
async function decode(image: ImageInput, name: string | null, size: number): Promise<Uint8Array> {
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
  try {
    return await decodeSquare(bytes, size);
  } catch (e) {
    if (!(e instanceof DecodeFailure)) throw e;
    throw new ImageError(`Cannot decode ${phrase}: ${e.message}; ${EXPECTED_FORMATS}`, id);
  }
}

/**
 * Trained AlexNet weights, ready to label images: the reference's CIFAR-10 model, or one that
 * `torchbridge train --dataset imagefolder` trained (its classes, normalisation, input size and
 * model layout are read from the weights file).
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
  /** Class names by index: the file's record, else CIFAR-10's. */
  readonly classes: readonly string[];
  /** The model's input, 3 x size x size (32 for CIFAR-10). Larger and smaller images are scaled to cover it. */
  readonly inputSize: readonly [number, number, number];
  /** Per-channel mean the inputs are normalised with: training's (CIFAR10_MEAN for CIFAR-10). */
  readonly mean: readonly number[];
  /** Per-channel std the inputs are normalised with: training's (CIFAR10_STD for CIFAR-10). */
  readonly std: readonly number[];
  /** Whether each image is scored with its mirror image (the load option). */
  readonly testTimeFlip: boolean;
  private model: Module | null;
  // Calls in progress, and the model of a dispose() that came during one: freed when the last ends.
  private running = 0;
  private disposeWhenIdle: Module | null = null;

  private constructor(model: Module, file: string, device: string, trainedOn: TrainedOn, testTimeFlip: boolean) {
    this.model = model;
    this.file = file;
    this.device = device;
    this.testTimeFlip = testTimeFlip;
    this.classes = Object.freeze(trainedOn.classes.slice());
    this.inputSize = Object.freeze([3, trainedOn.imageSize, trainedOn.imageSize]) as [number, number, number];
    this.mean = Object.freeze(trainedOn.mean.slice());
    this.std = Object.freeze(trainedOn.std.slice());
  }

  /**
   * Loads weights: a state dict (as `torchbridge train --checkpoint` or Python's
   * torch.save(model.state_dict()) writes), a training checkpoint from --checkpoint-dir,
   * or a file whose name ends in .safetensors. The model, classes, normalisation and
   * input size are what the file records (`torchbridge train --dataset imagefolder`
   * records them); a file without a record holds the reference CIFAR-10 AlexNet. A file
   * for another model is refused with an Error naming the file and the tensors that do not fit.
   */
  static async load(file: string, options: ClassifierOptions = {}): Promise<Classifier> {
    v.string(file, 'file');
    const o = v.options(options, 'options', ['device', 'testTimeFlip']);
    const device = o.device === undefined ? 'cpu' : checkDevice(o.device, 'device');
    const testTimeFlip = o.testTimeFlip === undefined ? false : v.boolean(o.testTimeFlip, 'testTimeFlip');
    // The new model draws initial weights from the global generator; restore its
    // state so that loading weights does not change a seeded program's random numbers.
    const weights = await openWeights(file);
    const trainedOn = weights.trainedOn ?? CIFAR10_TRAINED_ON;
    let model: Module;
    try {
      const rng = addon.getRngState();
      try {
        model = buildModel(trainedOn.model, trainedOn.classes.length);
      } finally {
        addon.setRngState(rng);
        rng.dispose();
      }
      try {
        weights.loadInto(model);
        model.to(device).eval();
      } catch (e) {
        model.dispose();
        throw e;
      }
    } finally {
      weights.release();
    }
    return new Classifier(model, file, device, trainedOn, testTimeFlip);
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

  /** `Classifier(file, device=cpu)`, with `, testTimeFlip` and `, disposed` when they apply. */
  toString(): string {
    return `Classifier(${this.file}, device=${this.device}${this.testTimeFlip ? ', testTimeFlip' : ''}${this.isDisposed ? ', disposed' : ''})`;
  }

  private topk(value: unknown): number {
    return value === undefined ? Math.min(DEFAULT_TOPK, this.classes.length) : v.integer(value, 'topk', 1, this.classes.length);
  }

  private batchArgs(images: unknown, options: unknown): { topk: number; batchSize: number } {
    if (!Array.isArray(images)) throw v.invalid('array of file paths or Buffers', 'images', images);
    images.forEach((image, i) => checkInput(image, `images[${i}]`));
    const o = v.options(options, 'options', ['topk', 'batchSize']);
    return { topk: this.topk(o.topk), batchSize: o.batchSize === undefined ? DEFAULT_BATCH : v.integer(o.batchSize, 'batchSize', 1) };
  }

  private alive(): Module {
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
        const decoded = await Promise.allSettled(chunk.map((image, i) => decode(image, named ? `images[${start + i}]` : null, this.inputSize[1])));
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

  /** The ranked classes of decoded CHW RGB images of the input size. */
  private async classify(model: Module, images: Uint8Array[], topk: number): Promise<Prediction[][]> {
    const n = images.length;
    const [, size] = this.inputSize;
    const chw = new Uint8Array(n * 3 * size * size);
    images.forEach((img, i) => chw.set(img, i * 3 * size * size));
    // The test DataLoader's own call: no crop, scale by 1/255, normalise; with testTimeFlip,
    // a second batch of the mirror images (flip 1), whose logits are averaged in as evaluate() does.
    const none = new Int32Array(n);
    const views = this.testTimeFlip ? [none, new Int32Array(n).fill(1)] : [none];
    const xs = tidy(() => {
      const bytes = tensor(chw, [n, 3, size, size], { device: this.device });
      const indices = Int32Array.from({ length: n }, (_, i) => i);
      return views.map((flips) => new Tensor(addon.augmentBatch(bytes.raw, indices, none, none, flips, this.mean.slice(), this.std.slice(), 0)));
    });
    let logits: Tensor;
    try {
      const outs: Tensor[] = [];
      try {
        for (const x of xs) outs.push(await this.forward(model, x));
        logits = outs.length === 1 ? (outs.pop() as Tensor) : tidy(() => outs[0].add(outs[1]).div(2));
      } finally {
        outs.forEach((o) => o.dispose());
      }
    } finally {
      xs.forEach((x) => x.dispose());
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
  private async forward(model: Module, x: Tensor): Promise<Tensor> {
    return model.forwardAsync(x);
  }
}
