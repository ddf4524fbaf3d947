// safetensors: Hugging Face's format for a flat map of named tensors. An
// 8-byte little-endian header length, a JSON header ({name: {dtype, shape,
// data_offsets}}, and an optional "__metadata__" map of strings), then the raw
// little-endian bytes. Reading it runs no code, so it is the safe way to take
// weights from elsewhere; every file is checked the way Python's safetensors
// checks it (offsets that tile the data exactly, byte counts that match shape
// and dtype) before a single tensor is made.
import * as fs from 'node:fs';
import * as os from 'node:os';
import { checkDevice } from './device';
import { addon, DType, RawTensor } from './native';
import { Tensor } from './tensor';
import * as v from './validate';

/** A safetensors dtype name and the torchbridge dtype it stands for. */
const FORMAT_DTYPES: readonly [string, DType, number][] = [
  ['F64', 'float64', 8], ['F32', 'float32', 4], ['F16', 'float16', 2], ['BF16', 'bfloat16', 2],
  ['I64', 'int64', 8], ['I32', 'int32', 4], ['U8', 'uint8', 1], ['BOOL', 'bool', 1],
];
const byFormat = new Map(FORMAT_DTYPES.map(([f, d, size]) => [f, { dtype: d, size }]));
const byDtype = new Map(FORMAT_DTYPES.map(([f, d, size]) => [d, { format: f, size }]));
// Dtypes of the format that Tensor has no counterpart for: named as such, not as unknown.
const UNSUPPORTED = new Set(['I8', 'I16', 'U16', 'U32', 'U64', 'F8_E5M2', 'F8_E4M3', 'F8_E8M0', 'F4', 'F6_E2M3', 'F6_E3M2', 'C64']);
const SUPPORTED_LIST = FORMAT_DTYPES.map(([f]) => f).join(', ');

/** The safetensors dtype names torchbridge reads and writes, with their Tensor dtypes. */
export const safetensorsDtypes: Readonly<Record<string, DType>> = Object.freeze(
  Object.fromEntries(FORMAT_DTYPES.map(([f, d]) => [f, d])),
);

// Python's safetensors refuses headers over 100 MB; so do we, before reading one.
const MAX_HEADER = 100_000_000;
const METADATA = '__metadata__';

function littleEndianOnly(op: string): void {
  // The format's bytes are little-endian and are copied as they are.
  if (os.endianness() !== 'LE') throw new Error(`${op}: safetensors needs a little-endian machine`);
}

// ---- half-precision bits ------------------------------------------------------
// Tensor.data() gives float16 and bfloat16 as float32 (exactly), so saving turns
// them back into their 16-bit patterns here, rounding to nearest even. The
// float32 bits are read as integers, never as JS numbers: a float32 -> double
// -> float32 round trip would quiet signalling NaNs.

/** The IEEE binary16 bits of the float32 with bits `b` (round to nearest even; NaN stays NaN). */
function halfFromFloatBits(b: number): number {
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  let mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? (mant >>> 13) || 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign; // below half the smallest subnormal
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++; // a carry into the exponent is right, up to infinity
  return sign | half;
}

