// Per-image transforms in the style of torchvision.transforms, on CHW images held in
// plain typed arrays. They are the readable reference for the batched native path in
// DataLoader: for the same random choices both give bit-identical float32 values.
//
// Random transforms draw from a Generator: the one passed to call(), else their own
// (seeded by the `seed` option, else randomly). Each records its last choice in
// `last` and has an apply() that takes the choice explicitly, so a run can be
// replayed here or in Python.
import { randomInt } from 'node:crypto';

import * as v from '../validate';
import { Generator } from './random';

/** A CHW image: data[c * height * width + y * width + x]. */
export interface Image {
  /** The values, channel by channel, each channel row-major. */
  data: Uint8Array | Float32Array;
  /** C, e.g. 3 for RGB. */
  channels: number;
  /** H in pixels. */
  height: number;
  /** W in pixels. */
  width: number;
}

/** A per-image transform, as a torchvision transform: `call()` returns a new image (or the input, unchanged). */
export interface Transform {
  /** Transforms `img`. Random transforms draw from `generator` when given, else from their own. */
  call(img: Image, generator?: Generator): Image;
}

/** A Transform object or a plain function of the image. */
export type TransformLike = Transform | ((img: Image, generator?: Generator) => Image);

/** Checks an image's shape against its data and returns it. */
export function checkImage(img: unknown, name = 'img'): Image {
  const o = v.object(img, name);
  if (!(o.data instanceof Uint8Array || o.data instanceof Float32Array)) throw v.invalid('Uint8Array or Float32Array', `${name}.data`, o.data);
  const c = v.integer(o.channels, `${name}.channels`, 1);
  const h = v.integer(o.height, `${name}.height`, 1);
  const w = v.integer(o.width, `${name}.width`, 1);
  if (o.data.length !== c * h * w) {
    throw new TypeError(`${name}.data has ${o.data.length} values but channels x height x width = ${c} x ${h} x ${w} = ${c * h * w}`);
  }
  return o as unknown as Image;
}

export function applyTransform(t: TransformLike, img: Image, generator?: Generator): Image {
  return typeof t === 'function' ? t(img, generator) : t.call(img, generator);
}

function checkTransform(t: unknown, name: string): TransformLike {
  if (typeof t === 'function') return t as TransformLike;
  if (typeof t === 'object' && t !== null && typeof (t as Transform).call === 'function') return t as Transform;
  throw v.invalid('transform (an object with call(img) or a function)', name, t);
}

function ownGenerator(o: Record<string, unknown>): Generator {
  if (o.generator !== undefined) {
    if (!(o.generator instanceof Generator)) throw v.invalid('Generator', 'generator', o.generator);
    return o.generator;
  }
  // Unseeded transforms should differ between runs, as torchvision's do.
  return new Generator(o.seed === undefined ? randomInt(2 ** 48 - 1) : v.integer(o.seed, 'seed', 0));
}

function like(data: Uint8Array | Float32Array, n: number): Uint8Array | Float32Array {
  return data instanceof Uint8Array ? new Uint8Array(n) : new Float32Array(n);
}

/** Applies transforms in order, passing the same generator to each, as `torchvision.transforms.Compose`. */
export class Compose implements Transform {
  /** The transforms, in the order they run. */
  readonly transforms: TransformLike[];

  constructor(transforms: TransformLike[]) {
    if (!Array.isArray(transforms)) throw v.invalid('array of transforms', 'transforms', transforms);
    this.transforms = transforms.map((t, i) => checkTransform(t, `transforms[${i}]`));
  }

  /** Runs each transform on the output of the previous one. */
  call(img: Image, generator?: Generator): Image {
    let out = img;
    for (const t of this.transforms) out = applyTransform(t, out, generator);
    return out;
  }

  /** The transforms' repr text, one per line, as torchvision's. */
  toString(): string {
    return `Compose(\n${this.transforms.map((t) => `    ${String(t)}`).join('\n')}\n)`;
  }
}

/** Options of {@link RandomCrop}. */
export interface RandomCropOptions {
  /** Zero padding added on every side before cropping (an int, as the reference uses). */
  padding?: number;
  /** Value of the padded pixels. */
  fill?: number;
  /** Seed of the transform's own generator; random when omitted (ignored with `generator`). */
  seed?: number;
  /** A generator to draw from instead of an own one (shared with other transforms, for replay). */
  generator?: Generator;
}

