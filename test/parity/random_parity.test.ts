// The data Generator's Python port (test/python/sfc32.py) draws exactly what
// torchbridge's does, so the Python twins (learning_ref.py) see the same data order.
import test from 'ava';
import { Generator } from '../../src/data/random';
import { pythonScript, runPython } from '../helpers/python';

const SEEDS = [0, 1, 7, 2 ** 32, 2 ** 40 + 5];

test('sfc32.py draws the same stream as the data Generator', (t) => {
  const python = JSON.parse(runPython(pythonScript('sfc32.py'), SEEDS.map(String))) as Record<string, unknown>;
  for (const seed of SEEDS) {
    const g = new Generator(seed);
    const ours = [Array.from(g.shuffle(1000)), Array.from({ length: 5 }, () => g.nextUint32()), g.int(3), g.int(2 ** 32 - 5)];
    t.deepEqual(python[String(seed)], ours, `seed ${seed}`);
  }
  // Control: a neighbouring seed must give another order, or the comparison proves little.
  t.notDeepEqual(Array.from(new Generator(1).shuffle(1000)), (python['0'] as number[][])[0]);
});
