// Tensor: a typed handle over a native libtorch tensor.
//
// Memory: call dispose(), or create tensors inside tidy(), which disposes every
// intermediate made in it except what it returns. The GC finalizer is only a backstop.
import { checkDevice } from './device';
import { addon, DType, RawTensor, TypedData } from './native';
import * as v from './validate';

export type { DType } from './native';
export const dtypes: readonly DType[] = ['float32', 'float64', 'float16', 'bfloat16', 'int64', 'int32', 'uint8', 'bool'];

export interface TensorOptions {
  dtype?: DType;
  device?: string;
  requiresGrad?: boolean;
}

type Scope = Set<Tensor>;
const scopes: Scope[] = [];

export class Tensor {
  /** @internal */
  readonly raw: RawTensor;

  /** @internal Use the factories (tensor, zeros, randn, ...) instead. */
  constructor(raw: RawTensor) {
    this.raw = raw;
    scopes[scopes.length - 1]?.add(this);
  }

  get shape(): number[] { return this.raw.shape(); }
  get dtype(): DType { return this.raw.dtype(); }
  get device(): string { return this.raw.device(); }
  get ndim(): number { return this.shape.length; }
  get numel(): number { return this.shape.reduce((a, b) => a * b, 1); }
  get strides(): number[] { return this.raw.strides(); }
  get isDisposed(): boolean { return this.raw.isDisposed(); }

  get requiresGrad(): boolean { return this.raw.requiresGrad(); }
  set requiresGrad(flag: boolean) { this.raw.setRequiresGrad(v.boolean(flag, 'requiresGrad')); }
  /** The accumulated gradient, or null. A new handle each time: dispose it or read it in tidy(). */
  get grad(): Tensor | null {
    const g = this.raw.grad();
    return g ? new Tensor(g) : null;
  }

  /** Frees the native memory now. Idempotent. */
  dispose(): void { this.raw.dispose(); }

  /** A copy of the values as a TypedArray (int64 as BigInt64Array; half types as Float32Array). */
  data(): Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array { return this.raw.data(); }
  /** The values as a flat array of numbers. */
  toArray(): number[] { return Array.from(this.raw.data() as ArrayLike<number | bigint>, Number); }
  item(): number { return this.raw.item(); }

  /** Moves and/or converts: t.to('cuda'), t.to('float64'), t.to({device, dtype, memoryFormat}). */
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

  backward(gradient?: Tensor, options: { retainGraph?: boolean } = {}): void {
    this.raw.backward(gradient ? asTensor(gradient, 'gradient').raw : null, options.retainGraph ?? false);
  }

  // Elementwise.
  add(other: Tensor | number, alpha = 1): Tensor { return this.binary('add', other, alpha); }
  sub(other: Tensor | number, alpha = 1): Tensor { return this.binary('sub', other, alpha); }
  mul(other: Tensor | number): Tensor { return this.binary('mul', other); }
  div(other: Tensor | number): Tensor { return this.binary('div', other); }
  pow(exponent: Tensor | number): Tensor { return this.binary('pow', exponent); }
  eq(other: Tensor | number): Tensor { return this.binary('eq', other); }
  gt(other: Tensor | number): Tensor { return this.binary('gt', other); }
  lt(other: Tensor | number): Tensor { return this.binary('lt', other); }
  matmul(other: Tensor): Tensor { return new Tensor(this.raw.binary('matmul', asTensor(other, 'other').raw)); }
  neg(): Tensor { return this.unary('neg'); }
  exp(): Tensor { return this.unary('exp'); }
  log(): Tensor { return this.unary('log'); }
  sqrt(): Tensor { return this.unary('sqrt'); }
  abs(): Tensor { return this.unary('abs'); }
  relu(): Tensor { return this.unary('relu'); }
  sigmoid(): Tensor { return this.unary('sigmoid'); }
  tanh(): Tensor { return this.unary('tanh'); }
  clamp(min: number | null, max: number | null = null): Tensor {
    if (min !== null) v.number(min, 'min');
    if (max !== null) v.number(max, 'max');
    return new Tensor(this.raw.clamp(min, max));
  }

