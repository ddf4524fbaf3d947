/* eslint-disable @typescript-eslint/no-explicit-any */
// Fuzz test: random and invalid calls into the public API (src/) and the raw
// native addon, from a seeded PRNG. It proves that no call crashes the process:
// each must end in a value or a JS exception. And that each exception is an
// Error whose message names the operation (native: "<op>: <libtorch's message>")
// or, for a TypeScript argument check, the argument at fault; only calls that
// break JavaScript's own rules (a method called on the wrong object) may throw
// the engine's errors. The run fails if an exception does not, or if more than 2%
// of the calls could not even be built (the fuzzer would be testing nothing).
//
//   node dist/test/fuzz/fuzz.js --calls N [--seed S]
//
// Without --child this is the PARENT: it runs itself as a child process and
// watches it, because a segfault or abort can't be caught in-process. The child
// writes a one-line description of each call to a log file before making it, so
// the parent can name the call that crashed; the same seed replays the same calls.
//
// Safety: sizes only come from SIZES below (0..8 and values that must be refused
// outright), pooled tensors stay tiny, so no call can allocate many GB.
import { spawnSync } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs as parseCliArgs } from 'node:util';
import { Generator } from '../../src/data/random';
import { integer } from '../../src/validate';

type Any = any;

// ---------------------------------------------------------------------------
// Command line

interface Args {
  child: boolean;
  calls: number;
  seed: number;
  log: string | null;
  selfTestAbort: number | null;
  selfTestUnnamed: number | null;
  selfTestUnbuilt: boolean;
}

function usage(message: string): never {
  process.stderr.write(`fuzz: ${message}\nUsage: node dist/test/fuzz/fuzz.js --calls N [--seed S]\n`);
  process.exit(2);
}

// The same parser as the CLI's (node:util), with the same rule for counts.
function parseArgs(argv: string[]): Args {
  let values;
  try {
    ({ values } = parseCliArgs({
      args: argv, strict: true, allowPositionals: false,
      options: {
        child: { type: 'boolean' }, calls: { type: 'string' }, seed: { type: 'string' }, log: { type: 'string' },
        // Prove the harness can fail: the child aborts itself at this call; throws an
        // Error that names nothing at this call; or every call's arguments fail to build.
        'self-test-abort': { type: 'string' }, 'self-test-unnamed': { type: 'string' }, 'self-test-unbuilt': { type: 'boolean' },
      },
    }));
  } catch (e) {
    return usage((e as Error).message);
  }
  const count = (flag: string, s: string | undefined): number | null => {
    if (s === undefined) return null;
    try {
      return integer(/^\d+$/.test(s) ? Number(s) : s, `--${flag}`, 0);
    } catch (e) {
      return usage((e as Error).message);
    }
  };
  return {
    child: values.child ?? false,
    calls: count('calls', values.calls) ?? 1000,
    seed: count('seed', values.seed) ?? crypto.randomInt(0, 2 ** 31),
    log: values.log ?? null,
    selfTestAbort: count('self-test-abort', values['self-test-abort']),
    selfTestUnnamed: count('self-test-unnamed', values['self-test-unnamed']),
    selfTestUnbuilt: values['self-test-unbuilt'] ?? false,
  };
}

// ---------------------------------------------------------------------------
// Parent: run the child, report how it ended.

function lastLine(file: string): string {
  try {
    const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.length > 0);
    return lines[lines.length - 1] ?? '';
  } catch {
    return '';
  }
}

// Under vm.overcommit_memory=1 the kernel grants even a 1 TB malloc and the OOM
// killer strikes when it is touched. There, cap the child's address space so that
// such requests fail, as they do under the default heuristic.
function addressSpaceCap(): number | null {
  try {
    if (fs.readFileSync('/proc/sys/vm/overcommit_memory', 'utf8').trim() !== '1') return null;
  } catch {
    return null;
  }
  return Math.max(2 * os.totalmem(), 32 * 2 ** 30);
}

function parent(args: Args): number {
  const { calls, seed } = args;
  console.log(`fuzz: seed ${seed}, ${calls} calls`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'torchbridge-fuzz-'));
  const log = path.join(dir, 'calls.log');
  const timeoutMs = Math.max(60_000, calls * 20);
  const childArgs = ['--child', '--seed', String(seed), '--calls', String(calls), '--log', log];
  if (args.selfTestAbort !== null) childArgs.push('--self-test-abort', String(args.selfTestAbort));
  if (args.selfTestUnnamed !== null) childArgs.push('--self-test-unnamed', String(args.selfTestUnnamed));
  if (args.selfTestUnbuilt) childArgs.push('--self-test-unbuilt');
  // --expose-gc lets the child force collections (finalizers racing dispose()).
  const command = [process.execPath, '--expose-gc', __filename, ...childArgs];
  const cap = addressSpaceCap();
  if (cap !== null) command.unshift('/bin/sh', '-c', `ulimit -v ${Math.floor(cap / 1024)} && exec "$0" "$@"`);
  const r = spawnSync(command[0], command.slice(1), {
    stdio: ['ignore', 'inherit', 'inherit'],
    timeout: timeoutMs,
    killSignal: 'SIGKILL',
  });
  const last = lastLine(log);
  const timedOut = (r.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT';
  if (!timedOut && r.status === 0 && last.startsWith('done:')) {
    fs.rmSync(dir, { recursive: true, force: true });
    console.log(`fuzz: ${calls} calls, 0 crashes, seed ${seed}`);
    // done: N calls, T threw, U unnamed, B unbuilt
    const m = /^done: (\d+) calls, (\d+) threw, (\d+) unnamed, (\d+) unbuilt$/.exec(last);
    if (!m) {
      console.log(`fuzz: FAILED: the child's last line is not a summary: ${last}; replay with --seed ${seed}`);
      return 1;
    }
    const [threw, unnamed, unbuilt] = [Number(m[2]), Number(m[3]), Number(m[4])];
    console.log(`fuzz: ${threw} of ${calls} calls threw, ${unnamed} errors without their operation's name, ` +
      `${unbuilt} calls whose arguments failed to build`);
    let ok = true;
    if (unnamed > 0) {
      console.log(`fuzz: FAILED: ${unnamed} errors did not name their operation (listed above); replay with --seed ${seed}`);
      ok = false;
    }
    if (unbuilt > maxUnbuilt(calls)) {
      console.log(`fuzz: FAILED: ${unbuilt} of ${calls} calls' arguments failed to build (at most ${maxUnbuilt(calls)} allowed); replay with --seed ${seed}`);
      ok = false;
    }
    return ok ? 0 : 1;
  }
  const how = timedOut ? `timeout after ${timeoutMs / 1000} s`
    : r.signal ? `signal ${r.signal}`
    : r.error ? `spawn failed: ${r.error.message}`
    : r.status === 0 ? 'exit code 0 before the last call'
    : `exit code ${r.status}`;
  const m = /^(\w+): (.*)$/.exec(last);
  const at = m ? m[1] : '?';
  const what = m ? m[2] : last || '(no call logged)';
  console.log(`fuzz: CRASH (${how}) at call ${at}: ${what}; replay with --seed ${seed}`);
  // Keep the log; drop the files the child was saving and loading.
  for (const f of fs.readdirSync(dir)) if (f !== 'calls.log') fs.rmSync(path.join(dir, f), { recursive: true, force: true });
  console.log(`fuzz: log kept at ${log}`);
  const made = /^\d+$/.test(at) ? Number(at) : calls;
  console.log(`fuzz: ${made} calls, 1 crashes, seed ${seed}`);
  return 1;
}

/** The most calls whose arguments may fail to build: 2% of them. */
function maxUnbuilt(calls: number): number {
  return Math.floor(calls * 0.02);
}

// ---------------------------------------------------------------------------
// PRNG: the data loader's seeded generator (sfc32), so a seed replays the same
// calls on every machine; with the helpers the fuzzer draws through.
class Rng extends Generator {
  /** An integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

// ---------------------------------------------------------------------------
// The value space

// Every size, dim or count comes from here: small values, and values that must
// be refused without allocating (2**40 elements is over a terabyte).
const SIZES = [0, 1, 2, 3, 4, 5, 6, 7, 8, -1, -7, 2 ** 40, 2 ** 62, 1e300, NaN, Infinity, 1.5] as const;
// Other numbers (never tiny: arange(0, 8, 1e-9) would be a mid-range allocation).
const NUMBERS = [...SIZES, -Infinity, -0, 0.5, -2.5, 1e-3, 0.9] as const;
const DTYPES = ['float32', 'float64', 'float16', 'bfloat16', 'int64', 'int32', 'uint8', 'bool'] as const;
const BAD_DTYPES = ['float', 'int8', '', 'Float32', 'complex64', 'float32 '] as const;
const DEVICES = ['cpu', 'cuda', 'cuda:0', 'cuda:1', 'npu', 'npu:3', 'tpu', '', 'cpu:0', 'cpu:1', 'cuda:-2', 'cuda:300',
  'cuda:1x', 'cuda:', 'meta', 'mps', 'cuda:99999999999'] as const;
const UNARY = ['neg', 'exp', 'log', 'sqrt', 'abs', 'relu', 'sigmoid', 'tanh', 'contiguous', 'clone', 'detach', 't', 'isnan'];
const BINARY = ['add', 'sub', 'mul', 'div', 'pow', 'eq', 'gt', 'lt', 'matmul'];
const REDUCE = ['sum', 'mean', 'max', 'min', 'argmax', 'softmax', 'logSoftmax'];
const SHAPED = ['reshape', 'view', 'permute', 'expand', 'flatten', 'transpose', 'squeeze', 'unsqueeze'];
const INPLACE = ['relu_', 'zero_', 'fill_', 'uniform_', 'normal_', 'copy_'];
const BAD_OPS = ['', 'bogus', 'constructor', '__proto__', 'toString', 'x'.repeat(300)];
const STRINGS = [...DTYPES, ...BAD_DTYPES, ...DEVICES, ...UNARY, ...BAD_OPS, 'mean', 'sum', 'none', 'channels_last',
  'contiguous', 'zeros', 'ones', 'empty', 'full', 'randn', 'rand', 'randint', 'randperm', '\u0000', '\u{1F600}'];
// Thread counts: a few sane ones, and ones that must be refused (2**31 - 1
// threads, or 2**32 + 3 which int32 truncation would turn into 3).
const THREADS = [1, 2, 3, 0, -1, 1.5, NaN, Infinity, 2 ** 31 - 1, 2 ** 32 + 3, 2 ** 40, 1e300] as const;

// Largest tensor the pool keeps: two of them broadcast to at most 1M elements.
const POOL_NUMEL = 1024;
const POOL_SIZE = 32;

interface Call {
  desc: string;
  run: () => unknown;
  /**
   * The call breaks JavaScript's own rules (a method on an object of another
   * class, a class called without new): the engine's TypeError is the right
   * answer, so it need only throw an Error.
   */
  misuse?: boolean;
}

