// On CUDA the numbers are the CPU's: the batched augmentation bit for bit (the
// README's "on CUDA too"), SGD's update to float32 rounding, and AlexNetModel's
// logits and loss to 2e-2 of their scale (cuDNN may run convolutions in TF32).
import test from 'ava';
import { AlexNetModel } from '../../src/models/alexnet';
import { crossEntropy } from '../../src/nn/functional';
import { SGD } from '../../src/optim/sgd';
import { addon } from '../../src/native';
import { countRoutes } from '../../src/routes';
import {
  CIFAR10_MEAN, CIFAR10_STD, Generator, Image, Normalize, RandomCrop, RandomHorizontalFlip, ToTensor,
} from '../../src/data';
import { noGrad, rand, randint, randn, tensor, Tensor, tidy } from '../../src/tensor';
import { manualSeed } from '../../src/runtime';
import { assertClose, assertEqualTensors } from '../helpers/compare';
import { requireCuda } from './cuda';

test.before(() => requireCuda());

const N = 64;

test('the batched augmentation on cuda equals the CPU one and the per-image transforms, bit for bit', (t) => {
  const g = new Generator(7);
  const images = Uint8Array.from({ length: N * 3072 }, () => g.int(256));
  const padding = 4;
  const tops = Int32Array.from({ length: N }, () => g.int(2 * padding + 1));
  const lefts = Int32Array.from({ length: N }, () => g.int(2 * padding + 1));
  const flips = Int32Array.from({ length: N }, () => g.int(2));
  const indices = Int32Array.from({ length: N }, (_, i) => N - 1 - i);
  const batch = (device: string) => {
    const src = tensor(images, [N, 3, 32, 32]);
    const on = src.to(device);
    const out = new Tensor(addon.augmentBatch(on.raw, indices, tops, lefts, flips, [...CIFAR10_MEAN], [...CIFAR10_STD], padding));
    t.true(out.device.startsWith(device), `made on ${out.device}`);
    const back = out.to('cpu');
    for (const x of [src, on, out]) x.dispose();
    return back;
  };
  const cpu = batch('cpu'), cuda = batch('cuda');
  assertEqualTensors(t, cuda, cpu, 'cuda vs cpu');
  // And the per-image transforms, which the CPU test compares with Python.
  const crop = new RandomCrop(32, { padding, seed: 0 }), flip = new RandomHorizontalFlip(0.5, { seed: 0 });
  const toTensor = new ToTensor(), norm = new Normalize([...CIFAR10_MEAN], [...CIFAR10_STD]);
  const per = new Float32Array(N * 3072);
  for (let i = 0; i < N; i++) {
    const k = indices[i];
    let img: Image = { data: images.slice(k * 3072, (k + 1) * 3072), channels: 3, height: 32, width: 32 };
    img = norm.call(toTensor.call(flip.apply(crop.apply(img, tops[i], lefts[i]), flips[i] === 1)));
    per.set(img.data, i * 3072);
  }
  const perImage = tensor(per, [N, 3, 32, 32]);
  assertEqualTensors(t, cuda, perImage, 'cuda vs per-image transforms');
  for (const x of [cpu, cuda, perImage]) x.dispose();
});

test('SGD on cuda: the fused kernel and the per-tensor loop agree with the CPU\'s per-tensor update to float32 rounding', (t) => {
  manualSeed(3);
  const shapes = [[64, 33], [33], [7, 3, 3, 3]];
  const init = shapes.map((s) => randn(s)), targets = shapes.map((s) => randn(s)), scales = shapes.map((s) => rand(s).add(0.5));
  const run = (device: string, fused: boolean) => {
    const params = init.map((x) => {
      const w = x.to(device);
      w.requiresGrad = true;
      return w;
    });
    const tg = targets.map((x) => x.to(device)), sc = scales.map((x) => x.to(device));
    const opt = new SGD(params, { lr: 0.05, momentum: 0.9, dampening: 0.1, weightDecay: 5e-4, nesterov: false, fused });
    const routes = countRoutes(() => {
      for (let s = 0; s < 5; s++) {
        opt.zeroGrad();
        tidy(() => params.map((p, i) => p.sub(tg[i]).pow(2).mul(sc[i]).sum()).reduce((a, b) => a.add(b)).backward());
        opt.step();
      }
    });
    const updates = params.map((p, i) => tidy(() => p.detach().to('cpu').sub(init[i])));
    opt.dispose();
    for (const x of [...params, ...tg, ...sc]) x.dispose();
    return { updates, routes };
  };
  const reference = run('cpu', false), fused = run('cuda', true), loop = run('cuda', false);
  t.is(fused.routes.sgdFused, 5, 'the fused kernel ran on cuda');
  t.is(loop.routes.sgdPerTensor, 5, 'the per-tensor loop ran on cuda');
  const tol = { rtol: 1e-5, atol: 1e-5 };
  reference.updates.forEach((u, i) => {
    assertClose(t, fused.updates[i], u, `fused cuda update of param ${i}`, tol);
    assertClose(t, loop.updates[i], u, `per-tensor cuda update of param ${i}`, tol);
  });
});

test('AlexNetModel on cuda: eval logits and loss equal the CPU\'s to 2e-2 of their scale', (t) => {
  manualSeed(11);
  const net = new AlexNetModel();
  net.eval();
  const x = randn([16, 3, 32, 32]), y = randint(0, 10, [16]);
  const cpu = noGrad(() => {
    const logits = net.forward(x);
    return { logits, loss: crossEntropy(logits, y) };
  });
  net.to('cuda');
  const xc = x.to('cuda'), yc = y.to('cuda');
  const cuda = noGrad(() => {
    const logits = net.forward(xc);
    return { logits: logits.to('cpu'), loss: crossEntropy(logits, yc).to('cpu') };
  });
  const tol = { rtol: 2e-2, atol: 1e-3 };
  assertClose(t, cuda.logits, cpu.logits, 'logits', tol);
  assertClose(t, cuda.loss, cpu.loss, 'loss', tol);
  net.dispose();
});
