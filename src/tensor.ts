// Tensor: a typed handle over a native libtorch tensor.
//
// Memory: call dispose(), or create tensors inside tidy(), which disposes every
// intermediate made in it except what it returns. The GC finalizer is only a backstop.
import { checkDevice } from './device';
import { addon, DType, RawTensor, TypedData } from './native';
import * as v from './validate';

export type { DType } from './native';
/** Every {@link DType} a tensor can have, in the order torch lists them. */
export const dtypes: readonly DType[] = ['float32', 'float64', 'float16', 'bfloat16', 'int64', 'int32', 'uint8', 'bool'];

/**
 * Options of the tensor factories ({@link zeros}, {@link randn}, ...), as torch's `dtype=`, `device=`
 * and `requires_grad=` keywords.
 */
export interface TensorOptions {
  /** Element type; float32 by default (int64 for {@link randint}, {@link randperm} and integer {@link arange}). */
  dtype?: DType;
  /** Where the tensor lives: 'cpu' (the default), 'cuda', 'cuda:N', 'npu' or 'npu:N'. */
  device?: string;
  /** Record operations on the tensor for autograd; false by default. */
  requiresGrad?: boolean;
}

/**
 * Options of the random factories ({@link randn}, {@link rand}, {@link randint}, {@link randperm}).
 * With `seed`, the values come from a new CPU generator seeded with it, as
 * `torch.randperm(n, generator=torch.Generator().manual_seed(seed))` draws them in Python (the
 * same values), and the global generator is left as it was.
 */
export interface RandomOptions extends TensorOptions {
  /** Seed of a fresh CPU generator for this draw (0 to 2**53 - 1); the global generator when omitted. */
  seed?: number;
}

type Scope = Set<Tensor>;
const scopes: Scope[] = [];

/**
 * A multi-dimensional array held by libtorch, on the CPU or a device, as `torch.Tensor`.
 *
 * Make tensors with the factories ({@link tensor}, {@link zeros}, {@link randn}, ...), not the
 * constructor. Each tensor owns native memory that the JavaScript GC does not see in time: free it
 * with {@link Tensor.dispose}, or create it inside {@link tidy}. Operations return new tensors;
 * the methods ending in `_` work in place. Failures from libtorch are Errors that name the
 * operation; wrong argument types are TypeErrors.
 */
export class Tensor {
  /** @internal */
  readonly raw: RawTensor;

  /** @internal Use the factories (tensor, zeros, randn, ...) instead. */
  constructor(raw: RawTensor) {
    this.raw = raw;
    scopes[scopes.length - 1]?.add(this);
  }

  /** Size of each dimension, as `t.shape` (a new array each time). */
  get shape(): number[] { return this.raw.shape(); }
  /** Element type. */
  get dtype(): DType { return this.raw.dtype(); }
  /** Device it lives on: 'cpu', 'cuda:0', 'npu:0', ... */
  get device(): string { return this.raw.device(); }
  /** Number of dimensions (0 for a scalar). */
  get ndim(): number { return this.shape.length; }
  /** Number of elements: the product of the shape. */
  get numel(): number { return this.shape.reduce((a, b) => a * b, 1); }
  /** Elements to skip per step in each dimension, as `t.stride()`. */
  get strides(): number[] { return this.raw.strides(); }
  /** Whether {@link Tensor.dispose} has freed it; any other use then throws `Tensor already disposed`. */
  get isDisposed(): boolean { return this.raw.isDisposed(); }

  /** Whether autograd records operations on it, as `t.requires_grad`. Set it on leaf tensors only. */
  get requiresGrad(): boolean { return this.raw.requiresGrad(); }
  /** Turns autograd recording on or off for this (leaf) tensor, as `t.requires_grad_(flag)`. */
  set requiresGrad(flag: boolean) { this.raw.setRequiresGrad(v.boolean(flag, 'requiresGrad')); }
  /**
   * The gradient accumulated by {@link Tensor.backward}, or null before any, as `t.grad`.
   * A new handle each time: dispose it, or read it inside {@link tidy}.
   */
  get grad(): Tensor | null {
    const g = this.raw.grad();
    return g ? new Tensor(g) : null;
  }