// Errors the fuzzer itself plants (getters that throw, a throw inside tidy):
// they must come back unchanged.
const HARNESS_ERRORS = new Set(['evil getter', 'evil proxy', 'thrown inside']);
// Messages that name what failed.
const NAMED: RegExp[] = [
  /^[A-Za-z_][\w.]*: \S/, // native: "<operation>: <libtorch's message>", and TypeScript's own "<op>: ..."
  /^Expected .+ for .+ but received /, // TypeScript argument checks name the argument
  /^Unknown option '.*' in [\w.[\] ]+; expected /, // an options object's unknown key
  /^Error\(s\) in loading state_dict for \w+:/, // Module.loadStateDict, in Python's words
  /^loaded state dict('s)? /, // Optimizer.loadStateDict
  /^Tried to step \d+ times/, // OneCycleLR past its end, in Python's words
  /^Device '[^']*' is not built into torchbridge/, // checkDevice
];

/** Why a thrown value does not say what failed, or null when it does. */
function unnamedError(e: unknown, c: Call): string | null {
  if (!(e instanceof Error)) return `threw ${typeof e} ${String(e).slice(0, 80)}, not an Error`;
  if (typeof e.message !== 'string' || e.message.length === 0) return `${e.constructor.name} without a message`;
  if (c.misuse || HARNESS_ERRORS.has(e.message) || NAMED.some((r) => r.test(e.message))) return null;
  // V8's answer when a native method runs on an object that only pretends to be
  // its class: the fuzzer's forged tensors (fakes) passed where a tensor goes.
  if (e.message === 'Illegal invocation') return null;
  return `${e.constructor.name}: ${e.message.slice(0, 200)}`;
}

// ---------------------------------------------------------------------------
// A zip of stored (uncompressed) entries, for hand-made torch.save files.

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(b: Buffer): number {
  let c = 0xffffffff;
  for (const x of b) c = crcTable[(c ^ x) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function storedZip(entries: [string, Buffer][]): Buffer {
  const local: Buffer[] = [], central: Buffer[] = [];
  let offset = 0;
  for (const [name, data] of entries) {
    const n = Buffer.from(name);
    const h = Buffer.alloc(30);
    h.writeUInt32LE(0x04034b50, 0);
    h.writeUInt16LE(20, 4);
    h.writeUInt32LE(crc32(data), 14);
    h.writeUInt32LE(data.length, 18);
    h.writeUInt32LE(data.length, 22);
    h.writeUInt16LE(n.length, 26);
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0);
    c.writeUInt16LE(20, 4);
    c.writeUInt16LE(20, 6);
    c.writeUInt32LE(crc32(data), 16);
    c.writeUInt32LE(data.length, 20);
    c.writeUInt32LE(data.length, 24);
    c.writeUInt16LE(n.length, 28);
    c.writeUInt32LE(offset, 42);
    local.push(h, n, data);
    central.push(c, n);
    offset += 30 + n.length + data.length;
  }
  const dir = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(dir.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...local, dir, end]);
}

// ---------------------------------------------------------------------------
// Child: the calls themselves.

