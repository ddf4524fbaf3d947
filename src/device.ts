// Device names ('cpu', 'cuda', 'cuda:1', 'npu', 'npu:0'), parsed and checked here
// before they reach libtorch.
import { addon, Backends } from './native';
import { invalid } from './validate';

export type DeviceType = 'cpu' | 'cuda' | 'npu';
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

export function parseDevice(v: unknown, name = 'device'): { type: DeviceType; index: number | null } {
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

/** Which devices were compiled in, which are usable now, and the libtorch version. */
export function backends(): Backends {
  cached = addon.backends();
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