  /**
   * Releases the native tensor now instead of at garbage collection. Idempotent. The memory is
   * freed once no other handle (a view, a detach(), a state-dict entry) shares the storage.
   */
  dispose(): void { this.raw.dispose(); }

  /**
   * A copy of the values in row-major order as a TypedArray: float32, float16 and bfloat16 as
   * Float32Array, float64 as Float64Array, int64 as BigInt64Array, int32 as Int32Array, uint8 and
   * bool as Uint8Array. Device tensors are copied to the host first.
   */
  data(): Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array { return this.raw.data(); }
  /** The values as a flat array of numbers, row-major (int64 beyond 2^53 loses precision). */
  toArray(): number[] { return Array.from(this.raw.data() as ArrayLike<number | bigint>, Number); }
  /** The value of a one-element tensor as a number. On a device this waits for the device to finish. */
  item(): number { return this.raw.item(); }

  /**
   * This tensor on another device and/or in another dtype or memory format, as `t.to(...)`:
   * `t.to('cuda')`, `t.to('float64')`, `t.to({ device, dtype, memoryFormat })`. A new handle on the
   * same storage when nothing changes, as in torch; gradients flow back through it. Throws when the
   * device is not built in or not present.
   */
  to(target: string | { device?: string; dtype?: DType; memoryFormat?: 'channels_last' | 'contiguous' }): Tensor {
    if (typeof target === 'string') {
      if ((dtypes as readonly string[]).includes(target)) return new Tensor(this.raw.to(null, target as DType, null));
      return new Tensor(this.raw.to(checkDevice(target, 'device'), null, null));
    }
    const o = v.options(target, 'to', ['device', 'dtype', 'memoryFormat']);
    return new Tensor(this.raw.to(
      o.device === undefined ? null : checkDevice(o.device),
      o.dtype === undefined ? null : v.oneOf(o.dtype, 'dtype', dtypes),
      o.memoryFormat === undefined ? null : v.oneOf(o.memoryFormat, 'memoryFormat', ['channels_last', 'contiguous'] as const),
    ));
  }

  /**
   * Computes the gradients of this tensor with respect to the graph's leaves and accumulates them
   * into their {@link Tensor.grad}, as `t.backward()`.
   *
   * @param gradient - d(out)/d(this); may be omitted only for a scalar.
   * @param options - `retainGraph` keeps the graph for another backward (false by default).
   */
  backward(gradient?: Tensor, options: { retainGraph?: boolean } = {}): void {
    this.raw.backward(gradient ? asTensor(gradient, 'gradient').raw : null, options.retainGraph ?? false);
  }

  // Elementwise.
  /** this + alpha * other, broadcasting as torch does. */
  add(other: Tensor | number, alpha = 1): Tensor { return this.binary('add', other, alpha); }
  /** this - alpha * other, broadcasting. */
  sub(other: Tensor | number, alpha = 1): Tensor { return this.binary('sub', other, alpha); }
  /** Elementwise product, broadcasting. */
  mul(other: Tensor | number): Tensor { return this.binary('mul', other); }
  /** Elementwise true division (integer tensors give floats), broadcasting. */
  div(other: Tensor | number): Tensor { return this.binary('div', other); }
  /** Elementwise power, broadcasting. */
  pow(exponent: Tensor | number): Tensor { return this.binary('pow', exponent); }
  /** Elementwise `==`, as a bool tensor. */
  eq(other: Tensor | number): Tensor { return this.binary('eq', other); }
  /** Elementwise `>`, as a bool tensor. */
  gt(other: Tensor | number): Tensor { return this.binary('gt', other); }
  /** Elementwise `<`, as a bool tensor. */
  lt(other: Tensor | number): Tensor { return this.binary('lt', other); }
  /** Matrix product with torch.matmul's rules (batched, broadcast, 1-d as vectors). */
  matmul(other: Tensor): Tensor { return new Tensor(this.raw.binary('matmul', asTensor(other, 'other').raw)); }
  /** -this, elementwise. */
  neg(): Tensor { return this.unary('neg'); }
  /** e to the power of each element. */
  exp(): Tensor { return this.unary('exp'); }
  /** Natural logarithm, elementwise. */
  log(): Tensor { return this.unary('log'); }
  /** Square root, elementwise. */
  sqrt(): Tensor { return this.unary('sqrt'); }
  /** Absolute value, elementwise. */
  abs(): Tensor { return this.unary('abs'); }
  /** max(x, 0), elementwise. */
  relu(): Tensor { return this.unary('relu'); }
  /** 1 / (1 + exp(-x)), elementwise. */
  sigmoid(): Tensor { return this.unary('sigmoid'); }
  /** Hyperbolic tangent, elementwise. */
  tanh(): Tensor { return this.unary('tanh'); }
  /** Limits every element to [min, max]; null leaves that side open. */
  clamp(min: number | null, max: number | null = null): Tensor {
    if (min !== null) v.number(min, 'min');
    if (max !== null) v.number(max, 'max');
    return new Tensor(this.raw.clamp(min, max));
  }