  // Reductions. With no dim they reduce everything.
  sum(dim?: number | number[], keepdim = false): Tensor { return this.reduce('sum', dim, keepdim); }
  mean(dim?: number | number[], keepdim = false): Tensor { return this.reduce('mean', dim, keepdim); }
  /** max() over everything; max(dim) gives {values, indices} like torch.max(x, dim). */
  max(): Tensor;
  max(dim: number, keepdim?: boolean): { values: Tensor; indices: Tensor };
  max(dim?: number, keepdim = false): Tensor | { values: Tensor; indices: Tensor } {
    if (dim === undefined) return this.reduce('max', undefined, false);
    const [values, indices] = this.raw.maxDim(v.integer(dim, 'dim'), v.boolean(keepdim, 'keepdim'));
    return { values: new Tensor(values), indices: new Tensor(indices) };
  }
  argmax(dim?: number, keepdim = false): Tensor { return this.reduce('argmax', dim, keepdim); }
  softmax(dim: number): Tensor { return this.reduce('softmax', v.integer(dim, 'dim'), false); }
  logSoftmax(dim: number): Tensor { return this.reduce('logSoftmax', v.integer(dim, 'dim'), false); }

  // Shapes.
  reshape(...shape: number[] | [number[]]): Tensor { return this.shaped('reshape', shapeArgs(shape, 'shape', -1)); }
  view(...shape: number[] | [number[]]): Tensor { return this.shaped('view', shapeArgs(shape, 'shape', -1)); }
  permute(...dims: number[] | [number[]]): Tensor { return this.shaped('permute', shapeArgs(dims, 'dims')); }
  expand(...shape: number[] | [number[]]): Tensor { return this.shaped('expand', shapeArgs(shape, 'shape', -1)); }
  flatten(startDim = 0, endDim = -1): Tensor {
    return this.shaped('flatten', [v.integer(startDim, 'startDim'), v.integer(endDim, 'endDim')]);
  }
  transpose(dim0: number, dim1: number): Tensor {
    return this.shaped('transpose', [v.integer(dim0, 'dim0'), v.integer(dim1, 'dim1')]);
  }
  squeeze(dim?: number): Tensor { return this.shaped('squeeze', dim === undefined ? [] : [v.integer(dim, 'dim')]); }
  unsqueeze(dim: number): Tensor { return this.shaped('unsqueeze', [v.integer(dim, 'dim')]); }
  contiguous(): Tensor { return this.unary('contiguous'); }
  clone(): Tensor { return this.unary('clone'); }
  detach(): Tensor { return this.unary('detach'); }
  t(): Tensor { return this.unary('t'); }
  indexSelect(dim: number, index: Tensor): Tensor {
    return new Tensor(this.raw.indexSelect(v.integer(dim, 'dim'), asTensor(index, 'index').raw));
  }
  narrow(dim: number, start: number, length: number): Tensor {
    return new Tensor(this.raw.narrow(v.integer(dim, 'dim'), v.integer(start, 'start'), v.integer(length, 'length', 0)));
  }

