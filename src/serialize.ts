// save/load in PyTorch's file format (torch.save's zip of a pickle): Python's
// torch.load reads what we save, and we read torch.save's dicts of tensors.
// Writes go to a temporary file that is flushed and renamed.
import { addon, RawTensor, Saveable } from './native';
import { Tensor } from './tensor';
import * as v from './validate';

/**
 * What {@link save} writes and {@link load} returns: tensors, finite numbers, strings, booleans,
 * null, and arrays and plain objects of them (a state dict, an optimizer's state dict, a checkpoint).
 */
export type Value = Tensor | number | string | boolean | null | Value[] | { [key: string]: Value };

function toRaw(x: unknown, where: string, depth = 0): Saveable {
  if (depth > 32) throw new TypeError(`save: ${where} is nested too deeply`);
  if (x instanceof Tensor) {
    if (x.isDisposed) throw new Error(`save: ${where}: Tensor already disposed`);
    return x.raw;
  }
  if (x === null || typeof x === 'string' || typeof x === 'boolean') return x;
  if (typeof x === 'number') {
    if (!Number.isFinite(x)) throw v.invalid('finite number', `save ${where}`, x);
    return x;
  }
  if (Array.isArray(x)) return x.map((e, i) => toRaw(e, `${where}[${i}]`, depth + 1));
  if (typeof x === 'object' && Object.getPrototypeOf(x) === Object.prototype) {
    const out: Record<string, Saveable> = {};
    for (const [k, e] of Object.entries(x)) if (e !== undefined) out[k] = toRaw(e, `${where}.${k}`, depth + 1);
    return out;
  }
  throw v.invalid('Tensor, number, string, boolean, null, array or plain object', `save ${where}`, x);
}

// A file can share one list or dict many times over (2**40 paths in a few hundred
// bytes): convert each once, keeping it shared, as the addon and Python do.
function fromRaw(x: Saveable, seen = new Map<object, Value>()): Value {
  if (x === null || typeof x !== 'object') return x;
  const done = seen.get(x);
  if (done !== undefined) return done;
  if (Array.isArray(x)) {
    const out: Value[] = [];
    seen.set(x, out);
    for (const e of x) out.push(fromRaw(e, seen));
    return out;
  }
  if (typeof (x as RawTensor).shape === 'function' && typeof (x as RawTensor).dispose === 'function') return new Tensor(x as RawTensor);
  const out: Record<string, Value> = {};
  seen.set(x, out);
  for (const [k, e] of Object.entries(x)) out[k] = fromRaw(e, seen);
  return out;
}

/**
 * Disposes every tensor inside a saved or loaded value, however deeply nested: free what {@link load}
 * returned with it.
 */
export function disposeValue(x: Value | undefined): void {
  if (x instanceof Tensor) x.dispose();
  else if (Array.isArray(x)) x.forEach(disposeValue);
  else if (x && typeof x === 'object') Object.values(x).forEach(disposeValue);
}

/**
 * Saves tensors, numbers, strings, arrays and objects to `path` in PyTorch's format, as
 * `torch.save`: Python's `torch.load` reads the file. Written to a temporary file that is flushed
 * and renamed, so a crash never leaves half a file. Object keys that are whole numbers ("0", "12")
 * become Python int keys, as torch.optim's state dicts need; load() gives them back as strings.
 *
 * Throws a TypeError for values it cannot write (NaN, functions, class instances other than
 * Tensor), an Error for a disposed tensor or a failed write. The tensors stay the caller's.
 */
export async function save(value: Value, path: string): Promise<void> {
  v.string(path, 'path');
  await addon.save(path, toRaw(value, 'value'));
}

/**
 * Loads a file written by {@link save} or by Python's `torch.save`, as `torch.load(weights_only=True)`:
 * only dicts, lists, tuples, numbers, strings and tensors are read, and nothing in the file runs.
 * The caller owns the returned tensors (free them with {@link disposeValue}). Throws an Error that
 * names the problem for a missing, truncated or hostile file.
 */
export async function load(path: string): Promise<Value> {
  v.string(path, 'path');
  return fromRaw(await addon.load(path));
}
