// TensorBoard event files, written by hand: TFRecord framing (length, masked
// CRC32C of the length, data, masked CRC32C of the data) around Event protocol
// buffers (wall_time, step, and a file_version or a Summary of scalar,
// histogram or PNG image values). No npm package does this without a native
// TensorFlow download (@tensorflow/tfjs-node), so the encoder is here: a few
// protobuf fields, two CRC tables and a minimal PNG writer over node:zlib.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { Tensor } from './tensor';
import * as v from './validate';

// ---- checksums -------------------------------------------------------------------

function crcTable(poly: number): Uint32Array {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? poly ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
}
const CRC32C = crcTable(0x82f63b78); // Castagnoli, as TFRecord uses
const CRC32 = crcTable(0xedb88320); // zlib's, as PNG uses

function crc(table: Uint32Array, bytes: Uint8Array, seed = 0): number {
  let c = ~seed >>> 0;
  for (let i = 0; i < bytes.length; i++) c = table[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

/** @internal TFRecord's masked CRC32C: rotated right by 15 bits plus a constant, so CRCs of CRCs stay strong. */
export function maskedCrc32c(bytes: Uint8Array): number {
  const c = crc(CRC32C, bytes);
  return ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

/** @internal One TFRecord: uint64 length, masked CRC of the length, the data, masked CRC of the data. */
export function tfrecord(data: Uint8Array): Buffer {
  const out = Buffer.alloc(8 + 4 + data.length + 4);
  out.writeBigUInt64LE(BigInt(data.length), 0);
  out.writeUInt32LE(maskedCrc32c(out.subarray(0, 8)), 8);
  out.set(data, 12);
  out.writeUInt32LE(maskedCrc32c(data), 12 + data.length);
  return out;
}

// ---- protocol buffers ------------------------------------------------------------
// Only what Event and Summary need: varints, doubles, floats and length-delimited
// fields (strings, bytes, nested messages, packed doubles).

class Proto {
  private readonly parts: Uint8Array[] = [];

  private varint(n: number): void {
    // Non-negative integers up to 2^53 (steps, sizes): plain arithmetic, no bigint.
    const out: number[] = [];
    while (n >= 0x80) {
      out.push((n % 0x80) | 0x80);
      n = Math.floor(n / 0x80);
    }
    out.push(n);
    this.parts.push(Uint8Array.from(out));
  }
  private key(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }
  uint(field: number, n: number): this {
    this.key(field, 0);
    this.varint(n);
    return this;
  }
  double(field: number, x: number): this {
    this.key(field, 1);
    const b = Buffer.alloc(8);
    b.writeDoubleLE(x);
    this.parts.push(b);
    return this;
  }
  float(field: number, x: number): this {
    this.key(field, 5);
    const b = Buffer.alloc(4);
    b.writeFloatLE(x);
    this.parts.push(b);
    return this;
  }
  bytes(field: number, data: Uint8Array | string): this {
    const b = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    this.key(field, 2);
    this.varint(b.length);
    this.parts.push(b);
    return this;
  }
  message(field: number, m: Proto): this {
    return this.bytes(field, m.finish());
  }
  packedDoubles(field: number, xs: ArrayLike<number>): this {
    const b = Buffer.alloc(8 * xs.length);
    for (let i = 0; i < xs.length; i++) b.writeDoubleLE(xs[i], 8 * i);
    return this.bytes(field, b);
  }
  finish(): Buffer {
    return Buffer.concat(this.parts);
  }
}

// Field numbers, from tensorflow/core/util/event.proto and framework/summary.proto.
const EVENT = { wallTime: 1, step: 2, fileVersion: 3, summary: 5 };
const SUMMARY = { value: 1 };
const VALUE = { tag: 1, simpleValue: 2, image: 4, histo: 5 };
const IMAGE = { height: 1, width: 2, colorspace: 3, encoded: 4 };
const HISTO = { min: 1, max: 2, num: 3, sum: 4, sumSquares: 5, bucketLimit: 6, bucket: 7 };

function event(wallTime: number, step: number, fill: (e: Proto) => void): Buffer {
  const e = new Proto().double(EVENT.wallTime, wallTime).uint(EVENT.step, step);
  fill(e);
  return e.finish();
}

function summaryEvent(wallTime: number, step: number, value: Proto): Buffer {
  return event(wallTime, step, (e) => e.message(EVENT.summary, new Proto().message(SUMMARY.value, value)));
}

// ---- histograms --------------------------------------------------------------------

/** A histogram as TensorBoard's HistogramProto holds it. */
export interface Histogram {
  /** The smallest value. */
  min: number;
  /** The largest value. */
  max: number;
  /** How many values. */
  num: number;
  /** Their sum. */
  sum: number;
  /** The sum of their squares. */
  sumSquares: number;
  /** Each bucket's right edge; the bucket holds values from the previous edge (inclusive) up to this one. */
  bucketLimit: number[];
  /** How many values each bucket holds. */
  bucket: number[];
}

let defaultEdges: Float64Array | null = null;

/**
 * TensorFlow's default bucket edges (core/lib/histogram/histogram.cc), which
 * tensorboardX and torch.utils.tensorboard use too: ±1e-12 growing by 10% up to
 * 1e20 on each side of 0, closed by ±DBL_MAX.
 */
export function defaultHistogramEdges(): Float64Array {
  if (!defaultEdges) {
    const pos: number[] = [];
    for (let x = 1e-12; x < 1e20; x *= 1.1) pos.push(x);
    pos.push(Number.MAX_VALUE);
    defaultEdges = Float64Array.from([...pos.map((x) => -x).reverse(), 0, ...pos]);
  }
  return defaultEdges;
}

/**
 * The histogram TensorFlow's Histogram::Add and EncodeToProto make: each value
 * counted in the first bucket whose edge is above it, sums in float64, and each
 * run of empty buckets written as one.
 */
export function histogram(values: ArrayLike<number>, op = 'histogram'): Histogram {
  if (values.length === 0) throw new TypeError(`${op}: values is empty; expected at least one value`);
  const edges = defaultHistogramEdges();
  const counts = new Float64Array(edges.length);
  let min = Infinity, max = -Infinity, sum = 0, sumSquares = 0;
  for (let i = 0; i < values.length; i++) {
    const x = values[i];
    // TensorFlow refuses these too ("Nan in summary histogram"): no bucket holds them.
    if (!Number.isFinite(x)) throw new RangeError(`${op}: values[${i}] is ${x}; expected finite values`);
    let lo = 0, hi = edges.length; // upper_bound: the first edge > x
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (edges[mid] > x) hi = mid;
      else lo = mid + 1;
    }
    counts[lo] += 1;
    if (x < min) min = x;
    if (x > max) max = x;
    sum += x;
    sumSquares += x * x;
  }
  const bucketLimit: number[] = [];
  const bucket: number[] = [];
  for (let i = 0; i < counts.length;) {
    let end = edges[i];
    let count = counts[i];
    i++;
    if (count <= 0) {
      while (i < counts.length && counts[i] <= 0) {
        end = edges[i];
        count = counts[i];
        i++;
      }
    }
    bucketLimit.push(end);
    bucket.push(count);
  }
  return { min, max, num: values.length, sum, sumSquares, bucketLimit, bucket };
}

// ---- PNG ------------------------------------------------------------------------------

/** @internal A PNG of 8-bit pixels in HWC order with 1 (gray), 3 (RGB) or 4 (RGBA) channels. */
export function encodePng(pixels: Uint8Array, height: number, width: number, channels: 1 | 3 | 4): Buffer {
  const colorType = { 1: 0, 3: 2, 4: 6 }[channels];
  const stride = width * channels;
  const raw = Buffer.alloc((stride + 1) * height); // each row: filter byte 0 (none), then the pixels
  for (let y = 0; y < height; y++) raw.set(pixels.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  const chunk = (type: string, data: Buffer) => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(data.length, 0);
    head.write(type, 4, 'latin1');
    const tail = Buffer.alloc(4);
    tail.writeUInt32BE(crc(CRC32, data, crc(CRC32, head.subarray(4))));
    return Buffer.concat([head, data, tail]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, colorType, 0, 0, 0], 8); // bit depth 8, colour type, deflate, no filter, no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', Buffer.alloc(0)),
  ]);
}