  // In place; each returns this tensor.
  relu_(): this { this.raw.inPlace('relu_'); return this; }
  zero_(): this { this.raw.inPlace('zero_'); return this; }
  fill_(value: number): this { this.raw.inPlace('fill_', v.number(value, 'value')); return this; }
  uniform_(from: number, to: number): this {
    this.raw.inPlace('uniform_', v.finite(from, 'from'), v.finite(to, 'to'));
    return this;
  }
  normal_(mean = 0, std = 1): this {
    this.raw.inPlace('normal_', v.finite(mean, 'mean'), v.number(std, 'std', 0));
    return this;
  }
  copy_(src: Tensor): this { this.raw.inPlace('copy_', asTensor(src, 'src').raw); return this; }
  /** Replaces the values and shape while keeping identity, like Python's `t.data = other`. */
  setData(other: Tensor): this { this.raw.setData(asTensor(other, 'other').raw); return this; }

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
  return {
    dtype: o.dtype === undefined ? defaultDtype : v.oneOf(o.dtype, 'dtype', dtypes),
    device: o.device === undefined ? 'cpu' : checkDevice(o.device),
    requiresGrad: o.requiresGrad === undefined ? false : v.boolean(o.requiresGrad, 'requiresGrad'),
  };
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
 * A tensor from values: a TypedArray or a (nested) number array, plus an optional shape.
 * tensor([[1, 2], [3, 4]]), tensor(new Float32Array(6), [2, 3]), tensor([1, 0], {dtype: 'int64'}).
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

export function zeros(shape: number[], options?: TensorOptions): Tensor {
  const o = resolve(options, 'float32');
  return finish(addon.Tensor.fill('zeros', checkShape(shape), o.dtype, o.device), o.requiresGrad);
}
export function ones(shape: number[], options?: TensorOptions): Tensor {
  const o = resolve(options, 'float32');
  return finish(addon.Tensor.fill('ones', checkShape(shape), o.dtype, o.device), o.requiresGrad);
}
export function empty(shape: number[], options?: TensorOptions): Tensor {
  const o = resolve(options, 'float32');
  return finish(addon.Tensor.fill('empty', checkShape(shape), o.dtype, o.device), o.requiresGrad);
}
export function full(shape: number[], value: number, options?: TensorOptions): Tensor {
  const o = resolve(options, 'float32');
  return finish(addon.Tensor.fill('full', checkShape(shape), o.dtype, o.device, v.number(value, 'value')), o.requiresGrad);
}
/** Standard normal samples from the global generator (see manualSeed). */
export function randn(shape: number[], options?: TensorOptions): Tensor {
  const o = resolve(options, 'float32');
  return finish(addon.Tensor.random('randn', checkShape(shape), o.dtype, o.device), o.requiresGrad);
}
/** Uniform [0, 1) samples from the global generator. */
export function rand(shape: number[], options?: TensorOptions): Tensor {
  const o = resolve(options, 'float32');
  return finish(addon.Tensor.random('rand', checkShape(shape), o.dtype, o.device), o.requiresGrad);
}
export function randint(low: number, high: number, shape: number[], options?: TensorOptions): Tensor {
  const o = resolve(options, 'int64');
  v.integer(low, 'low');
  v.integer(high, 'high', low + 1);
  return finish(addon.Tensor.random('randint', checkShape(shape), o.dtype, o.device, low, high), false);
}
export function randperm(n: number, options?: TensorOptions): Tensor {
  const o = resolve(options, 'int64');
  return finish(addon.Tensor.random('randperm', [], o.dtype, o.device, v.integer(n, 'n', 0)), false);
}
/** arange(end) or arange(start, end, step). */
export function arange(startOrEnd: number, end?: number, step = 1, options?: TensorOptions): Tensor {
  const [s, e] = end === undefined ? [0, startOrEnd] : [startOrEnd, end];
  v.finite(s, 'start');
  v.finite(e, 'end');
  if (typeof step !== 'number' || !Number.isFinite(step) || step === 0) throw v.invalid('non-zero finite number', 'step', step);
  const allInts = [s, e, step].every(Number.isInteger);
  const o = resolve(options, allInts ? 'int64' : 'float32');
  return finish(addon.Tensor.arange(s, e, step, o.dtype, o.device), o.requiresGrad);
}
export function cat(tensors: Tensor[], dim = 0): Tensor {
  if (!Array.isArray(tensors) || tensors.length === 0) throw v.invalid('non-empty array of tensors', 'tensors', tensors);
  return new Tensor(addon.Tensor.cat(tensors.map((t, i) => asTensor(t, `tensors[${i}]`).raw), v.integer(dim, 'dim')));
}
export function stack(tensors: Tensor[], dim = 0): Tensor {
  if (!Array.isArray(tensors) || tensors.length === 0) throw v.invalid('non-empty array of tensors', 'tensors', tensors);
  return new Tensor(addon.Tensor.stack(tensors.map((t, i) => asTensor(t, `tensors[${i}]`).raw), v.integer(dim, 'dim')));
}

/** Runs fn with autograd off, like `with torch.no_grad():`. */
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
 * Runs fn and disposes every tensor created inside it, except the tensors it
 * returns (alone, or in an array or object), which move to the enclosing scope.
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

/** Exempts a tensor made inside tidy() from disposal. */
export function keep<T extends Tensor>(t: T): T {
  for (const s of scopes) s.delete(t);
  return t;
}
