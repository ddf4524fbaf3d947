// Numeric comparison of tensors for the parity tests.
import type { ExecutionContext } from 'ava';
import { Tensor } from '../../src/tensor';

export interface Tolerance {
  /** Relative tolerance (default 1e-5). */
  rtol?: number;
  /** Absolute tolerance (default 1e-6); with scaleAtol, the most it can be. */
  atol?: number;
  /**
   * true (the default): the absolute tolerance is min(atol, rtol * scale), where
   * scale is the reference's largest finite magnitude, so that "rtol relative"
   * holds for small tensors too (atol 1e-6 on values around 1e-3 would allow 1e-3
   * relative). false: atol as given. Checks that two tensors DIFFER pass false, so
   * that they need a difference above the fixed atol.
   */
  scaleAtol?: boolean;
}

export interface Closeness {
  ok: boolean;
  /** Elements outside the tolerance. */
  bad: number;
  /** The worst element: its flat index, our value and the reference value. */
  worst: { index: number; actual: number; expected: number; diff: number } | null;
  maxAbsDiff: number;
  /** The absolute tolerance that was applied. */
  atol: number;
}

/** A tensor's values as numbers: its typed array where that holds numbers (no copy into a JS array). */
export function values(t: Tensor): ArrayLike<number> {
  const d = t.data();
  return d instanceof BigInt64Array ? Array.from(d, Number) : d;
}

/** The largest finite magnitude of a tensor's values (0 when none is finite). */
export function scaleOf(values: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < values.length; i++) {
    const x = Math.abs(values[i]);
    if (x > m && x !== Infinity) m = x;
  }
  return m;
}

/** The absolute tolerance closeness() uses for a reference with these values. */
export function effectiveAtol(expected: ArrayLike<number>, { rtol = 1e-5, atol = 1e-6, scaleAtol = true }: Tolerance = {}): number {
  return scaleAtol ? Math.min(atol, rtol * scaleOf(expected)) : atol;
}

/**
 * torch.allclose's test, |a - b| <= atol + rtol * |b|, element by element (NaN
 * equals NaN), with atol scaled to the reference (see Tolerance.scaleAtol).
 */
export function closeness(actual: Tensor, expected: Tensor, tol: Tolerance = {}): Closeness {
  const a = values(actual);
  const b = values(expected);
  if (a.length !== b.length) throw new Error(`closeness: ${a.length} values vs ${b.length}`);
  const rtol = tol.rtol ?? 1e-5;
  const atol = effectiveAtol(b, tol);
  let bad = 0;
  let maxAbsDiff = 0;
  let worst: Closeness['worst'] = null;
  let worstExcess = -Infinity;
  for (let i = 0; i < a.length; i++) {
    if (Number.isNaN(a[i]) && Number.isNaN(b[i])) continue;
    const diff = Math.abs(a[i] - b[i]);
    const excess = diff - (atol + rtol * Math.abs(b[i]));
    if (!(excess <= 0)) bad++;
    if (diff > maxAbsDiff || Number.isNaN(diff)) maxAbsDiff = Number.isNaN(diff) ? NaN : diff;
    if (excess > worstExcess || Number.isNaN(excess)) {
      worstExcess = Number.isNaN(excess) ? Infinity : excess;
      worst = { index: i, actual: a[i], expected: b[i], diff };
    }
  }
  return { ok: bad === 0, bad, worst, maxAbsDiff, atol };
}

/** Asserts same shape, same dtype and allclose values. */
export function assertClose(t: ExecutionContext, actual: Tensor | null | undefined, expected: Tensor | null | undefined,
  label: string, tol: Tolerance = {}): void {
  if (!(expected instanceof Tensor)) {
    t.fail(`${label}: the reference has no tensor`);
    return;
  }
  if (!(actual instanceof Tensor)) {
    t.fail(`${label}: torchbridge gave ${actual === null ? 'null' : typeof actual} where PyTorch gave a tensor`);
    return;
  }
  t.deepEqual(actual.shape, expected.shape, `${label}: shape`);
  t.is(actual.dtype, expected.dtype, `${label}: dtype`);
  if (actual.numel !== expected.numel) return;
  const c = closeness(actual, expected, tol);
  t.true(c.ok, `${label}: ${c.bad} of ${actual.numel} values differ beyond rtol ${tol.rtol ?? 1e-5}, atol ${c.atol}; ` +
    `worst at ${c.worst?.index}: ${c.worst?.actual} vs ${c.worst?.expected}`);
}

/** Asserts identical shape, dtype and bits-equal values (NaN equals NaN). */
export function assertEqualTensors(t: ExecutionContext, actual: Tensor, expected: Tensor, label: string): void {
  assertClose(t, actual, expected, label, { rtol: 0, atol: 0 });
}