// ---- the writer ---------------------------------------------------------------------------

/** Options of SummaryWriter. */
export interface SummaryWriterOptions {
  /** Write to disk once this many events wait (default 10, as tensorboardX). */
  maxQueue?: number;
  /** ... or once the oldest waiting event is this many seconds old (default 120, as tensorboardX). */
  flushSecs?: number;
}

let fileCounter = 0;
const open = new Set<SummaryWriter>();
let exitHook = false;

function numbers(x: Tensor | ArrayLike<number>, what: string): ArrayLike<number> {
  if (x instanceof Tensor) {
    const d = x.data();
    return d instanceof BigInt64Array ? Array.from(d, Number) : d;
  }
  if (Array.isArray(x)) {
    x.forEach((e, i) => {
      if (typeof e !== 'number') throw v.invalid('number', `${what}[${i}]`, e);
    });
    return x;
  }
  if (ArrayBuffer.isView(x) && !(x instanceof DataView) && !(x instanceof BigInt64Array) && !(x instanceof BigUint64Array)) return x as ArrayLike<number>;
  throw v.invalid('Tensor, array of numbers or numeric TypedArray', what, x);
}

/**
 * Writes TensorBoard event files into `logdir`, one file per writer
 * (events.out.tfevents.<time>.<host>.<pid>.<n>): scalars, histograms and
 * images. View them with `tensorboard --logdir <logdir>`.
 *
 * Events are buffered and written with synchronous file writes when
 * `maxQueue` events wait or the oldest is `flushSecs` old, on flush(), and
 * on close(). Writers still open when the process exits are flushed then.
 *
 * @example
 * const tb = new SummaryWriter('runs/alexnet');
 * tb.addScalar('train/loss', 0.25, 100);
 * tb.close();
 */