  // Reductions. With no dim they reduce everything.
  /** Sum over `dim` (one or several; all when omitted). keepdim keeps reduced dimensions as size 1. */
  sum(dim?: number | number[], keepdim = false): Tensor { return this.reduce('sum', dim, keepdim); }
  /** Mean over `dim` (one or several; all when omitted). keepdim keeps reduced dimensions as size 1. */
  mean(dim?: number | number[], keepdim = false): Tensor { return this.reduce('mean', dim, keepdim); }
  /** The largest value, as a 0-d tensor. */
  max(): Tensor;
  /** The largest values along `dim` and their int64 positions, as `torch.max(x, dim)`. */
  max(dim: number, keepdim?: boolean): {
    /** The maxima. */
    values: Tensor;
    /** Their positions along `dim` (int64). */
    indices: Tensor;
  };
  max(dim?: number, keepdim = false): Tensor | { values: Tensor; indices: Tensor } {
    if (dim === undefined) return this.reduce('max', undefined, false);
    const [values, indices] = this.raw.maxDim(v.integer(dim, 'dim'), v.boolean(keepdim, 'keepdim'));
    return { values: new Tensor(values), indices: new Tensor(indices) };
  }
  /** Index of the largest value along `dim`, or in the flattened tensor when omitted (int64). */
  argmax(dim?: number, keepdim = false): Tensor { return this.reduce('argmax', dim, keepdim); }
  /** softmax along `dim`: exp(x) / sum(exp(x)). */
  softmax(dim: number): Tensor { return this.reduce('softmax', v.integer(dim, 'dim'), false); }
  /** log(softmax(x)) along `dim`, computed stably, as `log_softmax`. */
  logSoftmax(dim: number): Tensor { return this.reduce('logSoftmax', v.integer(dim, 'dim'), false); }