/**
 * Pads, then crops a size x size (or [h, w]) window at a random position, as
 * `torchvision.transforms.RandomCrop(size, padding)`. Throws a RangeError when the crop is larger
 * than the padded image.
 */
export class RandomCrop implements Transform {
  /** Crop height. */
  readonly height: number;
  /** Crop width. */
  readonly width: number;
  /** Zero padding added on every side before cropping. */
  readonly padding: number;
  /** Value of the padded pixels. */
  readonly fill: number;
  /** The generator used when call() is given none. */
  readonly generator: Generator;
  /** The offsets of the last call(), in padded coordinates. */
  last: {
    /** Row offset. */
    top: number;
    /** Column offset. */
    left: number;
  } | null = null;

  constructor(size: number | [number, number], options: RandomCropOptions = {}) {
    [this.height, this.width] = v.pair(size, 'size', 1);
    const o = v.options(options, 'options', ['padding', 'fill', 'seed', 'generator']);
    this.padding = o.padding === undefined ? 0 : v.integer(o.padding, 'padding', 0);
    this.fill = o.fill === undefined ? 0 : v.finite(o.fill, 'fill');
    this.generator = ownGenerator(o);
  }

  /**
   * Draws offsets for an image of this height and width: top, then left, each uniform
   * over the valid range, as torchvision's get_params; no draw when nothing can move.
   */
  sample(height: number, width: number, generator: Generator = this.generator): {
    /** Row offset into the padded image. */
    top: number;
    /** Column offset into the padded image. */
    left: number;
  } {
    const h = v.integer(height, 'height', 1) + 2 * this.padding;
    const w = v.integer(width, 'width', 1) + 2 * this.padding;
    if (h < this.height || w < this.width) {
      throw new RangeError(`RandomCrop: crop ${this.height}x${this.width} is larger than the padded image ${h}x${w}`);
    }
    if (h === this.height && w === this.width) return { top: 0, left: 0 };
    return { top: generator.int(h - this.height + 1), left: generator.int(w - this.width + 1) };
  }

  /** Pads and crops `img` at a random position; records it in {@link RandomCrop.last}. */
  call(img: Image, generator?: Generator): Image {
    checkImage(img);
    const c = this.sample(img.height, img.width, generator ?? this.generator);
    this.last = c;
    return this.apply(img, c.top, c.left);
  }

  /** Pads and crops at the given offsets (into the padded image). */
  apply(img: Image, top: number, left: number): Image {
    const { data, channels: C, height: H, width: W } = checkImage(img);
    const p = this.padding;
    const th = this.height;
    const tw = this.width;
    v.integer(top, 'top', 0, H + 2 * p - th);
    v.integer(left, 'left', 0, W + 2 * p - tw);
    const out = like(data, C * th * tw);
    if (this.fill !== 0) out.fill(this.fill);
    // Source pixel (y, x) of the crop is (top + y - p, left + x - p); outside is padding.
    for (let c = 0; c < C; c++) {
      for (let y = 0; y < th; y++) {
        const sy = top + y - p;
        if (sy < 0 || sy >= H) continue;
        const src = c * H * W + sy * W;
        const dst = c * th * tw + y * tw;
        for (let x = 0; x < tw; x++) {
          const sx = left + x - p;
          if (sx >= 0 && sx < W) out[dst + x] = data[src + sx];
        }
      }
    }
    return { data: out, channels: C, height: th, width: tw };
  }

  /** torchvision's repr text. */
  toString(): string {
    return `RandomCrop(size=(${this.height}, ${this.width}), padding=${this.padding})`;
  }
}

/** Options of {@link RandomHorizontalFlip}. */
export interface RandomFlipOptions {
  /** Seed of the transform's own generator; random when omitted (ignored with `generator`). */
  seed?: number;
  /** A generator to draw from instead of an own one (shared with other transforms, for replay). */
  generator?: Generator;
}

/** Mirrors the image left-right with probability p (0.5), as `torchvision.transforms.RandomHorizontalFlip`. */
export class RandomHorizontalFlip implements Transform {
  /** Probability of a flip. */
  readonly p: number;
  /** The generator used when call() is given none. */
  readonly generator: Generator;
  /** Whether the last call() flipped. */
  last: boolean | null = null;

