// CUDA memory stays flat across epochs: the bytes allocated after epoch 3 equal
// those after epoch 1 (3 epochs of the reference recipe on 2,000 dev images), and
// a run that keeps 16 MB per epoch on the GPU is caught by the same check.
import test from 'ava';
import { addon } from '../../src/native';
import { runTraining } from '../../src/train';
import { silentReporter } from '../../src/train';
import { keep, Tensor, zeros } from '../../src/tensor';
import { devData, requireCuda } from './cuda';

test.before(() => requireCuda());

const MB = 2 ** 20;

async function allocatedPerEpoch(leak: boolean): Promise<number[]> {
  const allocated: number[] = [];
  const kept: Tensor[] = [];
  await runTraining({ data: devData(), download: false, epochs: 3, trainLimit: 2000, testLimit: 200, batchSize: 128, seed: 1, device: 'cuda' },
    silentReporter, {
      onEpoch: () => {
        if (leak) kept.push(keep(zeros([4 * MB], { device: 'cuda' }))); // 16 MB
        addon.synchronize('cuda');
        allocated.push(addon.cudaMemory().allocated ?? NaN);
      },
    });
  for (const k of kept) k.dispose();
  return allocated;
}

/** The flatness check: allocated after the last epoch within 1 MB of after the first. */
const flat = (a: number[]) => a.length === 3 && Number.isFinite(a[0]) && a[0] > 0 && Math.abs(a[2] - a[0]) <= MB;
const show = (a: number[]) => a.map((b) => `${(b / MB).toFixed(1)} MB`).join(', ');

test('CUDA memory allocated after each epoch stays flat (within 1 MB)', async (t) => {
  const a = await allocatedPerEpoch(false);
  t.log(`CUDA allocated after each epoch: ${show(a)}`);
  t.true(flat(a), `allocated after each epoch: ${show(a)}`);
});

test('control: the check catches 16 MB kept on the GPU per epoch', async (t) => {
  const a = await allocatedPerEpoch(true);
  t.log(`with the leak: ${show(a)}`);
  t.true(a[2] - a[0] >= 30 * MB, `grew by ${((a[2] - a[0]) / MB).toFixed(1)} MB`);
  t.false(flat(a), 'the flatness check rejects it');
});