  // Shapes.
  /**
   * The same values in a new shape, a view when possible (a copy otherwise); one size may be -1.
   * Takes sizes as arguments or one array.
   */
  reshape(...shape: number[] | [number[]]): Tensor { return this.shaped('reshape', shapeArgs(shape, 'shape', -1)); }
  /**
   * A view with a new shape, sharing storage; throws when the strides do not allow one (use reshape).
   * One size may be -1.
   */
  view(...shape: number[] | [number[]]): Tensor { return this.shaped('view', shapeArgs(shape, 'shape', -1)); }
  /** A view with the dimensions reordered. */
  permute(...dims: number[] | [number[]]): Tensor { return this.shaped('permute', shapeArgs(dims, 'dims')); }
  /** A view repeating size-1 dimensions to `shape` without copying; -1 keeps a size. */
  expand(...shape: number[] | [number[]]): Tensor { return this.shaped('expand', shapeArgs(shape, 'shape', -1)); }
  /** Flattens dimensions startDim..endDim (inclusive, all by default) into one. */
  flatten(startDim = 0, endDim = -1): Tensor {
    return this.shaped('flatten', [v.integer(startDim, 'startDim'), v.integer(endDim, 'endDim')]);
  }
  /** A view with two dimensions swapped. */
  transpose(dim0: number, dim1: number): Tensor {
    return this.shaped('transpose', [v.integer(dim0, 'dim0'), v.integer(dim1, 'dim1')]);
  }
  /** Removes size-1 dimensions: all of them, or only `dim`. */
  squeeze(dim?: number): Tensor { return this.shaped('squeeze', dim === undefined ? [] : [v.integer(dim, 'dim')]); }
  /** Inserts a size-1 dimension at `dim`. */
  unsqueeze(dim: number): Tensor { return this.shaped('unsqueeze', [v.integer(dim, 'dim')]); }
  /** The tensor itself in contiguous (row-major) memory: a copy only when it is not already. */
  contiguous(): Tensor { return this.unary('contiguous'); }
  /** A copy with its own memory; gradients flow back through it. */
  clone(): Tensor { return this.unary('clone'); }
  /** A new handle on the same storage, cut from the autograd graph. */
  detach(): Tensor { return this.unary('detach'); }
  /** Transpose of a matrix (at most 2-d). */
  t(): Tensor { return this.unary('t'); }
  /** The slices along `dim` at the int64 positions in `index`, as `index_select`. */
  indexSelect(dim: number, index: Tensor): Tensor {
    return new Tensor(this.raw.indexSelect(v.integer(dim, 'dim'), asTensor(index, 'index').raw));
  }
  /** A view of `length` entries along `dim` from `start`. */
  narrow(dim: number, start: number, length: number): Tensor {
    return new Tensor(this.raw.narrow(v.integer(dim, 'dim'), v.integer(start, 'start'), v.integer(length, 'length', 0)));
  }

  // In place; each returns this tensor.
  /** In-place {@link Tensor.relu}. */
  relu_(): this { this.raw.inPlace('relu_'); return this; }
  /** Fills with zeros, in place. */
  zero_(): this { this.raw.inPlace('zero_'); return this; }
  /** Fills with `value`, in place. */
  fill_(value: number): this { this.raw.inPlace('fill_', v.number(value, 'value')); return this; }
  /** Fills with samples from U(from, to), drawn from the global generator (see {@link manualSeed}), in place. */
  uniform_(from: number, to: number): this {
    this.raw.inPlace('uniform_', v.finite(from, 'from'), v.finite(to, 'to'));
    return this;
  }
  /** Fills with samples from N(mean, std²) from the global generator, in place. */
  normal_(mean = 0, std = 1): this {
    this.raw.inPlace('normal_', v.finite(mean, 'mean'), v.number(std, 'std', 0));
    return this;
  }
  /** Copies the values of `src` (broadcast, converted, across devices) into this tensor, in place. */
  copy_(src: Tensor): this { this.raw.inPlace('copy_', asTensor(src, 'src').raw); return this; }
  /**
   * Points this tensor at `other`'s storage (values, shape, device) while keeping its identity, as
   * Python's `t.data = other`: parameters held by optimizers stay the same objects.
   */
  setData(other: Tensor): this { this.raw.setData(asTensor(other, 'other').raw); return this; }

  /** A one-line summary: shape, dtype and device (not the values). */
  toString(): string {
    return this.isDisposed ? 'Tensor(disposed)' : `Tensor(shape=[${this.shape}], dtype=${this.dtype}, device=${this.device})`;
  }

  private unary(op: string): Tensor { return new Tensor(this.raw.unary(op)); }
  private binary(op: string, other: Tensor | number, alpha?: number): Tensor {
    if (alpha !== undefined) v.finite(alpha, 'alpha');
    if (typeof other === 'number') return new Tensor(this.raw.binary(op, other, alpha));
    return new Tensor(this.raw.binary(op, asTensor(other, 'other').raw, alpha));
  }
  private reduce(op: string, dim: number | number[] | undefined, keepdim: boolean): Tensor {
    const dims = dim === undefined ? null : Array.isArray(dim) ? v.intList(dim, 'dim') : [v.integer(dim, 'dim')];
    return new Tensor(this.raw.reduce(op, dims, v.boolean(keepdim, 'keepdim')));
  }
  private shaped(op: string, sizes: number[]): Tensor { return new Tensor(this.raw.shaped(op, sizes)); }
}

