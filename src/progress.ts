// A tiny tqdm-style progress bar, for downloads (bytes) and training loops (iterations):
//
//   desc: 42%|████▏     | 42/100 [00:03<00:04, 12.51it/s, loss=0.512]
//
// On a TTY it redraws one line in place, at most ~10 times per second. On anything
// else (a log file, CI) it prints a line only at each 10% step and at close(), so logs
// stay short.
import * as v from './validate';

export interface ProgressBarOptions {
  /** Number of expected steps; omit (or 0) when unknown: then no bar or ETA is shown. */
  total?: number;
  /** Text before the bar. */
  desc?: string;
  /** Unit name, 'it' by default; 'B' for bytes. */
  unit?: string;
  /** Show counts with k/M/G prefixes (like tqdm's unit_scale); on by default when unit is 'B'. */
  unitScale?: boolean;
  /** 1000 or 1024 for the prefixes; 1024 by default for bytes. */
  unitDivisor?: number;
  /** Where to draw; process.stderr by default. */
  stream?: NodeJS.WritableStream;
  /** Bar width in characters; by default it fits the terminal, between 10 and 40. */
  width?: number;
  /** Minimum seconds between redraws on a TTY. */
  minInterval?: number;
  /** Clock in milliseconds, for tests. */
  now?: () => number;
}

const BLOCKS = ' ▏▎▍▌▋▊▉█';

/** tqdm's format_sizeof: three significant digits and a k/M/G... prefix. */
export function formatSize(num: number, divisor = 1000): string {
  for (const prefix of ['', 'k', 'M', 'G', 'T', 'P', 'E', 'Z']) {
    if (Math.abs(num) < 999.5) {
      if (Math.abs(num) < 99.95) {
        if (Math.abs(num) < 9.995) return `${num.toFixed(2)}${prefix}`;
        return `${num.toFixed(1)}${prefix}`;
      }
      return `${num.toFixed(0)}${prefix}`;
    }
    num /= divisor;
  }
  return `${num.toFixed(1)}Y`;
}

/** tqdm's format_interval: mm:ss, or h:mm:ss past an hour. */
export function formatInterval(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const two = (x: number): string => String(x).padStart(2, '0');
  return h > 0 ? `${h}:${two(m)}:${two(s % 60)}` : `${two(m)}:${two(s % 60)}`;
}

export class ProgressBar {
  readonly total: number;
  desc: string;
  private readonly unit: string;
  private readonly unitScale: boolean;
  private readonly divisor: number;
  private readonly stream: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  private readonly width: number | undefined;
  private readonly minInterval: number;
  private readonly now: () => number;
  private readonly start: number;
  private count = 0;
  private postfixText = '';
  private lastDraw = -Infinity;
  private lastDecile = 0;
  private lastLine = '';
  private closed = false;

  constructor(options: ProgressBarOptions = {}) {
    const o = v.options(options, 'options', ['total', 'desc', 'unit', 'unitScale', 'unitDivisor', 'stream', 'width', 'minInterval', 'now']);
    this.total = o.total === undefined ? 0 : v.integer(o.total, 'total', 0);
    this.desc = o.desc === undefined ? '' : String(o.desc);
    this.unit = o.unit === undefined ? 'it' : v.string(o.unit, 'unit');
    this.unitScale = o.unitScale === undefined ? this.unit === 'B' : v.boolean(o.unitScale, 'unitScale');
    this.divisor = o.unitDivisor === undefined ? (this.unit === 'B' ? 1024 : 1000) : v.number(o.unitDivisor, 'unitDivisor', 1);
    if (o.stream !== undefined && (typeof o.stream !== 'object' || o.stream === null || typeof (o.stream as NodeJS.WritableStream).write !== 'function')) {
      throw v.invalid('writable stream', 'stream', o.stream);
    }
    this.stream = (o.stream as NodeJS.WritableStream | undefined) ?? process.stderr;
    this.width = o.width === undefined ? undefined : v.integer(o.width, 'width', 1);
    this.minInterval = (o.minInterval === undefined ? 0.1 : v.number(o.minInterval, 'minInterval', 0)) * 1000;
    if (o.now !== undefined && typeof o.now !== 'function') throw v.invalid('function', 'now', o.now);
    this.now = (o.now as (() => number) | undefined) ?? (() => performance.now());
    this.start = this.now();
  }

  /** Steps done so far. */
  get n(): number {
    return this.count;
  }

