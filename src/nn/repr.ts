// Python's repr() for the values that module reprs print, so toString()
// matches print(module) character for character.

/** repr(float): shortest round-trip digits; exponent form below 1e-4 or from 1e16. */
export function pyFloat(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const [mant, expStr] = Math.abs(x).toExponential().split('e');
  const exp = Number(expStr);
  const sign = x < 0 ? '-' : '';
  const digits = mant.replace('.', '');
  if (exp < -4 || exp >= 16) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${sign}${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
  const intPart = digits.slice(0, exp + 1).padEnd(exp + 1, '0');
  const frac = digits.slice(exp + 1);
  return `${sign}${intPart}.${frac || '0'}`;
}

export function pyBool(b: boolean): string {
  return b ? 'True' : 'False';
}

export function pyTuple(v: readonly number[]): string {
  return v.length === 1 ? `(${v[0]},)` : `(${v.join(', ')})`;
}

/** Python's nn.modules.module._addindent. */
export function addIndent(s: string, spaces: number): string {
  const lines = s.split('\n');
  if (lines.length === 1) return s;
  const first = lines.shift() as string;
  return [first, ...lines.map((l) => ' '.repeat(spaces) + l)].join('\n');
}