function shapeArgs(args: number[] | [number[]], name: string, min = -Infinity): number[] {
  const list = args.length === 1 && Array.isArray(args[0]) ? args[0] : args;
  return v.intList(list, name, min);
}

export function asTensor(t: unknown, name: string): Tensor {
  if (!(t instanceof Tensor)) throw v.invalid('Tensor', name, t);
  return t;
}

function resolve(options: TensorOptions | undefined, defaultDtype: DType): { dtype: DType; device: string; requiresGrad: boolean } {
  const o = v.options(options, 'options', ['dtype', 'device', 'requiresGrad']);
  return resolved(o, defaultDtype);
}

function resolved(o: TensorOptions, defaultDtype: DType): { dtype: DType; device: string; requiresGrad: boolean } {
  return {
    dtype: o.dtype === undefined ? defaultDtype : v.oneOf(o.dtype, 'dtype', dtypes),
    device: o.device === undefined ? 'cpu' : checkDevice(o.device),
    requiresGrad: o.requiresGrad === undefined ? false : v.boolean(o.requiresGrad, 'requiresGrad'),
  };
}

/** The options of the random factories, with the generator's seed when one is given. */
function resolveRandom(options: RandomOptions | undefined, defaultDtype: DType): { dtype: DType; device: string; requiresGrad: boolean; seed: number | undefined } {
  const o = v.options(options, 'options', ['dtype', 'device', 'requiresGrad', 'seed']) as RandomOptions;
  const r = resolved(o, defaultDtype);
  const seed = o.seed === undefined ? undefined : v.integer(o.seed, 'seed', 0, Number.MAX_SAFE_INTEGER);
  // A seeded generator is a CPU generator, as torch.Generator() is by default.
  if (seed !== undefined && r.device !== 'cpu') throw new TypeError(`Expected device 'cpu' with a seed but received '${r.device}': seeded draws use a CPU generator`);
  return { ...r, seed };
}

function finish(raw: RawTensor, requiresGrad: boolean): Tensor {
  const t = new Tensor(raw);
  if (requiresGrad) t.requiresGrad = true;
  return t;
}

function checkShape(shape: unknown): number[] {
  return v.intList(shape, 'shape', 0);
}

const arrayDtypes: [new (...a: never[]) => TypedData, DType][] = [
  [Float32Array, 'float32'], [Float64Array, 'float64'], [BigInt64Array, 'int64'], [Int32Array, 'int32'], [Uint8Array, 'uint8'],
];

/**
 * A tensor from values, as `torch.tensor`: a TypedArray (with an optional shape) or a rectangular
 * nested array of numbers.
 *
 * ```ts
 * tensor([[1, 2], [3, 4]]);                 // float32 [2, 2]
 * tensor(new Float32Array(6), [2, 3]);      // the array's dtype
 * tensor([1, 0], { dtype: 'int64' });
 * ```
 *
 * Number arrays give float32 by default; a TypedArray keeps its own dtype (Float32Array float32,
 * Float64Array float64, BigInt64Array int64, Int32Array int32, Uint8Array uint8). The values are
 * copied. Throws a TypeError for ragged arrays or a shape the values do not fill.
 */