  private get isTTY(): boolean {
    return this.stream.isTTY === true;
  }

  /** Extra text after the rate: a string, or an object shown as `key=value, ...`. */
  set postfix(value: string | Record<string, unknown>) {
    if (typeof value === 'string') this.postfixText = value;
    else {
      v.object(value, 'postfix');
      this.postfixText = Object.entries(value)
        .map(([k, x]) => `${k}=${typeof x === 'number' && !Number.isInteger(x) ? formatNumber(x) : String(x)}`)
        .join(', ');
    }
  }
  get postfix(): string {
    return this.postfixText;
  }

  /** Advances by n steps and redraws when due. */
  update(n = 1): void {
    v.number(n, 'n', 0);
    if (this.closed) return;
    this.count += n;
    if (this.isTTY) {
      const t = this.now();
      if (t - this.lastDraw >= this.minInterval) this.draw(t);
    } else if (this.total > 0) {
      // Off a terminal, one line per 10% step keeps logs readable.
      const decile = Math.floor((Math.min(this.count, this.total) * 10) / this.total);
      if (decile > this.lastDecile && decile < 10) {
        this.lastDecile = decile;
        this.draw(this.now());
      }
    }
  }

  /** Prints a line above the bar without breaking it (like tqdm.write). */
  write(message: string): void {
    if (this.isTTY && !this.closed && this.lastLine) {
      this.stream.write(`\r\x1b[K${message}\n`);
      this.stream.write(this.lastLine);
    } else {
      this.stream.write(`${message}\n`);
    }
  }

  /** Draws the final state and ends the line. Idempotent. */
  close(): void {
    if (this.closed) return;
    const line = this.render(this.now());
    if (this.isTTY) this.stream.write(`\r${line}\x1b[K\n`);
    else if (line !== this.lastLine) this.stream.write(`${line}\n`);
    this.closed = true;
  }

  /** The current line, as it would be drawn now. */
  toString(): string {
    return this.render(this.now());
  }

  private draw(t: number): void {
    this.lastDraw = t;
    const line = this.render(t);
    this.lastLine = line;
    this.stream.write(this.isTTY ? `\r${line}\x1b[K` : `${line}\n`);
  }

  private fmtCount(x: number): string {
    return this.unitScale ? formatSize(x, this.divisor) : String(Math.round(x * 100) / 100);
  }

  private render(t: number): string {
    const elapsed = (t - this.start) / 1000;
    const rate = elapsed > 0 ? this.count / elapsed : 0;
    let rateText: string;
    if (!(rate > 0)) rateText = `?${this.unit}/s`;
    else if (this.unitScale) rateText = `${formatSize(rate, this.divisor)}${this.unit}/s`;
    else if (rate < 1) rateText = `${(1 / rate).toFixed(2)}s/${this.unit}`;
    else rateText = `${rate.toFixed(2)}${this.unit}/s`;
    const tail = this.postfixText ? `, ${this.postfixText}` : '';
    const prefix = this.desc ? `${this.desc}: ` : '';
    if (this.total <= 0) {
      return `${prefix}${this.fmtCount(this.count)}${this.unit} [${formatInterval(elapsed)}, ${rateText}${tail}]`;
    }
    const frac = Math.min(1, this.count / this.total);
    const eta = rate > 0 ? formatInterval((this.total - Math.min(this.count, this.total)) / rate) : '?';
    const pct = `${Math.floor(frac * 100)}`.padStart(3);
    const right = ` ${this.fmtCount(this.count)}/${this.fmtCount(this.total)} [${formatInterval(elapsed)}<${eta}, ${rateText}${tail}]`;
    const width = this.width ?? Math.max(10, Math.min(40, (this.stream.columns ?? 80) - prefix.length - right.length - 6));
    return `${prefix}${pct}%|${bar(frac, width)}|${right}`;
  }
}

function bar(frac: number, width: number): string {
  // Eighths of a cell, as tqdm draws it.
  const eighths = Math.floor(frac * width * 8);
  const full = Math.floor(eighths / 8);
  const part = eighths % 8;
  let s = '█'.repeat(full);
  if (full < width) s += (part > 0 ? BLOCKS[part] : ' ') + ' '.repeat(width - full - 1);
  return s;
}

function formatNumber(x: number): string {
  // Four significant digits, like tqdm's postfix formatting.
  const a = Math.abs(x);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? x.toExponential(3) : String(Number(x.toPrecision(4)));
}