/** The bfloat16 bits of the float32 with bits `b` (round to nearest even; NaN stays NaN). */
function bfloatFromFloatBits(b: number): number {
  if ((b & 0x7f800000) === 0x7f800000 && (b & 0x7fffff)) {
    const h = b >>> 16;
    return h & 0x7f ? h : h | 0x40;
  }
  return ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** @internal The IEEE binary16 bits of a number, rounded to nearest even. */
export function float16Bits(x: number): number {
  f32[0] = x;
  return halfFromFloatBits(u32[0]);
}

/** @internal The bfloat16 bits of a number, rounded to nearest even. */
export function bfloat16Bits(x: number): number {
  f32[0] = x;
  return bfloatFromFloatBits(u32[0]);
}

/** A tensor's values as the format's little-endian bytes. */
function tensorBytes(t: Tensor): Uint8Array {
  const data = t.data();
  if (t.dtype === 'float16' || t.dtype === 'bfloat16') {
    const convert = t.dtype === 'float16' ? halfFromFloatBits : bfloatFromFloatBits;
    const src = new Uint32Array(data.buffer, data.byteOffset, data.length);
    const out = new Uint16Array(src.length);
    for (let i = 0; i < src.length; i++) out[i] = convert(src[i]);
    return new Uint8Array(out.buffer);
  }
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

// ---- writing -------------------------------------------------------------------

/** Options of saveSafetensors. */
export interface SaveSafetensorsOptions {
  /** Free-form strings stored under "__metadata__" (Python's `metadata=` of save_file). */
  metadata?: Record<string, string>;
}

let tmpCounter = 0;

/**
 * Writes `tensors` to `file` in the safetensors format, atomically: to a
 * temporary file beside it that is flushed and then renamed over `file`.
 * Python's `safetensors.torch.load_file` reads the result.
 *
 * Tensors on any device are copied to the CPU; views are written as their
 * values. Supported dtypes: float64, float32, float16, bfloat16, int64, int32,
 * uint8 and bool (F64, F32, F16, BF16, I64, I32, U8, BOOL). Values are written
 * bit for bit, NaN payloads included, except that a float16 signalling NaN is
 * written quiet (libtorch's float16 reads set the quiet bit).
 *
 * @example await saveSafetensors(net.stateDict(), 'model.safetensors', { metadata: { epoch: '5' } });
 */
export async function saveSafetensors(tensors: Record<string, Tensor>, file: string, options: SaveSafetensorsOptions = {}): Promise<void> {
  const op = 'saveSafetensors';
  littleEndianOnly(op);
  // A Map (or any class instance) has no own enumerable entries: it would save as an empty file.
  const proto = typeof tensors === 'object' && tensors !== null ? Object.getPrototypeOf(tensors) : undefined;
  if (Array.isArray(tensors) || (proto !== Object.prototype && proto !== null)) throw v.invalid('plain object of tensors', 'tensors', tensors);
  v.string(file, 'file');
  const o = v.options(options, 'options', ['metadata']);
  let metadata: [string, string][] | null = null;
  if (o.metadata !== undefined) {
    metadata = Object.entries(v.object(o.metadata, 'metadata')).map(([k, x]) => {
      if (typeof x !== 'string') throw v.invalid('string', `metadata['${k}']`, x);
      return [k, x];
    });
  }

  // Check everything before the file is touched.
  const entries = Object.entries(tensors).map(([name, t], index) => {
    if (name === METADATA) throw new TypeError(`${op}: '${METADATA}' is reserved for the metadata map and cannot name a tensor`);
    if (!(t instanceof Tensor)) throw v.invalid('Tensor', `tensors['${name}']`, t);
    if (t.isDisposed) throw new Error(`${op}: tensors['${name}'] is already disposed`);
    const kind = byDtype.get(t.dtype);
    if (!kind) throw new TypeError(`${op}: tensors['${name}'] has dtype ${t.dtype}, which safetensors files here cannot hold`);
    const shape = t.shape;
    return { name, t, index, shape, format: kind.format, size: kind.size, bytes: t.numel * kind.size, begin: 0 };
  });
  // Data in order of falling element size keeps every tensor aligned to its
  // element size (the header is padded to 8), as Python's writer lays it out.
  const layout = [...entries].sort((a, b) => b.size - a.size || a.index - b.index);
  let offset = 0;
  for (const e of layout) {
    e.begin = offset;
    offset += e.bytes;
  }
  const parts: string[] = [];
  if (metadata) parts.push(`${JSON.stringify(METADATA)}:{${metadata.map(([k, x]) => `${JSON.stringify(k)}:${JSON.stringify(x)}`).join(',')}}`);
  for (const e of entries) {
    parts.push(`${JSON.stringify(e.name)}:${JSON.stringify({ dtype: e.format, shape: e.shape, data_offsets: [e.begin, e.begin + e.bytes] })}`);
  }
  let header = Buffer.from(`{${parts.join(',')}}`, 'utf8');
  const padded = Math.ceil(header.length / 8) * 8;
  if (padded !== header.length) header = Buffer.concat([header, Buffer.alloc(padded - header.length, 0x20)]);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(header.length));

  const tmp = `${file}.tmp-${process.pid}-${tmpCounter++}`;
  let fh: fs.promises.FileHandle | null = null;
  try {
    fh = await fs.promises.open(tmp, 'w');
    await fh.write(prefix);
    await fh.write(header);
    for (const e of layout) {
      if (e.bytes) await fh.write(tensorBytes(e.t)); // one tensor's copy in memory at a time
    }
    await fh.sync();
    await fh.close();
    fh = null;
    await fs.promises.rename(tmp, file);
  } catch (err) {
    await fh?.close().catch(() => {});
    await fs.promises.rm(tmp, { force: true }).catch(() => {});
    throw new Error(`${op}: cannot write ${file}: ${(err as Error).message}`);
  }
}

// ---- the header's JSON ------------------------------------------------------------
// JSON.parse keeps the last of two equal keys without a word, and a key named
// __proto__ would reach an object's prototype. This small strict parser gives
// objects as Maps, refuses duplicate keys, and keeps integer literals exact (as
// bigint) so that offsets and sizes are never rounded.

type Json = null | boolean | number | bigint | string | Json[] | Map<string, Json>;

class HeaderParser {
  private pos = 0;
  constructor(private readonly text: string, private readonly fail: (why: string) => never) {}

  parse(): Json {
    const value = this.value(0);
    this.space();
    if (this.pos !== this.text.length) this.unexpected();
    return value;
  }

  private space(): void {
    while (this.pos < this.text.length && ' \t\n\r'.includes(this.text[this.pos])) this.pos++;
  }

  private unexpected(): never {
    return this.fail(this.pos >= this.text.length ? 'the header is not valid JSON: it ends too early'
      : `the header is not valid JSON: unexpected ${JSON.stringify(this.text[this.pos])} at character ${this.pos}`);
  }

  private value(depth: number): Json {
    // The format nests three deep ({name: {shape: [...]}}); deeper is hostile.
    if (depth > 8) this.fail('the header nests deeper than a safetensors header can');
    this.space();
    const c = this.text[this.pos];
    if (c === '{') return this.object(depth);
    if (c === '[') return this.array(depth);
    if (c === '"') return this.string();
    for (const [word, val] of [['true', true], ['false', false], ['null', null]] as const) {
      if (this.text.startsWith(word, this.pos)) {
        this.pos += word.length;
        return val;
      }
    }
    const m = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
    m.lastIndex = this.pos;
    const r = m.exec(this.text);
    if (!r) this.unexpected();
    this.pos += r[0].length;
    return r[1] === undefined && r[2] === undefined ? BigInt(r[0]) : Number(r[0]);
  }

  private object(depth: number): Map<string, Json> {
    const out = new Map<string, Json>();
    this.pos++;
    this.space();
    if (this.text[this.pos] === '}') {
      this.pos++;
      return out;
    }
    for (;;) {
      this.space();
      if (this.text[this.pos] !== '"') this.unexpected();
      const key = this.string();
      if (out.has(key)) this.fail(`the header has the key ${JSON.stringify(key)} twice; each key must appear once`);
      this.space();
      if (this.text[this.pos] !== ':') this.unexpected();
      this.pos++;
      out.set(key, this.value(depth + 1));
      this.space();
      const c = this.text[this.pos++];
      if (c === '}') return out;
      if (c !== ',') {
        this.pos--;
        this.unexpected();
      }
    }
  }

  private array(depth: number): Json[] {
    const out: Json[] = [];
    this.pos++;
    this.space();
    if (this.text[this.pos] === ']') {
      this.pos++;
      return out;
    }
    for (;;) {
      out.push(this.value(depth + 1));
      this.space();
      const c = this.text[this.pos++];
      if (c === ']') return out;
      if (c !== ',') {
        this.pos--;
        this.unexpected();
      }
    }
  }

  private string(): string {
    const start = this.pos;
    let i = start + 1;
    while (i < this.text.length && this.text[i] !== '"') i += this.text[i] === '\\' ? 2 : 1;
    if (i >= this.text.length) {
      this.pos = this.text.length;
      this.unexpected();
    }
    this.pos = i + 1;
    try {
      return JSON.parse(this.text.slice(start, i + 1)) as string; // escapes and control characters, by the book
    } catch {
      this.pos = start;
      return this.fail(`the header is not valid JSON: a bad string at character ${start}`);
    }
  }
}

// ---- reading -------------------------------------------------------------------------

/** Options of loadSafetensors. */
export interface LoadSafetensorsOptions {
  /** Where the tensors go: 'cpu' (the default), 'cuda', 'cuda:1', 'npu', ... */
  device?: string;
}

/** What loadSafetensors gives: the tensors (yours to dispose) and the metadata map. */
export interface SafetensorsContents {
  /** The tensors by name, in the header's order. */
  tensors: Record<string, Tensor>;
  /** The "__metadata__" map; empty when the file has none. */
  metadata: Record<string, string>;
}

interface Entry {
  name: string;
  format: string;
  dtype: DType;
  shape: number[];
  begin: number;
  end: number;
}

/**
 * Reads a safetensors file (from Python's `safetensors.torch.save_file`, from
 * Hugging Face, or from saveSafetensors). Nothing in the file is executed, and
 * the whole header is checked before any tensor is made: its length against
 * the file, its JSON (duplicate keys included), each entry's dtype, shape and
 * offsets, byte counts against shape and dtype, and offsets that cover the data
 * exactly, without overlap or gap. Each failure is an Error naming the file and
 * what was expected.
 *
 * The tensors are new: dispose them (or the module that copies them) when done.
 * Loading weights into a module is one line:
 *
 * @example net.loadStateDict((await loadSafetensors('model.safetensors')).tensors);
 */
export async function loadSafetensors(file: string, options: LoadSafetensorsOptions = {}): Promise<SafetensorsContents> {
  const op = 'loadSafetensors';
  littleEndianOnly(op);
  v.string(file, 'file');
  const o = v.options(options, 'options', ['device']);
  const device = o.device === undefined ? 'cpu' : checkDevice(o.device);
  const fail = (why: string): never => {
    throw new Error(`${op}: ${file}: ${why}`);
  };

  let fh: fs.promises.FileHandle;
  try {
    fh = await fs.promises.open(file, 'r');
  } catch (e) {
    throw new Error(`${op}: cannot open ${file}: ${(e as Error).message}`);
  }
  const made: Tensor[] = [];
  try {
    const size = (await fh.stat()).size;
    if (size < 8) fail(`the file has ${size} bytes; expected at least 8 (the header length)`);
    const prefix = Buffer.alloc(8);
    await readExactly(fh, prefix, 0, fail);
    const headerLength = prefix.readBigUInt64LE(0);
    if (headerLength > BigInt(size - 8)) {
      fail(`the header length is ${headerLength} bytes, but only ${size - 8} bytes follow the 8-byte length`);
    }
    if (headerLength > BigInt(MAX_HEADER)) fail(`the header length is ${headerLength} bytes; expected at most ${MAX_HEADER}`);
    const n = Number(headerLength);
    const raw = Buffer.alloc(n);
    await readExactly(fh, raw, 8, fail);
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
    } catch {
      return fail('the header is not valid UTF-8');
    }
    if (!text.startsWith('{')) fail(`the header starts with ${JSON.stringify(text.slice(0, 1))}; expected '{' (a JSON object)`);
    const header = new HeaderParser(text, fail).parse();
    if (!(header instanceof Map)) return fail('the header is not a JSON object');

    const dataStart = 8 + n;
    const dataLength = size - dataStart;
    const metadata: Record<string, string> = {};
    const entries: Entry[] = [];
    for (const [name, info] of header) {
      if (name === METADATA) {
        if (!(info instanceof Map)) fail(`'${METADATA}' must be a map of strings to strings`);
        for (const [k, x] of info as Map<string, Json>) {
          if (typeof x !== 'string') fail(`'${METADATA}' must map strings to strings, but '${k}' holds ${describeJson(x)}`);
          Object.defineProperty(metadata, k, { value: x, enumerable: true, writable: true, configurable: true });
        }
        continue;
      }
      entries.push(checkEntry(name, info, dataLength, fail));
    }
    checkTiling(entries, dataLength, fail);

    const tensors: Record<string, Tensor> = {};
    for (const e of entries) {
      const bytes = Buffer.alloc(e.end - e.begin);
      await readExactly(fh, bytes, dataStart + e.begin, fail);
      if (e.dtype === 'bool') {
        // Bytes other than 0 and 1 are not bools; libtorch's kernels assume they never occur.
        const bad = bytes.findIndex((b) => b > 1);
        if (bad >= 0) fail(`tensor '${e.name}' (BOOL) holds the byte ${bytes[bad]} at element ${bad}; expected 0 or 1`);
      }
      let raw: RawTensor;
      try {
        raw = addon.Tensor.fromData(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), e.shape, e.dtype, device);
      } catch (err) {
        return fail(`tensor '${e.name}': ${(err as Error).message}`);
      }
      const t = new Tensor(raw);
      made.push(t);
      Object.defineProperty(tensors, e.name, { value: t, enumerable: true, writable: true, configurable: true });
    }
    return { tensors, metadata };
  } catch (e) {
    for (const t of made) t.dispose();
    throw e;
  } finally {
    await fh.close().catch(() => {});
  }
}

