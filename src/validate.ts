// Argument checks with sharp-style messages:
//   Expected positive integer for batchSize but received -1 of type number
function describe(value: unknown): string {
  let shown: string;
  try {
    shown = typeof value === 'string' ? `'${value}'`
      : typeof value === 'bigint' ? `${value}n`
      : typeof value === 'number' ? String(value) // JSON would show NaN and Infinity as null
      : String(JSON.stringify(value) ?? value);
  } catch {
    shown = fallbackText(value);
  }
  if (shown.length > 60) shown = `${shown.slice(0, 57)}...`;
  return `${shown} of type ${value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value}`;
}

// For values JSON can't show: String() throws too for an array holding a Symbol,
// and any text at all for a Proxy whose traps throw.
function fallbackText(value: unknown): string {
  try {
    return String(value);
  } catch {
    try {
      return Object.prototype.toString.call(value);
    } catch {
      return `[${typeof value}]`;
    }
  }
}

/** A refused argument: what was expected, for which argument, and what came instead. */
export class ArgumentError extends TypeError {
  constructor(readonly expected: string, readonly argument: string, readonly value: unknown) {
    super(`Expected ${expected} for ${argument} but received ${describe(value)}`);
    this.name = 'TypeError';
  }
}

export function invalid(expected: string, name: string, value: unknown): ArgumentError {
  return new ArgumentError(expected, name, value);
}

export function isInteger(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v);
}

export function integer(v: unknown, name: string, min = -Infinity, max = Infinity): number {
  if (!isInteger(v) || v < min || v > max) {
    const what =
      min === 1 && max === Infinity ? 'positive integer'
      : min === 0 && max === Infinity ? 'non-negative integer'
      : min === -Infinity && max === Infinity ? 'integer'
      : `integer between ${min} and ${max}`;
    throw invalid(what, name, v);
  }
  return v;
}

export function number(v: unknown, name: string, min = -Infinity, max = Infinity): number {
  if (typeof v !== 'number' || Number.isNaN(v) || v < min || v > max) {
    const what =
      min === -Infinity && max === Infinity ? 'number'
      : max === Infinity ? `number >= ${min}`
      : `number between ${min} and ${max}`;
    throw invalid(what, name, v);
  }
  return v;
}

export function positive(v: unknown, name: string): number {
  if (typeof v !== 'number' || !(v > 0) || v === Infinity) throw invalid('positive number', name, v);
  return v;
}

export function finite(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw invalid('finite number', name, v);
  return v;
}

export function boolean(v: unknown, name: string): boolean {
  if (typeof v !== 'boolean') throw invalid('boolean', name, v);
  return v;
}

export function string(v: unknown, name: string): string {
  if (typeof v !== 'string' || v.length === 0) throw invalid('non-empty string', name, v);
  return v;
}

export function oneOf<T extends string>(v: unknown, name: string, choices: readonly T[]): T {
  if (typeof v !== 'string' || !(choices as readonly string[]).includes(v)) {
    throw invalid(`one of ${choices.map((c) => `'${c}'`).join(', ')}`, name, v);
  }
  return v as T;
}

export function intList(v: unknown, name: string, min = -Infinity): number[] {
  if (!Array.isArray(v) || !v.every((e) => isInteger(e) && e >= min)) {
    throw invalid(min === 0 ? 'array of non-negative integers' : min === 1 ? 'array of positive integers' : 'array of integers', name, v);
  }
  return v as number[];
}

export function stringList(v: unknown, name: string): string[] {
  if (!Array.isArray(v) || !v.every((e) => typeof e === 'string')) throw invalid('array of strings', name, v);
  return v as string[];
}

// An int or an [int, int] pair, as PyTorch's _pair() takes it.
export function pair(v: unknown, name: string, min = 0): [number, number] {
  if (isInteger(v) && v >= min) return [v, v];
  if (Array.isArray(v) && v.length === 2 && v.every((e) => isInteger(e) && e >= min)) return [v[0], v[1]];
  throw invalid(min === 1 ? 'positive integer or pair of positive integers' : 'non-negative integer or pair of them', name, v);
}

export function object(v: unknown, name: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalid('object', name, v);
  return v as Record<string, unknown>;
}

// Options objects: undefined means defaults; unknown keys are an error.
export function options(v: unknown, name: string, known: readonly string[]): Record<string, unknown> {
  if (v === undefined) return {};
  const o = object(v, name);
  for (const k of Object.keys(o)) {
    if (!known.includes(k)) throw new TypeError(`Unknown option '${k}' in ${name}; expected one of ${known.join(', ')}`);
  }
  return o;
}
