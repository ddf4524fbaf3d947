// Checks that need a GPU (run by hand on a CUDA machine; CI has none):
// the batched pipeline gives the same numbers on cuda as on cpu, CUDA memory
// stays flat across epochs, and one full epoch of the reference recipe is timed.
//
//   node dist/bench/gpu-check.js --data DIR [--device cuda]
import { parseArgs } from 'node:util';
import { AlexNetModel, manualSeed, optim, tidy } from '../src';
import { CIFAR10, DataLoader } from '../src/data';
import { addon } from '../src/native';
import { crossEntropy } from '../src/nn/functional';

async function main(): Promise<void> {
  const { values: a } = parseArgs({ options: { data: { type: 'string' }, device: { type: 'string', default: 'cuda' } } });
  const device = a.device!;
  const train = await CIFAR10.create({ root: a.data!, train: true, log: () => {} });

  // 1. The same batch, made on each device from the same choices.
  const cpu = new DataLoader(train, { batchSize: 128, shuffle: true, seed: 3, device: 'cpu', augment: { padding: 4, flip: true } });
  const gpu = new DataLoader(train, { batchSize: 128, shuffle: true, seed: 3, device, augment: { padding: 4, flip: true } });
  const bc = cpu[Symbol.iterator]().next().value!;
  const bg = gpu[Symbol.iterator]().next().value!;
  const x = bc.inputs.data() as Float32Array;
  const y = bg.inputs.data() as Float32Array;
  let diff = 0;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) diff++;
  console.log(`batched pipeline ${device} vs cpu: ${diff} of ${x.length} values differ`);

  // 2. Memory across epochs and 3. epoch time, with the reference recipe.
  manualSeed(0);
  const loader = new DataLoader(train, { batchSize: 128, shuffle: true, seed: 0, device, augment: { padding: 4, flip: true } });
  const net = new AlexNetModel().to(device);
  const opt = new optim.SGD(net.parameters(), { lr: 1.0, weightDecay: 5e-4 });
  const sched = new optim.OneCycleLR(opt, 0.1, { stepsPerEpoch: loader.length, epochs: 150, divFactor: 25, finalDivFactor: 1e4, pctStart: 0.3 });
  net.train();
  for (let epoch = 1; epoch <= 3; epoch++) {
    addon.synchronize(device);
    const t0 = performance.now();
    for (const { inputs, targets } of loader) {
      tidy(() => {
        opt.zeroGrad();
        const l = crossEntropy(net.forward(inputs), targets);
        l.backward();
        opt.step();
        sched.step();
      });
      inputs.dispose();
      targets.dispose();
    }
    addon.synchronize(device);
    const s = (performance.now() - t0) / 1000;
    const m = addon.cudaMemory();
    console.log(`epoch ${epoch}: ${s.toFixed(2)} s, ${(train.length / s).toFixed(0)} img/s; CUDA allocated ${((m.allocated ?? 0) / 2 ** 20).toFixed(1)} MB, peak ${((m.peak ?? 0) / 2 ** 20).toFixed(1)} MB`);
  }
}

main().catch((e: Error) => {
  console.error(e.stack ?? e.message);
  process.exitCode = 1;
});
