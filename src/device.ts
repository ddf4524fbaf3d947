// Device names ('cpu', 'cuda', 'cuda:1', 'npu', 'npu:0'), parsed and checked here
// before they reach libtorch.
import { addon, Backends } from './native';
import { invalid } from './validate';

/** The kinds of device torchbridge can be built for: the CPU, CUDA GPUs, and Ascend NPUs through torch_npu. */
export type DeviceType = 'cpu' | 'cuda' | 'npu';
/** A device name: 'cpu', 'cuda', 'cuda:N', 'npu' or 'npu:N'. */
export type Device = string;

const pattern = /^(cpu|cuda|npu)(?::(\d+))?$/;

// torch_npu.contrib.transfer_to_npu's switch: code written for 'cuda' runs on the NPU.
let cudaToNpu = /^(1|true|on|yes)$/i.test(process.env.TORCHBRIDGE_TRANSFER_TO_NPU ?? '');
let toldCudaToNpu = false;

/**
 * Turns transfer_to_npu on or off: while on, every 'cuda' or 'cuda:N' device string
 * means 'npu' or 'npu:N', as after Python's `import torch_npu.contrib.transfer_to_npu`.
 * The environment variable TORCHBRIDGE_TRANSFER_TO_NPU=1 turns it on at start.
 */
export function transferToNpu(on = true): void {
  if (typeof on !== 'boolean') throw invalid('boolean', 'on', on);
  cudaToNpu = on;
}

/** Whether 'cuda' device strings map to 'npu' (see transferToNpu). */
export function isTransferToNpu(): boolean {
  return cudaToNpu;
}

/**
 * Splits a device name into its type and index ('cuda:1' gives `{ type: 'cuda', index: 1 }`) without
 * touching the device; applies {@link transferToNpu}. Throws a TypeError naming `name` for anything
 * else, 'cpu:0' included.
 */
export function parseDevice(v: unknown, name = 'device'): {
  /** The device kind. */
  type: DeviceType;
  /** N of 'cuda:N', or null when none was given. */
  index: number | null;
} {
  const m = typeof v === 'string' ? pattern.exec(v) : null;
  if (!m || (m[1] === 'cpu' && m[2] !== undefined)) {
    throw invalid("device such as 'cpu', 'cuda', 'cuda:1', 'npu' or 'npu:0'", name, v);
  }
  let type = m[1] as DeviceType;
  if (type === 'cuda' && cudaToNpu) {
    type = 'npu';
    if (!toldCudaToNpu) {
      toldCudaToNpu = true;
      console.warn("torchbridge: transfer_to_npu is on: 'cuda' devices map to 'npu'");
    }
  }
  return { type, index: m[2] === undefined ? null : Number(m[2]) };
}

let cached: Backends | null = null;
const ready = new Set<string>();

/**
 * What this build of the addon has: which devices were compiled in and which are usable now, the
 * libtorch version, CPU threads. Read fresh on every call.
 */
export function backends(): Backends {
  cached = { ...addon.backends(), distributed: addon.distributed.info() };
  return cached;
}

/** Checks a device name and that it is compiled in and present; initialises it once. */
export function checkDevice(v: unknown, name = 'device'): string {
  const { type, index } = parseDevice(v, name);
  const key = index === null ? type : `${type}:${index}`;
  if (type === 'cpu' || ready.has(key)) return key;
  const b = cached ?? backends();
  if (!b.compiled[type] && !(type === 'cuda' && b.available.cuda)) {
    throw new Error(
      `Device '${key}' is not built into torchbridge (built: ${Object.entries(b.compiled).filter(([, on]) => on).map(([d]) => d).join(', ')}). ` +
        `Rebuild with: npm run build:native -- --device ${type}`,
    );
  }
  addon.initDevice(key); // throws a clear Error when the device is absent
  ready.add(key);
  cached = null;
  return key;
}