async function readExactly(fh: fs.promises.FileHandle, into: Buffer, position: number, fail: (why: string) => never): Promise<void> {
  let done = 0;
  while (done < into.length) {
    const { bytesRead } = await fh.read(into, done, into.length - done, position + done);
    if (bytesRead === 0) fail(`the file ended at byte ${position + done} while ${into.length - done} more bytes were expected (was it truncated while being read?)`);
    done += bytesRead;
  }
}

function describeJson(x: Json): string {
  if (x instanceof Map) return 'an object';
  if (Array.isArray(x)) return 'an array';
  if (typeof x === 'bigint') return `the number ${x}`;
  return x === null ? 'null' : `the ${typeof x} ${JSON.stringify(x)}`;
}

/** One header entry, checked on its own: dtype, shape, offsets within the data, bytes = numel * size. */
function checkEntry(name: string, info: Json, dataLength: number, fail: (why: string) => never): Entry {
  const what = `tensor '${name}'`;
  if (!(info instanceof Map)) return fail(`${what}: expected an object with dtype, shape and data_offsets, but found ${describeJson(info)}`);
  for (const key of ['dtype', 'shape', 'data_offsets']) if (!info.has(key)) fail(`${what} has no '${key}'`);
  const format = info.get('dtype');
  if (typeof format !== 'string') return fail(`${what}: expected a dtype name, but found ${describeJson(format ?? null)}`);
  const kind = byFormat.get(format);
  if (!kind) {
    if (UNSUPPORTED.has(format)) fail(`${what} has dtype ${format}, which torchbridge's Tensor cannot hold; supported: ${SUPPORTED_LIST}`);
    fail(`${what} has the unknown dtype '${format}'; expected one of ${SUPPORTED_LIST}`);
  }
  const { dtype, size } = kind as { dtype: DType; size: number };
  const shapeJson = info.get('shape');
  if (!Array.isArray(shapeJson) || !shapeJson.every((d) => typeof d === 'bigint' && d >= 0n && d <= BigInt(Number.MAX_SAFE_INTEGER))) {
    return fail(`${what}: expected a shape of non-negative integers, but found ${JSON.stringify(shapeJson, (_, x) => typeof x === 'bigint' ? Number(x) : x instanceof Map ? '{...}' : x)}`);
  }
  const offsets = info.get('data_offsets');
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((d) => typeof d === 'bigint' && d >= 0n)) {
    return fail(`${what}: expected data_offsets [begin, end] of two non-negative integers`);
  }
  const [begin, end] = offsets as bigint[];
  if (end < begin) fail(`${what}: data_offsets [${begin}, ${end}] end before they begin`);
  if (end > BigInt(dataLength)) fail(`${what}: data_offsets [${begin}, ${end}] run past the data, which has ${dataLength} bytes`);
  const dims = shapeJson as bigint[];
  const numel = dims.reduce((a, b) => a * b, 1n); // bigint: a hostile shape cannot overflow this
  if (numel * BigInt(size) !== end - begin) {
    fail(`${what}: shape [${dims.join(', ')}] of ${format} needs ${numel * BigInt(size)} bytes, but data_offsets [${begin}, ${end}] hold ${end - begin}`);
  }
  return { name, format, dtype, shape: dims.map(Number), begin: Number(begin), end: Number(end) };
}

/** The entries' byte ranges must tile the data section exactly: no overlap, no gap, nothing after (a file is one thing only). */
function checkTiling(entries: Entry[], dataLength: number, fail: (why: string) => never): void {
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let expected = 0;
  let previous: Entry | null = null;
  for (const e of sorted) {
    if (e.begin < expected) {
      fail(`tensor '${e.name}' (bytes ${e.begin} to ${e.end}) overlaps tensor '${previous!.name}' (bytes ${previous!.begin} to ${previous!.end})`);
    }
    if (e.begin > expected) fail(`bytes ${expected} to ${e.begin} of the data belong to no tensor; expected tensor '${e.name}' to begin at ${expected}`);
    expected = e.end;
    previous = e;
  }
  if (expected !== dataLength) fail(`the last ${dataLength - expected} bytes of the file belong to no tensor; expected the data to end at byte ${expected}`);
}