  constructor(p = 0.5, options: RandomFlipOptions = {}) {
    this.p = v.number(p, 'p', 0, 1);
    this.generator = ownGenerator(v.options(options, 'options', ['seed', 'generator']));
  }

  /** One draw, always (as torchvision's `torch.rand(1) < p`). */
  sample(generator: Generator = this.generator): boolean {
    return generator.next() < this.p;
  }

  /** Flips `img` with probability p; records the choice in {@link RandomHorizontalFlip.last}. */
  call(img: Image, generator?: Generator): Image {
    checkImage(img);
    const flip = this.sample(generator ?? this.generator);
    this.last = flip;
    return this.apply(img, flip);
  }

  /** Flips when `flip` is true; otherwise returns the image unchanged. */
  apply(img: Image, flip: boolean): Image {
    const { data, channels: C, height: H, width: W } = checkImage(img);
    if (!v.boolean(flip, 'flip')) return img;
    const out = like(data, data.length);
    for (let row = 0; row < C * H; row++) {
      const base = row * W;
      for (let x = 0; x < W; x++) out[base + x] = data[base + W - 1 - x];
    }
    return { data: out, channels: C, height: H, width: W };
  }

  /** torchvision's repr text. */
  toString(): string {
    return `RandomHorizontalFlip(p=${this.p})`;
  }
}

/**
 * uint8 [0, 255] to float32 [0, 1], as `img.float().div(255)` (torchvision's ToTensor on a CHW
 * image); float32 images pass through.
 */
export class ToTensor implements Transform {
  /** Converts a uint8 image to float32 in [0, 1]; a float32 image is returned as it is. */
  call(img: Image): Image {
    const { data, channels, height, width } = checkImage(img);
    if (data instanceof Float32Array) return img;
    const out = new Float32Array(data.length);
    // Float64 division then one rounding equals float32 division (correctly rounded).
    for (let i = 0; i < data.length; i++) out[i] = data[i] / 255;
    return { data: out, channels, height, width };
  }

  /** torchvision's repr text. */
  toString(): string {
    return 'ToTensor()';
  }
}

/** Per channel (x - mean) / std in float32, as `torchvision.transforms.Normalize`: `img.sub_(mean).div_(std)`. */
export class Normalize implements Transform {
  /** Per-channel mean, rounded to float32 as torchvision's tensors are. */
  readonly mean: Float32Array;
  /** Per-channel standard deviation, rounded to float32. */
  readonly std: Float32Array;

  /**
   * @param mean - one finite value per channel.
   * @param std - one finite non-zero value per channel.
   * @throws TypeError when the lengths differ or a value is not finite (or zero, for std).
   */
  constructor(mean: number[], std: number[]) {
    if (!Array.isArray(mean) || mean.length === 0 || !mean.every(Number.isFinite)) throw v.invalid('non-empty array of finite numbers', 'mean', mean);
    if (!Array.isArray(std) || std.length !== mean.length || !std.every((s) => Number.isFinite(s) && s !== 0)) {
      throw v.invalid(`array of ${mean.length} finite non-zero numbers`, 'std', std);
    }
    // torchvision makes float32 tensors of mean and std, so round them the same way.
    this.mean = Float32Array.from(mean);
    this.std = Float32Array.from(std);
  }

  /**
   * Normalises a float32 image; throws a TypeError for a uint8 image (apply ToTensor first) or a
   * channel count that differs.
   */
  call(img: Image): Image {
    const { data, channels: C, height: H, width: W } = checkImage(img);
    if (!(data instanceof Float32Array)) throw new TypeError('Normalize expects a float32 image; apply ToTensor() first');
    if (C !== this.mean.length) throw new TypeError(`Normalize has ${this.mean.length} channel values but the image has ${C} channels`);
    const out = new Float32Array(data.length);
    const plane = H * W;
    for (let c = 0; c < C; c++) {
      const m = this.mean[c];
      const s = this.std[c];
      // Round after each op, as float32 tensor arithmetic does.
      for (let i = c * plane; i < (c + 1) * plane; i++) out[i] = Math.fround(data[i] - m) / s;
    }
    return { data: out, channels: C, height: H, width: W };
  }

  /** torchvision's repr text. */
  toString(): string {
    return `Normalize(mean=[${Array.from(this.mean, (x) => x.toFixed(4))}], std=[${Array.from(this.std, (x) => x.toFixed(4))}])`;
  }
}