export class SummaryWriter {
  /** The folder given. */
  readonly logdir: string;
  /** This writer's event file. */
  readonly file: string;
  private fd: number | null;
  private pending: Buffer[] = [];
  private oldest = 0;
  private readonly maxQueue: number;
  private readonly flushMs: number;

  constructor(logdir: string, options: SummaryWriterOptions = {}) {
    this.logdir = v.string(logdir, 'logdir');
    const o = v.options(options, 'options', ['maxQueue', 'flushSecs']);
    this.maxQueue = o.maxQueue === undefined ? 10 : v.integer(o.maxQueue, 'maxQueue', 1);
    this.flushMs = 1000 * (o.flushSecs === undefined ? 120 : v.positive(o.flushSecs, 'flushSecs'));
    const name = `events.out.tfevents.${String(Math.floor(Date.now() / 1000)).padStart(10, '0')}.${os.hostname()}.${process.pid}.${fileCounter++}`;
    this.file = path.join(logdir, name);
    try {
      fs.mkdirSync(logdir, { recursive: true });
      this.fd = fs.openSync(this.file, 'wx');
    } catch (e) {
      throw new Error(`SummaryWriter: cannot create ${this.file}: ${(e as Error).message}`);
    }
    // The first record names the format; written at once so TensorBoard sees the run.
    this.pending.push(tfrecord(event(Date.now() / 1000, 0, (e) => e.bytes(EVENT.fileVersion, 'brain.Event:2'))));
    this.flush();
    open.add(this);
    if (!exitHook) {
      exitHook = true;
      process.on('exit', () => {
        for (const w of open) {
          try {
            w.close();
          } catch {
            // exiting anyway: a full disk must not turn into a crash here
          }
        }
      });
    }
  }

  /** Whether close() has been called. */
  get closed(): boolean {
    return this.fd === null;
  }

  /** Logs one number (stored as float32, as TensorBoard keeps simple_value) at `step`. */
  addScalar(tag: string, value: number | Tensor, step: number, wallTime?: number): void {
    const op = 'addScalar';
    this.check(op, tag, step, wallTime);
    let x = value;
    if (x instanceof Tensor) {
      if (x.numel !== 1) throw new TypeError(`${op}: expected a one-element tensor for '${tag}', but its shape is [${x.shape}]`);
      x = x.item();
    }
    if (typeof x !== 'number') throw v.invalid('number or one-element Tensor', 'value', x);
    const val = new Proto().bytes(VALUE.tag, tag).float(VALUE.simpleValue, x);
    this.push(summaryEvent(wallTime ?? Date.now() / 1000, step, val));
  }

