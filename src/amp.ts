// Mixed precision: autocast(device, dtype, fn) runs fn with libtorch's autocast
// on, as Python's `with torch.autocast(device_type, dtype):`. Run the forward
// pass and the loss inside it; backward() outside.
import { parseDevice } from './device';
import { addon } from './native';
import * as v from './validate';

export type AutocastDtype = 'bfloat16' | 'float16';

export function autocast<T>(device: string, dtype: AutocastDtype, fn: () => T): T {
  const type = parseDevice(device).type;
  v.oneOf(dtype, 'dtype', ['bfloat16', 'float16'] as const);
  const [wasEnabled, previous] = addon.autocastEnter(type, dtype);
  try {
    return fn();
  } finally {
    addon.autocastExit(type, wasEnabled, previous);
  }
}