async function child(args: Args): Promise<void> {
  // Loaded here so that the parent never loads libtorch.
  const tb = require('../../src') as typeof import('../../src');
  const { addon } = require('../../src/native') as typeof import('../../src/native');
  const { nn, optim } = tb;
  const RawTensor = addon.Tensor as Any;
  // autocast is newer than the rest; fuzz it where it exists.
  let amp: Any = null;
  try {
    amp = require('../../src/amp');
  } catch {
    amp = null;
  }
  const RawSGD = addon.SGD as Any;
  const RawAdam = addon.Adam as Any;

  const standalone = args.log === null;
  // Files it saves and loads: next to the parent's log, so the parent cleans up after a crash too.
  const workDir = standalone ? fs.mkdtempSync(path.join(os.tmpdir(), 'torchbridge-fuzz-child-'))
    : fs.mkdtempSync(path.join(path.dirname(args.log!), 'files-'));
  const logPath = args.log ?? path.join(workDir, 'calls.log');
  const logFd = fs.openSync(logPath, 'w');
  // writeSync goes straight to the kernel, so the line survives a crash of this process.
  const log = (line: string) =>
    // eslint-disable-next-line no-control-regex
    fs.writeSync(logFd, `${line.replace(/[\x00-\x1f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)}\n`);
  if (standalone) console.log(`fuzz: seed ${args.seed}, ${args.calls} calls`);

  const rng = new Rng(args.seed);
  tb.manualSeed(args.seed);
  const initialThreads = tb.getNumThreads();

  // Labels make descriptions readable without touching evil getters or native state.
  const labels = new WeakMap<object, string>();
  let nextId = 0;
  const label = <T extends object>(x: T, name: string): T => {
    labels.set(x, `${name}#${nextId++}`);
    return x;
  };

  function show(x: unknown, depth = 0): string {
    try {
      if (x === null) return 'null';
      if (typeof x === 'number') return Object.is(x, -0) ? '-0' : x === 2 ** 40 ? '2**40' : x === 2 ** 62 ? '2**62' : String(x);
      if (typeof x === 'string') return JSON.stringify(x.length > 20 ? `${x.slice(0, 20)}…(${x.length})` : x);
      if (typeof x === 'bigint') return `${x}n`;
      if (typeof x === 'symbol' || typeof x === 'boolean' || x === undefined) return String(x);
      if (typeof x === 'function') return labels.get(x) ?? `fn ${x.name || '?'}`;
      const l = labels.get(x as object);
      if (x instanceof tb.Tensor || x instanceof RawTensor) {
        // Shape and dtype as they are now; fakes have a label and no live state.
        const r: Any = x instanceof tb.Tensor ? (x as Any).raw : x;
        try {
          return r.isDisposed() ? `${l ?? 'T'}(disposed)` : `${l ?? 'T'}${x === r ? '.raw' : ''}[${r.shape()}]${r.dtype()}${r.requiresGrad() ? '+grad' : ''}`;
        } catch {
          return l ?? 'tensor?';
        }
      }
      if (l) return l;
      if (ArrayBuffer.isView(x)) return `${x.constructor.name}(${(x as Any).length ?? x.byteLength})`;
      if (Array.isArray(x)) {
        if (depth > 2) return '[…]';
        const parts = x.slice(0, 6).map((e) => show(e, depth + 1));
        return `[${parts.join(',')}${x.length > 6 ? `,…(${x.length})` : ''}]`;
      }
      if (x instanceof nn.Module) return x.constructor.name;
      if (depth > 2) return '{…}';
      const entries = Object.entries(x as object).slice(0, 6).map(([k, v]) => `${k}:${show(v, depth + 1)}`);
      return `{${entries.join(',')}}`;
    } catch {
      return '<unshowable>';
    }
  }

  // ---- live objects ----------------------------------------------------------

  const pool: Any[] = []; // public Tensors, some disposed
  const losses: Any[] = []; // recent scalar outputs, for backward()
  const modules: Any[] = [];
  const optims: Any[] = []; // public SGD
  const scheds: Any[] = [];
  const rawOptims: Any[] = [];
  const files: string[] = [];
  const temps: Any[] = []; // made while building one call's arguments; disposed after it
  const pending: Promise<unknown>[] = []; // saves and loads left running on purpose
  // Objects the fuzzer owns elsewhere: results equal to these are not disposed.
  const known = new WeakSet<object>();
  const owner = new WeakMap<object, Any>(); // optimizer -> the module whose parameters it holds
  const remember = (t: Any) => {
    known.add(t);
    if (t && typeof t === 'object' && t.raw) known.add(t.raw);
  };

  const numel = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
  function smallShape(maxDims = 4, maxDim = 4): number[] {
    return Array.from({ length: rng.int(maxDims + 1) }, () => (rng.chance(0.1) ? 0 : rng.range(1, maxDim)));
  }

  /** A fresh small tensor through the public API (valid arguments). */
  function freshTensor(): Any {
    const dtype = rng.pick(DTYPES);
    const shape = smallShape();
    const float = dtype.startsWith('float') || dtype === 'bfloat16';
    let t: Any;
    switch (rng.int(4)) {
      case 0: t = float ? tb.randn(shape, { dtype }) : tb.randint(0, dtype === 'bool' ? 2 : 5, shape, { dtype }); break;
      case 1: t = tb.zeros(shape, { dtype }); break;
      case 2: t = tb.full(shape, rng.pick([0, 1, 3]), { dtype }); break;
      default: t = tb.arange(numel(shape), undefined, 1, { dtype: float ? dtype : 'int64' }).reshape(shape);
    }
    if (float && dtype !== 'float16' && rng.chance(0.3)) t.requiresGrad = true;
    return label(t, 'T');
  }

  function addToPool(t: Any): void {
    remember(t);
    if (pool.length < POOL_SIZE) {
      pool.push(t);
      return;
    }
    const i = rng.int(pool.length);
    const old = pool[i];
    pool[i] = t;
    if (!modules.some((m) => m.parameters().includes(old))) old.dispose();
  }

  function freshModules(): void {
    for (const m of modules) m.dispose();
    for (const o of optims) o.dispose();
    modules.length = optims.length = scheds.length = 0;
    const seq = new nn.Sequential(new nn.Conv2d(3, 4, 3), new nn.ReLU(), new nn.AdaptiveAvgPool2d(1), new nn.Flatten(), new nn.Linear(4, 4));
    modules.push(label(new nn.Conv2d(3, 4, 3), 'Conv2d'), label(new nn.Linear(8, 4), 'Linear'), label(seq, 'Sequential'),
      label(new nn.BatchNorm2d(3), 'BatchNorm2d'));
    for (const m of modules) {
      for (const p of m.parameters()) remember(p);
      for (const [, b] of m.namedBuffers()) remember(b);
    }
    optims.push(label(new optim.SGD(modules[2].parameters(), { lr: 0.01, momentum: 0.9 }), 'SGD'),
      label(new optim.SGD(modules[1].parameters(), { lr: 0.1, fused: rng.chance(0.5) }), 'SGD'));
    owner.set(optims[0], modules[2]);
    owner.set(optims[1], modules[1]);
  }

  function refill(): void {
    while (pool.filter((t) => !t.isDisposed).length < POOL_SIZE / 2) addToPool(freshTensor());
  }

  // Objects that look like tensors but aren't: each must be refused, never unwrapped.
  const sgdAsRawTensor: Any = label(Reflect.construct(RawSGD, [[]], RawTensor) as object, 'sgdAsRawTensor');
  const sgdWithTensorProto: Any = label(Object.setPrototypeOf(new RawSGD([]), RawTensor.prototype), 'sgdWithTensorProto');
  const fakes: Any[] = [
    label(Object.create(RawTensor.prototype), 'rawProtoObject'),
    sgdAsRawTensor,
    sgdWithTensorProto,
    label(new tb.Tensor({} as Any), 'publicTensorOfPlainObject'),
    label(new tb.Tensor(sgdAsRawTensor), 'publicTensorOfSGD'),
    label(new tb.Tensor(sgdWithTensorProto), 'publicTensorOfSGD2'),
    label(Object.create(tb.Tensor.prototype), 'publicProtoObject'),
    label(new Proxy({}, { getPrototypeOf: () => RawTensor.prototype }), 'proxyPretendingRaw'),
  ];
  const plainObjects: Any[] = [{}, [], Object.create(null), new Date(0), new Map(), /x/];
  // Set when the current call's arguments include a forged tensor: the library
  // may then answer with the engine's TypeError (the object breaks JS's rules).
  let forged = false;
  const fake = (): Any => {
    forged = true;
    return rng.pick(fakes);
  };

  // ---- generators --------------------------------------------------------------

  const gcFn = (globalThis as Any).gc as (() => void) | undefined;

  /** Arrays and objects whose getters misbehave while native code reads them. */
  function evil(): Any {
    const victim = pool.length ? rng.pick(pool) : null;
    switch (rng.int(5)) {
      case 0: {
        const a = [1, 1];
        Object.defineProperty(a, 0, { get() { throw new Error('evil getter'); } });
        return label(a, 'arrayThatThrows');
      }
      case 1: {
        const a = [1, 1];
        Object.defineProperty(a, 0, { get() { victim?.dispose(); return 1; } });
        return label(a, `arrayThatDisposes(${labels.get(victim) ?? '-'})`);
      }
      case 2: {
        const a = [1, 1];
        Object.defineProperty(a, 1, { get() { gcFn?.(); return 2; } });
        return label(a, 'arrayThatCollects');
      }
      case 3:
        return label(new Proxy([1, 2], { get() { throw new Error('evil proxy'); } }), 'proxyThatThrows');
      default: {
        const o: Any = { a: 1 };
        Object.defineProperty(o, 'b', { enumerable: true, get() { victim?.dispose(); return victim; } });
        return label(o, `objectThatDisposes(${labels.get(victim) ?? '-'})`);
      }
    }
  }

  const size = (): number => rng.pick(SIZES);
  const num = (): number => rng.pick(NUMBERS);
  const smallInt = (): number => (rng.chance(0.85) ? rng.range(-3, 4) : size());
  function shape(): Any {
    const r = rng.next();
    if (r < 0.6) return smallShape();
    if (r < 0.9) {
      const s = smallShape(3);
      s.splice(rng.int(s.length + 1), 0, size());
      return s;
    }
    return any(1);
  }
  const dims = (): Any => (rng.chance(0.8) ? Array.from({ length: rng.int(3) }, smallInt) : any(1));
  const pair = (): Any => (rng.chance(0.5) ? rng.range(0, 3) : rng.chance(0.6) ? [rng.range(0, 3), rng.range(0, 3)] : any(1));
  const bool = (): Any => (rng.chance(0.9) ? rng.chance(0.5) : any(1));
  const str = (): string => rng.pick(STRINGS);
  const dtype = (): Any => (rng.chance(0.8) ? rng.pick(DTYPES) : rng.chance(0.7) ? rng.pick(BAD_DTYPES) : any(1));
  const device = (): Any => (rng.chance(0.6) ? 'cpu' : rng.chance(0.9) ? rng.pick(DEVICES) : any(1));

  function typedArray(n = rng.range(0, 8)): Any {
    const ctor = rng.pick([Float32Array, Float64Array, Int32Array, Uint8Array, Uint16Array, Int8Array, BigInt64Array]);
    if (ctor === BigInt64Array) return BigInt64Array.from({ length: n }, () => BigInt(rng.range(-9, 9)));
    const a = new (ctor as Any)(n);
    for (let i = 0; i < n; i++) a[i] = rng.pick([0, 1, -1, 2.5, 255, NaN]);
    return a;
  }

  /** A public Tensor argument: usually a live pool tensor. */
  function tensor(): Any {
    const r = rng.next();
    const live = pool.filter((t) => !t.isDisposed);
    if (r < 0.75 && live.length) return rng.pick(live);
    if (r < 0.85 && pool.length) return rng.pick(pool);
    if (r < 0.93) return fake();
    return any(1);
  }
  /** A raw tensor argument: the handle behind a pool tensor, or something else. */
  function raw(): Any {
    const t = tensor();
    return t instanceof tb.Tensor && rng.chance(0.95) ? (t as Any).raw : t;
  }
  const temp = <T extends object>(t: T, name: string): T => {
    temps.push(t);
    return label(t, name);
  };
  const maybe = <T>(f: () => T): T | null | undefined => (rng.chance(0.3) ? rng.pick([null, undefined]) : f());

  function any(depth = 0): Any {
    switch (rng.int(16)) {
      case 0: case 1: return num();
      case 2: return rng.chance(0.5);
      case 3: return rng.pick([null, undefined]);
      case 4: return str();
      case 5: return smallShape();
      case 6: return depth < 2 ? Array.from({ length: rng.int(4) }, () => any(depth + 1)) : [];
      case 7: return depth < 2 ? { dtype: dtype(), device: device(), [str()]: any(depth + 1) } : {};
      case 8: return tensor();
      case 9: return raw();
      case 10: return typedArray();
      case 11: return rng.pick(plainObjects);
      case 12: return rng.pick([() => 1, Symbol('s'), 10n, process, Math]);
      case 13: return evil();
      case 14: {
        const x = rng.pick([...modules, ...optims, ...rawOptims, ...fakes].filter(Boolean));
        if (fakes.includes(x)) forged = true;
        return x;
      }
      default: return fake();
    }
  }

  /** Mangles an argument list now and then: a wrong value, or too few or too many. */
  function mangle(a: Any[]): Any[] {
    const out = [...a];
    if (rng.chance(0.15) && out.length) out[rng.int(out.length)] = any();
    if (rng.chance(0.05)) out.length = rng.int(out.length + 1);
    if (rng.chance(0.05)) out.push(any());
    return out;
  }

  /** Usually `target`, sometimes a `this` that is not what the method expects. */
  function thisFor(target: Any): Any {
    return rng.chance(0.9) ? target : rng.pick([...fakes, ...plainObjects, undefined, null, 1, 'x',
      rawOptims[0], optims[0], modules[0], pool[0], pool[0]?.raw]);
  }

  const call = (desc: string, run: () => unknown, misuse = false): Call => ({ desc, run, misuse });
  /** fn.call(self, ...a); misuse: see Call.misuse. */
  const invoke = (desc: string, self: Any, fn: Any, a: Any[], misuse = false): Call =>
    call(`${desc}.call(${show(self)}${a.map((x) => `, ${show(x)}`).join('')})`, () => Reflect.apply(fn, self, a), misuse);
  // Whether `self` is a proper receiver: a public Tensor, or a raw one, that the fuzzer made.
  const publicTensor = (x: Any) => x instanceof tb.Tensor && known.has(x);
  const rawTensor = (x: Any) => x instanceof RawTensor && !(x instanceof tb.Tensor) && known.has(x);

  // A well-formed input for a module, so that calls reach deep into libtorch.
  function inputFor(m: Any): Any {
    if (rng.chance(0.2)) return tensor();
    const n = rng.range(0, 2);
    const s = m instanceof nn.Linear ? [n, 8] : [n, 3, rng.range(3, 6), rng.range(3, 6)];
    return temp(tb.randn(s, { requiresGrad: rng.chance(0.3) }), 'X');
  }

  // Well-shaped arguments: random calls rarely pass libtorch's own shape checks,
  // so half of the functional calls get these and reach the kernels themselves.
  const floatDtype = (): Any => (rng.chance(0.7) ? 'float32' : rng.pick(['float64', 'float16', 'bfloat16', 'int64', 'uint8']));
  function made(shapeOf: number[], dt: Any = floatDtype(), opts: { grad?: boolean; lo?: number; hi?: number } = {}): Any {
    const float = ['float32', 'float64', 'float16', 'bfloat16'].includes(dt);
    let t: Any = float ? tb.randn(shapeOf, { dtype: dt }) : tb.randint(opts.lo ?? 0, opts.hi ?? (dt === 'bool' ? 2 : 5), shapeOf, { dtype: dt });
    if (rng.chance(0.3) && shapeOf.length === 4) {
      const cl = t.to({ memoryFormat: 'channels_last' });
      t.dispose();
      t = cl;
    }
    if (float && opts.grad !== false && rng.chance(0.3)) t.requiresGrad = true;
    return temp(t, 'S');
  }
  const dim = (lo = 0, hi = 4): number => (rng.chance(0.1) ? 0 : rng.range(lo, hi));
  const image = (c = rng.range(1, 4)): Any => made(rng.chance(0.85) ? [dim(0, 2), c, dim(1, 6), dim(1, 6)] : [c, dim(1, 6), dim(1, 6)]);

  /** Arguments of the same shape for nn.functional.<name>, as [args, pairs as arrays or ints]. */
  function structured(name: string): Any[] {
    switch (name) {
      case 'conv2d': {
        const g = rng.pick([1, 1, 2]), c = g * rng.range(1, 2), o = g * dim(0, 2), k = [rng.range(1, 3), rng.range(1, 3)];
        const x = image(c), dt = x.dtype;
        return [x, made([o, c / g, ...k], rng.chance(0.9) ? dt : floatDtype()), rng.chance(0.5) ? made([o], dt) : null,
          [rng.range(1, 2), rng.range(1, 2)], [rng.range(0, 2), rng.range(0, 2)], [rng.range(1, 2), rng.range(1, 2)], g];
      }
      case 'linear': {
        const i = dim(), o = dim(), x = made([...smallShape(2, 3), i]), dt = x.dtype;
        return [x, made([o, i], rng.chance(0.9) ? dt : floatDtype()), rng.chance(0.5) ? made([o], dt) : null];
      }
      case 'maxPool2d': case 'avgPool2d': {
        const k = [rng.range(1, 3), rng.range(1, 3)];
        const rest = name === 'maxPool2d' ? [[rng.range(1, 2), rng.range(1, 2)], rng.chance(0.5)] : [rng.chance(0.5), rng.chance(0.5)];
        // Padding up to half the kernel is legal; now and then more.
        const pad = k.map((x) => rng.range(0, rng.chance(0.9) ? Math.floor(x / 2) : 2));
        return [image(), k, [rng.range(1, 2), rng.range(1, 2)], pad, ...rest];
      }
      case 'adaptiveAvgPool2d': return [image(), [rng.range(0, 4), rng.range(0, 4)]];
      case 'dropout': return [image(), rng.pick([0, 0.5, 1]), rng.chance(0.5), rng.chance(0.5)];
      // A data-parallel batch shard for this thread's dropout: set (it then applies to later dropout calls) or cleared.
      case 'setBatchShard': return rng.chance(0.4) ? [] : [rng.range(0, 2), rng.range(1, 4)];
      case 'localResponseNorm': return [image(), rng.range(1, 5), 1e-4, 0.75, rng.pick([1, 2])];
      case 'batchNorm': {
        const c = rng.range(1, 3), x = image(c), stat = () => (rng.chance(0.3) ? null : made([rng.chance(0.9) ? c : c + 1], 'float32', { grad: false }));
        return [x, stat(), stat(), stat(), stat(), rng.chance(0.5), 0.1, 1e-5];
      }
      default: { // crossEntropy: class indices or probabilities, with a weight per class
        const n = dim(0, 3), c = rng.range(1, 4), extra = rng.chance(0.2) ? [rng.range(1, 2)] : [];
        const target = rng.chance(0.7) ? made([n, ...extra], 'int64', { lo: rng.chance(0.9) ? 0 : -100, hi: c + (rng.chance(0.9) ? 0 : 2) })
          : made([n, c, ...extra], 'float32', { grad: false });
        return [made([n, c, ...extra]), target, rng.chance(0.3) ? made([c], 'float32', { grad: false }) : null,
          rng.pick(['mean', 'sum', 'none']), rng.pick([-100, 0, 1]), rng.pick([0, 0.1, 1])];
      }
    }
  }

  /** Sizes for a reshape-like op on `t`: often ones that fit it. */
  function shapeFor(op: string, t: Any): Any {
    let s: number[];
    try {
      s = t instanceof tb.Tensor ? (t as Any).shape : t.shape();
    } catch {
      return shape();
    }
    if (!Array.isArray(s) || rng.chance(0.3)) return shape();
    const perm = s.map((_, i) => i).sort(() => rng.next() - 0.5).map((d) => (rng.chance(0.1) ? d - s.length : d));
    switch (op) {
      case 'permute': return perm;
      case 'expand': return [...(rng.chance(0.3) ? [rng.range(1, 3)] : []), ...s.map((d) => (d === 1 && rng.chance(0.5) ? rng.range(0, 3) : rng.chance(0.2) ? -1 : d))];
      case 'flatten': case 'transpose': return [rng.range(-s.length, s.length), rng.range(-s.length, s.length)];
      case 'squeeze': case 'unsqueeze': return [rng.range(-s.length - 1, s.length)];
      default: { // reshape, view: the same elements, dims shuffled or merged, maybe one -1
        const out = perm.map((d) => s[(d + s.length) % s.length]);
        if (out.length > 1 && rng.chance(0.4)) out.splice(0, 2, out[0] * out[1]);
        if (out.length && rng.chance(0.3)) out[rng.int(out.length)] = -1;
        if (rng.chance(0.2)) out.splice(rng.int(out.length + 1), 0, 1);
        return out;
      }
    }
  }

  /** Two or three tensors that cat and stack accept: one shape, dtypes that mix. */
  function alike(): Any[] {
    const s = smallShape(3);
    return Array.from({ length: rng.range(1, 3) }, () => made(s, rng.chance(0.7) ? 'float32' : floatDtype()));
  }

  // ---- the calls -----------------------------------------------------------------

  const tensorMethods = ['add', 'sub', 'mul', 'div', 'pow', 'eq', 'gt', 'lt', 'matmul', 'neg', 'exp', 'log', 'sqrt', 'abs', 'relu',
    'sigmoid', 'tanh', 'clamp', 'sum', 'mean', 'max', 'argmax', 'softmax', 'logSoftmax', 'reshape', 'view', 'permute', 'expand',
    'flatten', 'transpose', 'squeeze', 'unsqueeze', 'contiguous', 'clone', 'detach', 't', 'indexSelect', 'narrow', 'relu_', 'zero_',
    'fill_', 'uniform_', 'normal_', 'copy_', 'setData', 'toString', 'to', 'backward', 'data', 'toArray', 'item', 'dispose'];

  function publicTensorArgs(name: string, self: Any): Any[] {
    switch (name) {
      case 'add': case 'sub': return [rng.chance(0.5) ? tensor() : num(), ...(rng.chance(0.5) ? [num()] : [])];
      case 'mul': case 'div': case 'pow': case 'eq': case 'gt': case 'lt': return [rng.chance(0.6) ? tensor() : num()];
      case 'matmul': case 'copy_': case 'setData': return [tensor()];
      case 'clamp': return [maybe(num), maybe(num)];
      case 'sum': case 'mean': return rng.chance(0.5) ? [] : [rng.chance(0.5) ? smallInt() : dims(), bool()];
      case 'max': case 'argmax': return rng.chance(0.4) ? [] : [smallInt(), bool()];
      case 'softmax': case 'logSoftmax': case 'unsqueeze': case 'squeeze': return [smallInt()];
      case 'reshape': case 'view': case 'expand': case 'permute': {
        // Both spellings: t.reshape([2, 3]) and t.reshape(2, 3).
        const s = shapeFor(name, self);
        return rng.chance(0.5) || !Array.isArray(s) ? [s] : s;
      }
      case 'flatten': case 'transpose': return [smallInt(), smallInt()];
      case 'indexSelect': return [smallInt(), rng.chance(0.5) ? made([dim()], 'int64', { hi: 3 }) : tensor()];
      case 'narrow': return [smallInt(), smallInt(), smallInt()];
      case 'fill_': return [num()];
      case 'uniform_': case 'normal_': return [num(), num()];
      case 'to': return [rng.pick([dtype, device, () => ({ device: device(), dtype: dtype(), memoryFormat: rng.pick(['channels_last', 'contiguous', 'x']) })])()];
      case 'backward': return rng.chance(0.5) ? [] : [maybe(tensor), { retainGraph: bool() }];
      default: return [];
    }
  }

  function rawTensorArgs(name: string, self: Any): Any[] {
    switch (name) {
      case 'to': return [maybe(device), maybe(dtype), maybe(() => rng.pick(['channels_last', 'contiguous', 'x']))];
      case 'setRequiresGrad': return [bool()];
      case 'backward': return [maybe(raw), bool()];
      case 'unary': return [rng.chance(0.9) ? rng.pick(UNARY) : rng.pick(BAD_OPS)];
      case 'binary': return [rng.chance(0.9) ? rng.pick(BINARY) : rng.pick(BAD_OPS), rng.chance(0.5) ? raw() : num(), num()];
      case 'reduce': return [rng.chance(0.9) ? rng.pick(REDUCE) : rng.pick(BAD_OPS), maybe(dims), bool()];
      case 'shaped': {
        const op = rng.chance(0.9) ? rng.pick(SHAPED) : rng.pick(BAD_OPS);
        return [op, shapeFor(op, self)];
      }
      case 'clamp': return [maybe(num), maybe(num)];
      case 'maxDim': return [smallInt(), bool()];
      case 'indexSelect': return [smallInt(), rng.chance(0.5) ? made([dim()], 'int64', { hi: 3 }).raw : raw()];
      case 'narrow': return [smallInt(), smallInt(), smallInt()];
      case 'inPlace': {
        const op = rng.chance(0.9) ? rng.pick(INPLACE) : rng.pick(BAD_OPS);
        return [op, op === 'copy_' ? raw() : num(), num()];
      }
      case 'setData': return [raw()];
      default: return [];
    }
  }

  function publicFactory(): Call {
    const opts = () => (rng.chance(0.5) ? undefined : rng.chance(0.8)
      ? { dtype: dtype(), ...(rng.chance(0.3) ? { device: device() } : {}), ...(rng.chance(0.2) ? { requiresGrad: bool() } : {}) }
      : any(1));
    const kinds: [string, () => Any[]][] = [
      ['tensor', () => [rng.pick([() => typedArray(), () => [[1, 2], [3, 4]], () => [1, [2]], () => [], () => any(1)])(),
        ...(rng.chance(0.5) ? [shape()] : []), opts()]],
      ['zeros', () => [shape(), opts()]], ['ones', () => [shape(), opts()]], ['empty', () => [shape(), opts()]],
      ['full', () => [shape(), num(), opts()]], ['randn', () => [shape(), opts()]], ['rand', () => [shape(), opts()]],
      ['randint', () => [smallInt(), smallInt(), shape(), opts()]], ['randperm', () => [size(), opts()]],
      ['arange', () => [num(), ...(rng.chance(0.6) ? [num(), rng.chance(0.5) ? rng.pick([1, 2, 0.5, -1, 0, NaN, 1e300]) : undefined] : []), opts()]],
      ['cat', () => [rng.chance(0.5) ? alike() : rng.chance(0.8) ? Array.from({ length: rng.int(4) }, tensor) : any(1), smallInt()]],
      ['stack', () => [rng.chance(0.5) ? alike() : rng.chance(0.8) ? Array.from({ length: rng.int(4) }, tensor) : any(1), smallInt()]],
    ];
    const [name, gen] = rng.pick(kinds);
    return invoke(`tb.${name}`, undefined, (tb as Any)[name], mangle(gen()));
  }

  function rawFactory(): Call {
    const fromData = (): Any[] => {
      // Often exactly the right byte count, so the copy itself runs.
      const dt = rng.pick(DTYPES);
      const s = smallShape(3);
      const bytes = numel(s) * ({ float64: 8, int64: 8, float32: 4, int32: 4, float16: 2, bfloat16: 2 } as Any)[dt] || numel(s);
      const data = rng.chance(0.7) ? Uint8Array.from({ length: bytes }, () => rng.int(256)) : typedArray();
      return [data, rng.chance(0.8) ? s : shape(), rng.chance(0.9) ? dt : dtype(), device()];
    };
    const kinds: [string, () => Any[]][] = [
      ['fromData', fromData],
      ['fill', () => [rng.pick(['zeros', 'ones', 'empty', 'full', 'bogus']), shape(), dtype(), device(), num()]],
      ['random', () => [rng.pick(['randn', 'rand', 'randint', 'randperm', 'bogus']), shape(), dtype(), device(), smallInt(), smallInt()]],
      ['arange', () => [num(), num(), rng.pick([1, 2, 0.5, -1, 0, NaN, Infinity, 1e300]), dtype(), device()]],
      ['cat', () => [rng.chance(0.5) ? alike().map((t) => t.raw) : rng.chance(0.8) ? Array.from({ length: rng.int(4) }, raw) : any(1), smallInt()]],
      ['stack', () => [rng.chance(0.5) ? alike().map((t) => t.raw) : rng.chance(0.8) ? Array.from({ length: rng.int(4) }, raw) : any(1), smallInt()]],
    ];
    const [name, gen] = rng.pick(kinds);
    return invoke(`addon.Tensor.${name}`, RawTensor, RawTensor[name], mangle(gen()));
  }

  function publicMethod(): Call {
    const name = rng.pick(tensorMethods);
    const target = tensor(), self = thisFor(target);
    return invoke(`Tensor.${name}`, self, (tb.Tensor.prototype as Any)[name], mangle(publicTensorArgs(name, self)),
      self !== target || !publicTensor(self));
  }

  function publicAccessor(): Call {
    const name = rng.pick(['shape', 'dtype', 'device', 'ndim', 'numel', 'strides', 'isDisposed', 'requiresGrad', 'grad']);
    const target = tensor(), self = thisFor(target);
    if (name === 'requiresGrad' && rng.chance(0.5)) {
      const value = bool();
      return call(`Tensor.requiresGrad = ${show(value)} on ${show(self)}`, () => { self.requiresGrad = value; }, self !== target || !publicTensor(self));
    }
    const getter = Object.getOwnPropertyDescriptor(tb.Tensor.prototype, name)!.get!;
    return invoke(`get Tensor.${name}`, self, getter, [], self !== target || !publicTensor(self));
  }

  const rawMethods = ['shape', 'strides', 'dtype', 'device', 'isDisposed', 'dispose', 'data', 'item', 'to', 'requiresGrad',
    'setRequiresGrad', 'grad', 'backward', 'unary', 'binary', 'reduce', 'shaped', 'clamp', 'maxDim', 'indexSelect', 'narrow',
    'inPlace', 'setData'];
  function rawMethod(): Call {
    const name = rng.pick(rawMethods);
    const target = raw(), self = thisFor(target);
    return invoke(`raw.${name}`, self, RawTensor.prototype[name], mangle(rawTensorArgs(name, self)), self !== target || !rawTensor(self));
  }

  function functional(): Call {
    const F = nn.functional as Any;
    const fns: [string, () => Any[]][] = [
      ['conv2d', () => [tensor(), tensor(), maybe(tensor), pair(), pair(), pair(), smallInt()]],
      ['linear', () => [tensor(), tensor(), maybe(tensor)]],
      ['relu', () => [tensor(), bool()]],
      ['maxPool2d', () => [tensor(), pair(), maybe(pair), pair(), pair(), bool()]],
      ['avgPool2d', () => [tensor(), pair(), maybe(pair), pair(), bool(), bool()]],
      ['adaptiveAvgPool2d', () => [tensor(), pair()]],
      ['dropout', () => [tensor(), rng.pick([0, 0.5, 1, NaN, -1, 2]), bool(), bool()]],
      ['localResponseNorm', () => [tensor(), size(), num(), num(), num()]],
      ['batchNorm', () => [tensor(), maybe(tensor), maybe(tensor), maybe(tensor), maybe(tensor), bool(), num(), num()]],
      ['crossEntropy', () => [tensor(), tensor(), rng.chance(0.5) ? undefined : {
        weight: maybe(tensor), reduction: rng.pick(['mean', 'sum', 'none', 'bogus']), ignoreIndex: smallInt(), labelSmoothing: num(),
      }]],
    ];
    const [name, gen] = rng.pick(fns);
    if (name !== 'relu' && rng.chance(0.5)) {
      const a = structured(name);
      // F.crossEntropy takes an options object, F.batchNorm the same order as the addon.
      const args2 = name === 'crossEntropy' ? [a[0], a[1], { weight: a[2], reduction: a[3], ignoreIndex: a[4], labelSmoothing: a[5] }] : a;
      return invoke(`F.${name}`, undefined, F[name], mangle(args2));
    }
    return invoke(`F.${name}`, undefined, F[name], mangle(gen()));
  }

  function rawFunctional(): Call {
    if (rng.chance(0.25)) return rawForwardAsync();
    const ints = () => (rng.chance(0.8) ? Array.from({ length: rng.chance(0.8) ? 2 : rng.int(4) }, smallInt) : shape());
    const fns: [string, () => Any[]][] = [
      ['conv2d', () => [raw(), raw(), maybe(raw), ints(), ints(), ints(), smallInt()]],
      ['linear', () => [raw(), raw(), maybe(raw)]],
      ['maxPool2d', () => [raw(), ints(), ints(), ints(), ints(), bool(), ...(rng.chance(0.3) ? [rng.pick(['auto', 'aten', 'bogus', any(1)])] : [])]],
      ['avgPool2d', () => [raw(), ints(), ints(), ints(), bool(), bool()]],
      ['adaptiveAvgPool2d', () => [raw(), ints()]],
      ['dropout', () => [raw(), num(), bool(), bool()]],
      ['setBatchShard', () => (rng.chance(0.3) ? [] : [smallInt(), smallInt()])],
      ['localResponseNorm', () => [raw(), size(), num(), num(), num()]],
      ['batchNorm', () => [raw(), maybe(raw), maybe(raw), maybe(raw), maybe(raw), bool(), num(), num()]],
      ['crossEntropy', () => [raw(), raw(), maybe(raw), rng.pick(['mean', 'sum', 'none', 'bogus']), smallInt(), num()]],
    ];
    const [name, gen] = rng.pick(fns);
    if (rng.chance(0.5)) {
      const a = structured(name).map((x) => (x instanceof tb.Tensor ? (x as Any).raw : x));
      if (name === 'maxPool2d' && rng.chance(0.3)) a.push('aten'); // at::max_pool2d_with_indices directly
      // The addon takes int lists where the public API takes pairs; dropout's p etc. pass through.
      return invoke(`addon.functional.${name}`, undefined, (addon.functional as Any)[name], mangle(a));
    }
    return invoke(`addon.functional.${name}`, undefined, (addon.functional as Any)[name], mangle(gen()));
  }

  function moduleCall(): Call {
    const m = rng.pick(modules);
    switch (rng.int(14)) {
      case 0: case 1: case 2: {
        // forward, then a scalar loss kept for backward().
        const x = inputFor(m);
        return call(`${show(m)}.forward(${show(x)}) -> loss`, () => {
          const y = m.forward(x);
          const loss = rng.chance(0.5) ? y.sum() : y.mean();
          y.dispose();
          return loss;
        });
      }
      case 3: {
        const self = thisFor(m);
        return invoke(`${show(m)}.train`, self, m.train, mangle([bool()]), self !== m);
      }
      case 4: return invoke(`${show(m)}.to`, m, m.to, mangle([device()]));
      case 5: return call(`${show(m)}.stateDict() and dispose`, () => { for (const t of Object.values(m.stateDict())) (t as Any).dispose(); });
      case 6: case 7: {
        // loadStateDict with a dict that is right, or wrong in one way.
        const strict = rng.chance(0.3) ? any(1) : bool();
        const how = rng.pick(['valid', 'missing', 'extra', 'shape', 'dtype', 'disposed', 'notTensor', 'other', 'notObject']);
        return call(`${show(m)}.loadStateDict(${how}, strict ${show(strict)})`, () => {
          const other = rng.pick(modules);
          const dict: Any = (how === 'other' ? other : m).stateDict();
          const keys = Object.keys(dict);
          const k = keys.length ? rng.pick(keys) : 'x';
          if (how === 'missing') delete dict[k];
          if (how === 'extra') dict[`${k}.extra`] = tensor();
          if (how === 'shape') dict[k] = tensor();
          if (how === 'dtype' && dict[k]) dict[k] = dict[k].to(rng.pick(DTYPES));
          if (how === 'disposed') dict[k]?.dispose();
          if (how === 'notTensor') dict[k] = any(1);
          try {
            return m.loadStateDict(how === 'notObject' ? any(1) : dict, rng.chance(0.2) ? any(1) : { strict });
          } finally {
            for (const t of Object.values(dict)) if (t instanceof tb.Tensor && !known.has(t) && !fakes.includes(t)) t.dispose();
          }
        });
      }
      case 8: {
        const self = thisFor(m);
        return invoke(`${show(m)}.toString`, self, m.toString, [], self !== m);
      }
      case 9: {
        // A new layer from random constructor arguments.
        const ctors: [string, () => Any[]][] = [
          ['Conv2d', () => [smallInt(), smallInt(), pair(), rng.chance(0.5) ? undefined : { stride: pair(), padding: pair(), groups: smallInt() }]],
          ['Linear', () => [smallInt(), smallInt()]], ['BatchNorm2d', () => [smallInt()]], ['MaxPool2d', () => [pair()]],
          ['Dropout', () => [num()]], ['LocalResponseNorm', () => [smallInt()]], ['AdaptiveAvgPool2d', () => [pair()]],
          ['Sequential', () => Array.from({ length: rng.int(3) }, () => rng.pick([...modules, any(1)]))],
        ];
        const [name, gen] = rng.pick(ctors);
        const a = mangle(gen());
        return call(`new nn.${name}(${a.map((x) => show(x)).join(', ')}) and dispose`, () => {
          const made = new (nn as Any)[name](...a);
          if (name !== 'Sequential') made.dispose();
          return made.toString();
        });
      }
      case 10: {
        // A parameter whose shape or dtype changes under its gradient and momentum buffer.
        const ps = m.parameters();
        const p = ps.length ? rng.pick(ps) : tensor();
        const src = rng.chance(0.5) ? tensor() : made(rng.chance(0.5) ? smallShape(2) : p.shape, floatDtype(), { grad: false });
        return rng.chance(0.8) ? invoke(`${show(m)} param.setData`, p, p.setData, [src])
          : call(`${show(m)}.dispose()`, () => m.dispose());
      }
      case 11: case 12: {
        // forwardAsync: awaited; with its input disposed as soon as it is queued; or
        // left running (its result dropped) while later calls use, change or dispose
        // the same module and tensors. These modules have no dropout, so nothing in
        // the background draws from the global generator (a seed replays the same calls).
        const x = inputFor(m);
        const how = rng.pick(['await', 'await', 'dispose the input', 'background']);
        return call(`${show(m)}.forwardAsync(${show(x)}), ${how}`, () => {
          const p = m.forwardAsync(x);
          if (how === 'dispose the input' && temps.includes(x)) x.dispose();
          if (how !== 'background') return p;
          pending.push(p.then((y: Any) => y.dispose(), () => undefined));
          return undefined;
        });
      }
      default: return call('fresh modules and optimizers', () => freshModules());
    }
  }

  // The raw forwardAsync: plans of well-shaped layer steps (which rarely chain
  // shape for shape, so most fail part-way, on the worker), steps with wrong ops,
  // arguments or module names, and things that are not plans. Always awaited:
  // a dropout step draws from the global generator.
  function rawForwardAsync(): Call {
    const layerOps = ['conv2d', 'linear', 'maxPool2d', 'avgPool2d', 'adaptiveAvgPool2d', 'dropout', 'localResponseNorm', 'batchNorm'];
    const module = () => (rng.chance(0.5) ? {} : { module: rng.chance(0.8) ? rng.pick(['', 'conv1.0', 'fc']) : any(1) });
    let input: Any = null;
    const steps: Any[] = [];
    for (let i = rng.int(4); i > 0; i--) {
      const r = rng.next();
      if (r < 0.6) {
        const op = rng.pick(layerOps);
        const [x, ...args] = structured(op).map((a) => (a instanceof tb.Tensor ? (a as Any).raw : a));
        input ??= x;
        steps.push({ op, args: mangle(args), ...module() });
      } else if (r < 0.75) {
        steps.push({ op: rng.pick(['relu', 'flatten']), args: mangle(rng.pick([[bool()], [smallInt(), smallInt()]])), ...module() });
      } else if (r < 0.9) {
        steps.push({ op: rng.chance(0.7) ? rng.pick([...BAD_OPS, 'crossEntropy', 'functional']) : any(1), args: rng.chance(0.5) ? [] : any(1) });
      } else {
        steps.push(rng.chance(0.5) ? any(1) : evil());
      }
    }
    const a = addon as Any;
    return invoke('addon.forwardAsync', undefined, a.forwardAsync, mangle([input ?? raw(), rng.chance(0.9) ? steps : any(1)]));
  }

  function optimCall(): Call {
    const o = optims.length ? rng.pick(optims) : null;
    if (o && owner.has(o) && rng.chance(0.25)) {
      // A whole training step, so that steps meet real gradients and momentum buffers.
      const m = owner.get(o), x = inputFor(m);
      return call(`train step ${show(m)} ${show(o)} on ${show(x)}`, () => {
        const y = m.forward(x);
        const loss = y.sum();
        y.dispose();
        loss.backward();
        loss.dispose();
        o.step();
      });
    }
    switch (rng.int(11)) {
      case 0: case 1: {
        const self = thisFor(o);
        return o ? invoke(`${show(o)}.step`, self, o.step, [], self !== o) : call('noop', () => 0);
      }
      case 2: {
        const self = thisFor(o);
        return o ? invoke(`${show(o)}.zeroGrad`, self, o.zeroGrad, mangle(rng.chance(0.5) ? [] : [bool()]), self !== o) : call('noop', () => 0);
      }
      case 3: return o ? call(`${show(o)}.stateDict() and dispose`, () => {
        // SGD's momentum_buffer, Adam's exp_avg, exp_avg_sq, step...
        for (const s of Object.values(o.stateDict().state)) for (const x of Object.values(s as Any)) if (x instanceof tb.Tensor) x.dispose();
      }) : call('noop', () => 0);
      case 4: {
        if (!o) return call('noop', () => 0);
        const how = rng.pick(['valid', 'wrongShape', 'notTensor', 'groups', 'params', 'junk']);
        return call(`${show(o)}.loadStateDict(${how})`, () => {
          const d: Any = o.stateDict();
          const made = Object.values(d.state).flatMap((s: Any) => Object.values(s).filter((x) => x instanceof tb.Tensor));
          const first = Object.keys(d.state)[0] ?? '0';
          if (how === 'wrongShape') d.state[first] = { momentum_buffer: tensor() };
          if (how === 'notTensor') d.state[first] = { momentum_buffer: any(1) };
          if (how === 'groups') d.param_groups.push({ params: [] });
          if (how === 'params') d.param_groups[0].params = any(1);
          if (how === 'junk') d.param_groups[0].lr = any(1);
          try {
            return o.loadStateDict(d);
          } finally {
            for (const t of made as Any[]) t.dispose();
          }
        });
      }
      case 5: {
        const m = rng.pick(modules);
        const params = rng.chance(0.8) ? m.parameters() : rng.chance(0.5) ? Array.from({ length: rng.int(3) }, tensor) : any(1);
        const kind = rng.pick(['SGD', 'Adam', 'AdamW'] as const);
        const opts = !rng.chance(0.7) ? any(1)
          : kind === 'SGD' ? { lr: num(), momentum: rng.pick([0, 0.9, num()]), nesterov: bool(), weightDecay: rng.pick([0, num()]) }
          : { lr: num(), betas: rng.chance(0.7) ? [0.9, 0.999] : [num(), num()], weightDecay: rng.pick([0, num()]), amsgrad: bool() };
        return call(`new optim.${kind}(${show(params)}, ${show(opts)})`, () => {
          const made = label(new optim[kind](params, opts), kind);
          owner.set(made, m);
          optims.push(made);
          if (optims.length > 4) optims.shift()!.dispose();
        });
      }
      case 6: {
        if (!o) return call('noop', () => 0);
        const maxLr = rng.chance(0.8) ? rng.pick([0.1, 1, 0, -1, NaN]) : any(1);
        const opts = rng.chance(0.8) ? { totalSteps: rng.chance(0.8) ? rng.range(1, 6) : size(), ...(rng.chance(0.3) ? { threePhase: bool() } : {}) } : any(1);
        return call(`new optim.OneCycleLR(${show(o)}, ${show(maxLr)}, ${show(opts)})`, () => {
          scheds.push(label(new optim.OneCycleLR(o, maxLr, opts), 'OneCycleLR'));
          if (scheds.length > 3) scheds.shift();
        });
      }
      case 7: case 8: {
        const s = scheds.length ? rng.pick(scheds) : null;
        return s ? invoke(`${show(s)}.step`, s, s.step, []) : call('noop', () => 0);
      }
      case 9: return o ? call(`${show(o)}.dispose()`, () => o.dispose()) : call('noop', () => 0);
      default: {
        // Autograd out of order: backward on a loss (maybe again), or on anything.
        const t = losses.length && rng.chance(0.7) ? rng.pick(losses) : tensor();
        const a = mangle(rng.chance(0.6) ? [] : [maybe(tensor), { retainGraph: bool() }]);
        return invoke('Tensor.backward', t, tb.Tensor.prototype.backward, a, !publicTensor(t));
      }
    }
  }

  function rawOptimCall(): Call {
    if (rng.chance(0.35)) return rawAdamCall();
    const o = rawOptims.length ? rng.pick(rawOptims) : null;
    const r = rng.int(8);
    if (r === 0 || !o) {
      const params = rawParams();
      return call(`new addon.SGD(${show(params)})`, () => {
        rawOptims.push(label(new RawSGD(params), 'rawSGD'));
        if (rawOptims.length > 4) rawOptims.shift().dispose();
      });
    }
    const methods: [string, () => Any[]][] = [
      ['step', () => [rng.range(0, 2), rng.range(0, 4), num(), rng.pick([0, 0.9, num()]), rng.pick([0, num()]), rng.pick([0, num()]), bool(), bool(),
        ...(rng.chance(0.3) ? [rng.chance(0.8) ? bool() : any(1)] : [])]],
      ['step', () => [0, rng.range(1, 4), 0.1, rng.pick([0, 0.9]), 0, rng.pick([0, 1e-4]), false, rng.chance(0.2), rng.chance(0.5)]],
      ['zeroGrad', () => [bool()]],
      ['buffer', () => [smallInt()]],
      ['setBuffer', () => [smallInt(), maybe(raw)]],
      ['dispose', () => []],
    ];
    const [name, gen] = rng.pick(methods);
    const self = thisFor(o);
    return invoke(`rawSGD.${name}`, self, RawSGD.prototype[name], mangle(gen()), self !== o);
  }

  function rawParams(): Any {
    return rng.chance(0.5) && modules.length ? rng.pick(modules).parameters().map((p: Any) => p.raw)
      : rng.chance(0.8) ? Array.from({ length: rng.int(4) }, raw) : any(1);
  }

  const rawAdams: Any[] = [];
  function rawAdamCall(): Call {
    const o = rawAdams.length ? rng.pick(rawAdams) : null;
    if (rng.int(8) === 0 || !o) {
      const params = rawParams();
      return call(`new addon.Adam(${show(params)})`, () => {
        rawAdams.push(label(new RawAdam(params), 'rawAdam'));
        if (rawAdams.length > 4) rawAdams.shift().dispose();
      });
    }
    const methods: [string, () => Any[]][] = [
      ['step', () => [rng.range(0, 2), rng.range(0, 4), num(), num(), num(), num(), rng.pick([0, num()]), bool(), bool(), bool()]],
      ['step', () => [0, rng.range(1, 4), 1e-3, 0.9, 0.999, 1e-8, rng.pick([0, 1e-2]), bool(), false, bool()]],
      ['zeroGrad', () => [bool()]],
      ['state', () => [smallInt()]],
      ['setState', () => [smallInt(), rng.chance(0.3) ? null : smallInt(), maybe(raw), maybe(raw), maybe(raw)]],
      ['dispose', () => []],
    ];
    const [name, gen] = rng.pick(methods);
    const self = rng.chance(0.9) ? thisFor(o) : rng.pick([...rawOptims, o]);
    return invoke(`rawAdam.${name}`, self, RawAdam.prototype[name], mangle(gen()), self !== o);
  }

  // A saved file with a few bytes changed, or cut short: the loader must refuse it cleanly.
  function corrupt(src: string): string {
    const out = path.join(workDir, `corrupt-${nextId++}.pt`);
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(src);
    } catch {
      bytes = Buffer.alloc(0);
    }
    if (rng.chance(0.3)) bytes = bytes.subarray(0, rng.int(bytes.length + 1));
    // Half the changes land early in the file, in the pickle (the reader checks no CRC).
    else for (let k = rng.range(1, 4); k > 0 && bytes.length; k--) bytes[rng.int(rng.chance(0.5) ? Math.min(bytes.length, 400) : bytes.length)] = rng.int(256);
    fs.writeFileSync(out, bytes);
    return out;
  }

  // A torch.save-style zip around a pickle that nests deeply, shares one tuple
  // 2**n ways, contains itself, or stops in the middle.
  function hostilePickle(): string {
    const n = rng.pick([10, 999, 1001, 20000, 200000]);
    const rep = (b: string, k: number) => b.repeat(k); // strings of latin1 bytes
    const end = rng.chance(0.7) ? '.' : rng.pick(['\xff', '']);
    const body = rng.pick([
      () => `${rep(']', n)}${rep('a', n - 1)}`, // [[[...]]]
      () => `K\x00${rep('\x85', n)}`, // (((0,),),)
      () => `${rep('}K\x00', n)}K\x00${rep('s', n)}`, // {0: {0: ...}}
      () => `${rep('(', n)}K\x00${rep('l', n)}`, // lists made with MARK
      () => `K\x00${rep('q\x00h\x00\x86', rng.pick([10, 40, 60]))}`, // t = (t, t), shared
      () => ']q\x00h\x00a', // a list that contains itself
    ])();
    const pickle = Buffer.from(`\x80\x02${body}${end}`, 'latin1');
    const out = path.join(workDir, `hostile-${nextId++}.pt`);
    fs.writeFileSync(out, storedZip([['archive/data.pkl', pickle], ['archive/byteorder', Buffer.from('little')],
      ['archive/version', Buffer.from('3\n')]]));
    return out;
  }

  function serializeCall(): Call {
    const target = () => (rng.chance(0.85) ? path.join(workDir, `f${rng.int(6)}.pt`)
      : rng.pick(['', '/nonexistent-dir/x.pt', workDir, path.join(workDir, 'no', 'x.pt'), 7, null]));
    const source = (): Any => {
      const r = rng.next();
      if (r < 0.5 && files.length) return rng.pick(files);
      if (r < 0.7 && files.length) return corrupt(rng.pick(files));
      if (r < 0.85) return hostilePickle();
      return rng.pick(['/dev/null', workDir, path.join(workDir, 'missing.pt'), '', 3, __filename]);
    };
    const value = (): Any => rng.pick([
      () => tensor(),
      () => ({ a: tensor(), b: [tensor(), num(), 'x'], c: { d: rng.chance(0.5) } }),
      () => Array.from({ length: rng.int(4) }, tensor),
      () => any(1),
    ])();
    // Most are awaited. Some run on while later calls use the same tensors; those
    // write files that nothing reads, so their timing can't change later calls
    // (a seed must replay the same calls).
    const background = rng.chance(0.2);
    const settle = (p: Promise<unknown>) => {
      if (!background) return p;
      pending.push(p.catch(() => undefined));
      return undefined;
    };
    const saveTarget = (): Any => {
      if (background) return path.join(workDir, `background-${nextId++}.pt`);
      const p = target();
      if (typeof p === 'string' && !files.includes(p)) files.push(p);
      return p;
    };
    switch (rng.int(4)) {
      case 0: {
        const v = value(), p = saveTarget();
        return call(`tb.save(${show(v)}, ${show(p)})${background ? ' in the background' : ''}`, () => settle(tb.save(v, p)));
      }
      case 1: {
        const v = rng.chance(0.8) ? value() : rng.chance(0.5) ? raw() : evil(), p = saveTarget();
        const rawValue = v instanceof tb.Tensor && rng.chance(0.9) ? (v as Any).raw : v;
        return call(`addon.save(${show(p)}, ${show(rawValue)})${background ? ' in the background' : ''}`,
          () => settle(addon.save(p, rawValue)));
      }
      case 2: {
        const p = source();
        return call(`tb.load(${show(p)})${background ? ' in the background' : ''}`, () => settle(tb.load(p)));
      }
      default: {
        const p = source();
        return call(`addon.load(${show(p)})${background ? ' in the background' : ''}`, () => settle(addon.load(p)));
      }
    }
  }

  function miscCall(): Call {
    const a = addon as Any;
    switch (rng.int(20)) {
      case 0: return invoke('tb.manualSeed', undefined, tb.manualSeed, mangle([rng.chance(0.5) ? rng.int(1000) : num()]));
      case 1: return invoke('addon.manualSeed', undefined, a.manualSeed, mangle([num()]));
      case 2: return invoke('tb.setNumThreads', undefined, tb.setNumThreads, mangle([rng.pick(THREADS)]));
      case 3: return invoke('addon.setNumThreads', undefined, a.setNumThreads, mangle([rng.pick(THREADS)]));
      case 4: {
        // The CPU Linear kernel, raw (any string, or anything) and public; or restore the thread count.
        const r = rng.int(3);
        if (r === 0) return call(`setNumThreads(${initialThreads}) (restore)`, () => tb.setNumThreads(initialThreads));
        const kernel = rng.chance(0.8) ? rng.pick(['onednn', 'blas', 'mkl', '', 'ONEDNN']) : any(1);
        return r === 1 ? invoke('addon.setCpuLinearKernel', undefined, a.setCpuLinearKernel, mangle([kernel]))
          : invoke('tb.setCpuLinearKernel', undefined, tb.setCpuLinearKernel, mangle([kernel]));
      }
      case 5: {
        const name = rng.pick(['backends', 'getNumThreads', 'cudaMemory', 'isGradEnabled', 'getRngState', 'routeCounts']);
        return invoke(`addon.${name}`, undefined, a[name], mangle([]));
      }
      case 6: return invoke('addon.initDevice', undefined, a.initDevice, mangle([device()]));
      case 7: return invoke('addon.synchronize', undefined, a.synchronize, mangle([device()]));
      case 8: {
        // The generator state, intact or with a byte changed, or any tensor.
        const how = rng.pick(['same', 'byte', 'other']);
        const pos = rng.int(6000), val = rng.int(256);
        return call(`addon.setRngState(${how} ${pos}=${val})`, () => {
          const s = how === 'other' ? raw() : addon.getRngState();
          try {
            if (how === 'byte') {
              const bytes = s.data() as Uint8Array;
              bytes[pos % Math.max(1, bytes.length)] = val;
              const t = RawTensor.fromData(bytes, [bytes.length], 'uint8', 'cpu');
              try { addon.setRngState(t); } finally { t.dispose(); }
            } else addon.setRngState(s);
          } finally {
            if (how !== 'other') s.dispose();
          }
        });
      }
      case 9: return invoke('addon.setGradEnabled', undefined, a.setGradEnabled, mangle([bool()]));
      case 10: {
        // tidy / noGrad around a nested call, returning tensors, throwing, or async.
        const inner = rng.pick([publicMethod, functional, publicFactory])();
        const wrap = rng.pick(['tidy', 'noGrad']);
        const how = rng.pick(['value', 'array', 'throw', 'async', 'nested']);
        return call(`tb.${wrap}(${how}: ${inner.desc})`, () => (tb as Any)[wrap](() => {
          const r: Any = inner.run();
          if (how === 'throw') throw new Error('thrown inside');
          if (how === 'array') return [r, { r }];
          if (how === 'async') return Promise.resolve(r);
          if (how === 'nested') return tb.tidy(() => r);
          return r;
        }), inner.misuse);
      }
      case 11: return invoke('tb.keep', undefined, tb.keep, [tensor()]);
      case 12: case 13: {
        // augmentBatch: plausible shapes and ranges, sometimes wrong.
        const n = rng.range(0, 3), c = rng.range(1, 3), h = rng.range(1, 5), w = rng.range(1, 5), b = rng.range(0, 4);
        const pad = rng.chance(0.7) ? rng.range(0, 2) : size();
        const images = rng.chance(0.8) ? temp(tb.randint(0, 255, [n, c, h, w], { dtype: 'uint8' }), 'images').raw : raw();
        const ints = (hi: number) => (rng.chance(0.9) ? Int32Array.from({ length: b }, () => rng.range(rng.chance(0.95) ? 0 : -2, hi + (rng.chance(0.95) ? 0 : 2))) : any(1));
        const stats = () => (rng.chance(0.8) ? Array.from({ length: c }, () => rng.pick([0.5, 0.25, 0, NaN])) : any(1));
        const args2 = mangle([images, ints(Math.max(0, n - 1)), ints(2 * (Number.isSafeInteger(pad) ? pad : 0)),
          ints(2 * (Number.isSafeInteger(pad) ? pad : 0)), ints(1), stats(), stats(), pad]);
        return invoke('addon.augmentBatch', undefined, a.augmentBatch, args2);
      }
      case 14: {
        // Constructors called the wrong way.
        const how = rng.pick(['newTensor', 'newTensorArg', 'callTensor', 'callSGD', 'extend']);
        const arg = any(1);
        return call(`constructor misuse ${how} ${show(arg)}`, () => {
          if (how === 'newTensor') return new RawTensor();
          if (how === 'newTensorArg') return new RawTensor(arg);
          if (how === 'callTensor') return RawTensor(arg);
          if (how === 'callSGD') return RawSGD(arg);
          const Sub: Any = class extends RawSGD {};
          return new Sub(arg);
        }, true);
      }
      case 15: return rng.chance(0.3) ? workerCall() : call('gc()', () => gcFn?.());
      case 16: return call('drain running saves and loads', () => Promise.all(pending.splice(0)));
      case 17: {
        // autocast: the public wrapper around a nested call, or the raw enter/exit unbalanced.
        const dt = rng.pick(['bfloat16', 'float16', 'float32', 'int8']);
        if (rng.chance(0.5) && amp?.autocast) {
          const inner = rng.pick([functional, publicMethod, moduleCall])();
          const dev = rng.chance(0.8) ? 'cpu' : rng.pick(DEVICES);
          return call(`autocast(${show(dev)}, ${dt}: ${inner.desc})`, () => amp.autocast(dev, dt, () => inner.run()), inner.misuse);
        }
        if (typeof a.autocastEnter !== 'function') return invoke('tb.backends', undefined, tb.backends, []);
        return rng.chance(0.5)
          ? invoke('addon.autocastEnter', undefined, a.autocastEnter, mangle([device(), dt]))
          : invoke('addon.autocastExit', undefined, a.autocastExit, mangle([device(), bool(), rng.pick([...DTYPES, dt])]));
      }
      case 18: {
        // A method of one class on an object of the other.
        const fromTensor = rng.chance(0.5);
        const name = fromTensor ? rng.pick(rawMethods) : rng.pick(['step', 'zeroGrad', 'buffer', 'setBuffer', 'dispose']);
        const self = fromTensor ? rng.pick([...rawOptims, sgdAsRawTensor, sgdWithTensorProto].filter(Boolean)) : raw();
        const fn = (fromTensor ? RawTensor : RawSGD).prototype[name];
        return invoke(`${fromTensor ? 'raw' : 'rawSGD'}.${name}`, self, fn, mangle([any(), any(), any()]), true);
      }
      default: return call('refill pool', () => refill());
    }
  }

  // A worker thread busy in native code (math, forwardAsync, saves, loads), terminated at a
  // random moment: the addon must let its environment go without aborting. The
  // workload is fixed and draws nothing from the global generator, so the main
  // thread's calls stay the same whenever the worker stops.
  function workerCall(): Call {
    const delay = rng.pick([0, 1, 5, 20]);
    const file = path.join(workDir, `worker-${nextId++}.pt`);
    const code = `
      const { parentPort, workerData: w } = require('node:worker_threads');
      const tb = require(w.src), { addon } = require(w.native);
      const x = tb.arange(48, undefined, 1, { dtype: 'float32' }).reshape([1, 3, 4, 4]);
      const k = tb.ones([2, 3, 3, 3]);
      parentPort.postMessage('ready');
      (async () => {
        for (let i = 0; ; i++) {
          tb.tidy(() => tb.nn.functional.conv2d(x, k, null, 1, 1).relu().sum().item());
          addon.forwardAsync(x.raw, [{ op: 'conv2d', args: [k.raw, null, [1, 1], [1, 1], [1, 1], 1] }, { op: 'relu', args: [true] }])
            .then((y) => y.dispose(), () => {});
          addon.save(w.file, x.raw).catch(() => {});
          addon.load(w.file).catch(() => {});
          if (i % 8 === 0) await new Promise((r) => setImmediate(r));
        }
      })();`;
    return call(`worker thread terminated ${delay} ms after it starts`, async () => {
      const worker = new Worker(code, {
        eval: true,
        workerData: { src: require.resolve('../../src'), native: require.resolve('../../src/native'), file },
      });
      await new Promise((resolve) => {
        worker.once('message', resolve);
        worker.once('error', resolve);
        worker.once('exit', resolve);
      });
      await new Promise((r) => setTimeout(r, delay));
      await worker.terminate();
    });
  }

  // Mixed precision: the raw kernels GradScaler uses (ampUnscale, ampUpdateScale),
  // often with well-formed arguments so that they reach the kernels, and GradScaler.
  const scalers: Any[] = [];
  function ampCall(): Call {
    const a = addon as Any;
    const scalar = (dt: Any, value = 0) => temp(tb.full([], value, { dtype: dt }), 'S').raw;
    switch (rng.int(8)) {
      case 0: case 1: {
        // ampUnscale(grads, foundInf, invScale): float32 scalars on the CPU for the last two.
        const well = rng.chance(0.6);
        const grads = well ? Array.from({ length: rng.int(4) }, () => made(smallShape(3), floatDtype(), { grad: false }).raw)
          : rng.chance(0.7) ? Array.from({ length: rng.int(3) }, raw) : any(1);
        const foundInf = well && rng.chance(0.9) ? scalar('float32') : raw();
        const invScale = well && rng.chance(0.9) ? temp(tb.tensor(Float32Array.of(rng.pick([0.5, 1, 0, Infinity, NaN])), []), 'S').raw : raw();
        return invoke('addon.ampUnscale', undefined, a.ampUnscale, mangle([grads, foundInf, invScale]));
      }
      case 2: case 3: {
        // ampUpdateScale(scale, growthTracker, foundInf, growthFactor, backoffFactor, growthInterval)
        const well = rng.chance(0.6);
        const scale = well && rng.chance(0.9) ? temp(tb.full([], rng.pick([65536, 1, 0, Infinity])), 'S').raw : raw();
        const tracker = well && rng.chance(0.9) ? scalar('int32', rng.range(0, 3)) : raw();
        const foundInf = well && rng.chance(0.9) ? scalar('float32', rng.range(0, 1)) : raw();
        return invoke('addon.ampUpdateScale', undefined, a.ampUpdateScale, mangle([scale, tracker, foundInf,
          rng.pick([2, 1, 0.5, NaN, num()]), rng.pick([0.5, 0, 2, num()]), rng.chance(0.8) ? rng.range(1, 3) : size()]));
      }
      case 4: {
        const opts = rng.chance(0.7) ? { initScale: rng.pick([2 ** 16, 1, 0, -1, NaN]), growthInterval: rng.pick([1, 2, 0, 1.5]),
          ...(rng.chance(0.3) ? { backoffFactor: num(), growthFactor: num(), enabled: bool() } : {}) } : any(1);
        const dev = rng.chance(0.8) ? 'cpu' : device();
        return call(`new GradScaler(${show(dev)}, ${show(opts)})`, () => {
          scalers.push(label(new amp.GradScaler(dev, opts), 'GradScaler'));
          if (scalers.length > 3) scalers.shift().dispose();
        });
      }
      default: {
        // A GradScaler method, in any order: scale a loss, unscale_, step, update, state dicts.
        const sc = scalers.length ? rng.pick(scalers) : null;
        if (!sc) return call('noop', () => 0);
        const o = optims.length && rng.chance(0.9) ? rng.pick(optims) : any(1);
        const loss = losses.length && rng.chance(0.6) ? rng.pick(losses) : tensor();
        const methods: [string, () => Any[]][] = [
          ['scale', () => [loss]], ['unscale_', () => [o]], ['step', () => [o]], ['update', () => (rng.chance(0.8) ? [] : [num()])],
          ['getScale', () => []], ['stateDict', () => []], ['dispose', () => []],
          ['loadStateDict', () => [rng.chance(0.6) ? { scale: num(), _growth_tracker: rng.pick([0, 1, -1, 1.5]) } : any(1)]],
        ];
        const [name, gen] = rng.pick(methods);
        const self = thisFor(sc);
        return invoke(`${show(sc)}.${name}`, self, sc[name], mangle(gen()), self !== sc);
      }
    }
  }

  const families: [number, () => Call][] = [
    [14, publicMethod], [5, publicAccessor], [14, rawMethod], [6, publicFactory], [6, rawFactory], [8, functional],
    [8, rawFunctional], [10, moduleCall], [8, optimCall], [5, rawOptimCall], [5, serializeCall], [8, miscCall], [4, ampCall],
  ];
  const totalWeight = families.reduce((s, [w]) => s + w, 0);
  function nextCall(): Call {
    let r = rng.int(totalWeight);
    for (const [w, f] of families) {
      if (r < w) return f();
      r -= w;
    }
    throw new Error('unreachable');
  }

  // ---- what comes back ---------------------------------------------------------

  /** Keeps a few small result tensors for later calls; disposes the rest now so memory stays flat. */
  function absorb(x: unknown, depth = 0): void {
    if (x === null || typeof x !== 'object' || depth > 3 || known.has(x)) return;
    if (x instanceof tb.Tensor || x instanceof RawTensor) {
      const isPublic = x instanceof tb.Tensor;
      const t: Any = isPublic ? x : new tb.Tensor(x as Any);
      if (!(t.raw instanceof RawTensor) || t.isDisposed) return;
      const shape: number[] = t.shape;
      if (shape.length === 0 && t.requiresGrad) {
        // A scalar with a graph: a loss for backward() later.
        losses.push(t);
        remember(t);
        if (losses.length > 4) losses.shift().dispose();
        return;
      }
      if (numel(shape) <= POOL_NUMEL && shape.length <= 6 && rng.chance(isPublic ? 0.3 : 0.2)) {
        // Mostly keep a detached copy, so autograd graphs don't chain forever.
        if (t.requiresGrad && rng.chance(0.7)) {
          const d = label(t.detach(), 'T');
          t.dispose();
          addToPool(d);
        } else addToPool(label(t, 'T'));
      } else t.dispose();
      return;
    }
    if (x instanceof Promise) return;
    for (const v of Array.isArray(x) ? x : Object.values(x)) absorb(v, depth + 1);
  }

  // ---- the loop ----------------------------------------------------------------

  let errors = 0, unnamed = 0, unbuilt = 0;
  const started = Date.now();
  log('start: building the pool');
  freshModules();
  refill();
  for (let i = 1; i <= args.calls; i++) {
    if (args.selfTestAbort === i) {
      log(`${i}: self-test: process.abort()`);
      process.abort();
    }
    // Building the arguments makes native calls too (fresh inputs), so it gets a line of its own.
    log(`${i}: (building the arguments)`);
    forged = false;
    let c: Call;
    try {
      if (args.selfTestUnbuilt) throw new Error('self-test: arguments that fail to build');
      c = nextCall();
    } catch (e) {
      unbuilt++;
      if (unbuilt <= 5) console.log(`fuzz: the arguments of call ${i} failed to build: ${(e as Error)?.message}`);
      c = call(`(building the arguments failed: ${(e as Error)?.message})`, () => 0);
    }
    if (args.selfTestUnnamed === i) c = call('self-test: an Error that names nothing', () => { throw new Error('something went wrong'); });
    log(`${i}: ${c.desc}`);
    try {
      let r = c.run();
      if (r && typeof (r as Any).then === 'function') r = await r;
      absorb(r);
    } catch (e) {
      errors++;
      const why = unnamedError(e, forged ? { ...c, misuse: true } : c);
      if (why !== null) {
        unnamed++;
        if (unnamed <= 20) console.log(`fuzz: ERROR WITHOUT ITS OPERATION'S NAME at call ${i}: ${c.desc} threw ${why}; replay with --seed ${args.seed}`);
      }
    }
    for (const t of temps.splice(0)) if (!known.has(t)) t.dispose();
    if (i % 50 === 0) {
      log(`${i}: (refill the pool after the call)`);
      refill();
    }
    if (i % 5000 === 0) console.log(`fuzz: ${i}/${args.calls} calls, ${errors} threw, ${((Date.now() - started) / 1000).toFixed(0)} s`);
  }
  log('end: draining saves and loads, disposing');
  await Promise.all(pending.splice(0));
  for (const t of [...pool, ...losses]) t.dispose();
  for (const m of modules) m.dispose();
  for (const o of [...optims, ...rawOptims, ...scalers]) o.dispose();
  tb.setNumThreads(initialThreads);
  log(`done: ${args.calls} calls, ${errors} threw, ${unnamed} unnamed, ${unbuilt} unbuilt`);
  fs.closeSync(logFd);
  fs.rmSync(workDir, { recursive: true, force: true });
  if (standalone) {
    console.log(`fuzz: ${args.calls} calls, 0 crashes, seed ${args.seed}`);
    console.log(`fuzz: ${errors} of ${args.calls} calls threw, ${unnamed} errors without their operation's name, ` +
      `${unbuilt} calls whose arguments failed to build`);
  }
}

// ---------------------------------------------------------------------------

if (require.main === module) {
  const args = parseArgs(process.argv.slice(2));
  if (args.child) {
    child(args).catch((e) => {
      // A bug in the fuzzer itself, not a crash of the library: say so loudly.
      console.error('fuzz: child failed:', e);
      process.exit(3);
    });
  } else {
    process.exitCode = parent(args);
  }
}