  /**
   * Logs the distribution of `values` (a tensor of any shape, or numbers) as
   * TensorBoard's histogram: min, max, num, sum, sum of squares and counts in
   * TensorFlow's default buckets (see histogram()). Values must be finite.
   */
  addHistogram(tag: string, values: Tensor | ArrayLike<number>, step: number, wallTime?: number): void {
    this.check('addHistogram', tag, step, wallTime);
    const h = histogram(numbers(values, 'values'), `addHistogram('${tag}')`);
    const histo = new Proto()
      .double(HISTO.min, h.min).double(HISTO.max, h.max).double(HISTO.num, h.num).double(HISTO.sum, h.sum)
      .double(HISTO.sumSquares, h.sumSquares).packedDoubles(HISTO.bucketLimit, h.bucketLimit).packedDoubles(HISTO.bucket, h.bucket);
    this.push(summaryEvent(wallTime ?? Date.now() / 1000, step, new Proto().bytes(VALUE.tag, tag).message(VALUE.histo, histo)));
  }

  /**
   * Logs an image, PNG-encoded: a CHW tensor with 1 (gray), 3 (RGB) or 4 (RGBA)
   * channels. uint8 values are taken as they are; other dtypes are read as
   * [0, 1], scaled by 255, clipped and truncated, as torch.utils.tensorboard does.
   */
  addImage(tag: string, img: Tensor, step: number, wallTime?: number): void {
    const op = 'addImage';
    this.check(op, tag, step, wallTime);
    if (!(img instanceof Tensor)) throw v.invalid('Tensor', 'img', img);
    const [c, h, w] = img.shape;
    if (img.ndim !== 3 || ![1, 3, 4].includes(c) || h === 0 || w === 0) {
      throw new TypeError(`${op}: expected a CHW tensor with 1, 3 or 4 channels and a non-empty image for '${tag}', but its shape is [${img.shape}]`);
    }
    const src = numbers(img, 'img');
    const scale = img.dtype === 'uint8' ? 1 : 255;
    const pixels = new Uint8Array(c * h * w);
    const plane = h * w;
    for (let ch = 0; ch < c; ch++) {
      for (let i = 0; i < plane; i++) {
        const x = src[ch * plane + i] * scale;
        pixels[i * c + ch] = x >= 255 ? 255 : x > 0 ? Math.trunc(x) : 0; // NaN -> 0
      }
    }
    const image = new Proto().uint(IMAGE.height, h).uint(IMAGE.width, w).uint(IMAGE.colorspace, c)
      .bytes(IMAGE.encoded, encodePng(pixels, h, w, c as 1 | 3 | 4));
    this.push(summaryEvent(wallTime ?? Date.now() / 1000, step, new Proto().bytes(VALUE.tag, tag).message(VALUE.image, image)));
  }

  /** Writes every waiting event to the file now. A no-op once closed. */
  flush(): void {
    if (this.fd === null || this.pending.length === 0) return;
    const data = Buffer.concat(this.pending);
    this.pending = [];
    try {
      let done = 0;
      while (done < data.length) done += fs.writeSync(this.fd, data, done);
    } catch (e) {
      throw new Error(`SummaryWriter: cannot write ${this.file}: ${(e as Error).message}`);
    }
  }

  /** Flushes and closes the file. Idempotent; adding after close() is an error. */
  close(): void {
    if (this.fd === null) return;
    try {
      this.flush();
    } finally {
      fs.closeSync(this.fd);
      this.fd = null;
      open.delete(this);
    }
  }

  private check(op: string, tag: string, step: number, wallTime: number | undefined): void {
    if (this.fd === null) throw new Error(`${op}: the SummaryWriter of ${this.file} is closed`);
    v.string(tag, 'tag');
    v.integer(step, 'step', 0);
    if (wallTime !== undefined) v.finite(wallTime, 'wallTime');
  }

  private push(record: Buffer): void {
    if (this.pending.length === 0) this.oldest = Date.now();
    this.pending.push(tfrecord(record));
    if (this.pending.length >= this.maxQueue || Date.now() - this.oldest >= this.flushMs) this.flush();
  }
}