export function tensor(values: ArrayLike<number> | ArrayLike<bigint> | unknown[], shapeOrOptions?: number[] | TensorOptions, maybeOptions?: TensorOptions): Tensor {
  const shape = Array.isArray(shapeOrOptions) ? checkShape(shapeOrOptions) : undefined;
  const options = Array.isArray(shapeOrOptions) ? maybeOptions : shapeOrOptions;
  let data: TypedData;
  let inferred: number[];
  let natural: DType = 'float32';
  if (ArrayBuffer.isView(values)) {
    const match = arrayDtypes.find(([ctor]) => values instanceof ctor);
    if (!match) throw v.invalid('Float32Array, Float64Array, BigInt64Array, Int32Array or Uint8Array', 'values', values);
    data = values as TypedData;
    natural = match[1];
    inferred = [data.length];
  } else if (Array.isArray(values)) {
    inferred = [];
    let level: unknown = values;
    while (Array.isArray(level)) {
      inferred.push(level.length);
      level = level[0];
    }
    const flat = (values as unknown[]).flat(Infinity) as unknown[];
    if (flat.length !== inferred.reduce((a, b) => a * b, 1)) throw new TypeError('tensor: nested arrays must be rectangular');
    flat.forEach((x, i) => {
      if (typeof x !== 'number' && typeof x !== 'boolean') throw v.invalid('number', `values[${i}]`, x);
    });
    data = Float64Array.from(flat as number[]);
    natural = 'float64';
  } else {
    throw v.invalid('TypedArray or array of numbers', 'values', values);
  }
  const finalShape = shape ?? inferred;
  if (finalShape.reduce((a, b) => a * b, 1) !== data.length) {
    throw new TypeError(`tensor: ${data.length} values do not fill shape [${finalShape}]`);
  }
  const o = resolve(options, ArrayBuffer.isView(values) ? natural : 'float32');
  const raw = addon.Tensor.fromData(data, finalShape, natural, 'cpu');
  let t = raw;
  if (o.dtype !== natural || o.device !== 'cpu') {
    t = raw.to(o.device === 'cpu' ? null : o.device, o.dtype === natural ? null : o.dtype, null);
    raw.dispose();
  }
  return finish(t, o.requiresGrad);
}

/** A tensor of zeros, as `torch.zeros`. float32 on the CPU unless `options` say otherwise. */
export function zeros(shape: number[], options?: TensorOptions): Tensor {
  const o = resolve(options, 'float32');
  return finish(addon.Tensor.fill('zeros', checkShape(shape), o.dtype, o.device), o.requiresGrad);
}
/** A tensor of ones, as `torch.ones`. float32 on the CPU unless `options` say otherwise. */
export function ones(shape: number[], options?: TensorOptions): Tensor {
  const o = resolve(options, 'float32');
  return finish(addon.Tensor.fill('ones', checkShape(shape), o.dtype, o.device), o.requiresGrad);
}
/** A tensor with uninitialised values, as `torch.empty`: the fastest factory when every value is overwritten next. */
export function empty(shape: number[], options?: TensorOptions): Tensor {
  const o = resolve(options, 'float32');
  return finish(addon.Tensor.fill('empty', checkShape(shape), o.dtype, o.device), o.requiresGrad);
}
/** A tensor filled with `value`, as `torch.full`. float32 unless `options.dtype` says otherwise. */
export function full(shape: number[], value: number, options?: TensorOptions): Tensor {
  const o = resolve(options, 'float32');
  return finish(addon.Tensor.fill('full', checkShape(shape), o.dtype, o.device, v.number(value, 'value')), o.requiresGrad);
}
/** Samples from N(0, 1) drawn from the global generator (see {@link manualSeed}), as `torch.randn`. */
export function randn(shape: number[], options?: RandomOptions): Tensor {
  const o = resolveRandom(options, 'float32');
  return finish(addon.Tensor.random('randn', checkShape(shape), o.dtype, o.device, undefined, undefined, o.seed), o.requiresGrad);
}
/** Samples from U[0, 1) drawn from the global generator, as `torch.rand`. */
export function rand(shape: number[], options?: RandomOptions): Tensor {
  const o = resolveRandom(options, 'float32');
  return finish(addon.Tensor.random('rand', checkShape(shape), o.dtype, o.device, undefined, undefined, o.seed), o.requiresGrad);
}
/**
 * Integers drawn uniformly from [low, high) with the global generator, as `torch.randint`; int64 by default.
 * Throws a TypeError unless high > low. Never requires grad.
 */
export function randint(low: number, high: number, shape: number[], options?: RandomOptions): Tensor {
  const o = resolveRandom(options, 'int64');
  v.integer(low, 'low');
  v.integer(high, 'high', low + 1);
  return finish(addon.Tensor.random('randint', checkShape(shape), o.dtype, o.device, low, high, o.seed), false);
}
/** A random permutation of 0..n-1 from the global generator, as `torch.randperm`; int64 by default. */
export function randperm(n: number, options?: RandomOptions): Tensor {
  const o = resolveRandom(options, 'int64');
  return finish(addon.Tensor.random('randperm', [], o.dtype, o.device, v.integer(n, 'n', 0), undefined, o.seed), false);
}
/**
 * Values from start (inclusive, 0 by default) to end (exclusive) in steps of `step`, as `torch.arange`:
 * `arange(end)` or `arange(start, end, step)`. int64 when all three are integers, float32 otherwise.
 * Throws a TypeError for a step of 0.
 */
export function arange(startOrEnd: number, end?: number, step = 1, options?: TensorOptions): Tensor {
  const [s, e] = end === undefined ? [0, startOrEnd] : [startOrEnd, end];
  v.finite(s, 'start');
  v.finite(e, 'end');
  if (typeof step !== 'number' || !Number.isFinite(step) || step === 0) throw v.invalid('non-zero finite number', 'step', step);
  const allInts = [s, e, step].every(Number.isInteger);
  const o = resolve(options, allInts ? 'int64' : 'float32');
  return finish(addon.Tensor.arange(s, e, step, o.dtype, o.device), o.requiresGrad);
}
/**
 * Joins tensors along an existing dimension `dim` (0 by default), as `torch.cat`. Shapes must match
 * except in `dim`; the list must not be empty.
 */
export function cat(tensors: Tensor[], dim = 0): Tensor {
  if (!Array.isArray(tensors) || tensors.length === 0) throw v.invalid('non-empty array of tensors', 'tensors', tensors);
  return new Tensor(addon.Tensor.cat(tensors.map((t, i) => asTensor(t, `tensors[${i}]`).raw), v.integer(dim, 'dim')));
}
/** Joins same-shape tensors along a new dimension `dim` (0 by default), as `torch.stack`. */
export function stack(tensors: Tensor[], dim = 0): Tensor {
  if (!Array.isArray(tensors) || tensors.length === 0) throw v.invalid('non-empty array of tensors', 'tensors', tensors);
  return new Tensor(addon.Tensor.stack(tensors.map((t, i) => asTensor(t, `tensors[${i}]`).raw), v.integer(dim, 'dim')));
}

/**
 * Runs `fn` with autograd off, as `with torch.no_grad():`: for evaluation and in-place weight
 * updates, where no graph is needed. Returns what `fn` returns.
 */
export function noGrad<T>(fn: () => T): T {
  const prev = addon.isGradEnabled();
  addon.setGradEnabled(false);
  try {
    return fn();
  } finally {
    addon.setGradEnabled(prev);
  }
}

function collect(value: unknown, out: Set<Tensor>, depth = 0): void {
  if (depth > 8 || value === null || typeof value !== 'object') return;
  if (value instanceof Tensor) {
    out.add(value);
    return;
  }
  for (const x of Array.isArray(value) ? value : Object.values(value)) collect(x, out, depth + 1);
}

/**
 * Runs `fn` and disposes every tensor created inside it, except the tensors it returns (alone, or
 * in an array or object), which move to the enclosing scope. The way to free a training step's
 * intermediates. `fn` must be synchronous: a Promise result throws a TypeError.
 */
export function tidy<T>(fn: () => T): T {
  const scope: Scope = new Set();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    scopes.pop();
    for (const t of scope) t.dispose();
    throw e;
  }
  scopes.pop();
  if (result instanceof Promise) throw new TypeError('tidy: fn must be synchronous (it returned a Promise)');
  const kept = new Set<Tensor>();
  collect(result, kept);
  for (const t of scope) if (!kept.has(t)) t.dispose();
  const parent = scopes[scopes.length - 1];
  if (parent) for (const t of kept) parent.add(t);
  return result;
}

/** Exempts a tensor made inside {@link tidy} from disposal: the caller then owns it. Returns the tensor. */
export function keep<T extends Tensor>(t: T): T {
  for (const s of scopes) s.delete(t);
  return t;
}
