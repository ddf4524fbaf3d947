// AlexNetModel against the Python reference model: same seed, same 4 batches of
// real CIFAR-10 images. Eval-mode logits and losses match to 1e-4 relative, and
// so do the weights after 4 train steps with SGD + OneCycleLR (dropout included:
// both draw it from libtorch's generator in the same order).
import test from 'ava';
import { AlexNetModel } from '../src/models/alexnet';
import { crossEntropy } from '../src/nn/functional';
import { OneCycleLR } from '../src/optim/lr_scheduler';
import { SGD } from '../src/optim/sgd';
import { CIFAR10, DataLoader } from '../src/data';
import { manualSeed, noGrad, Tensor, tidy } from '../src/tensor';
import { closeness } from './helpers/compare';
import { asRecord, asTensorValue, disposeAll, exchange } from './helpers/python';
import { devData as data } from './helpers/data';

const SEED = 1234;

test('AlexNetModel matches Python: eval logits and loss, then weights after 4 SGD + OneCycleLR steps', async (t) => {
  const ds = await CIFAR10.create({ root: data, train: true, limit: 32, log: () => {} });
  const loader = new DataLoader(ds, { batchSize: 8, shuffle: true, seed: 5, augment: { padding: 4, flip: true } });
  const inputs: Record<string, Tensor | number> = { seed: SEED };
  let i = 0;
  for (const b of loader) {
    inputs[`x${i}`] = b.inputs;
    inputs[`y${i}`] = b.targets;
    i += 1;
  }
  t.is(i, 4);

  manualSeed(SEED);
  const net = new AlexNetModel();
  const ours: Record<string, Tensor> = {};
  net.eval();
  noGrad(() => {
    for (let k = 0; k < 4; k++) {
      ours[`logits${k}`] = net.forward(inputs[`x${k}`] as Tensor);
      ours[`loss${k}`] = crossEntropy(ours[`logits${k}`], inputs[`y${k}`] as Tensor);
    }
  });
  const fc3Before = net.fc3.bias!.clone();
  net.train();
  const opt = new SGD(net.parameters(), { lr: 1.0, weightDecay: 5e-4 });
  const sched = new OneCycleLR(opt, 0.1, { stepsPerEpoch: 391, epochs: 150, divFactor: 25, finalDivFactor: 1e4, pctStart: 0.3 });
  for (let k = 0; k < 4; k++) {
    ours[`trainLoss${k}`] = tidy(() => {
      opt.zeroGrad();
      const loss = crossEntropy(net.forward(inputs[`x${k}`] as Tensor), inputs[`y${k}`] as Tensor);
      loss.backward();
      opt.step();
      sched.step();
      return loss.detach();
    });
  }

  const { outputs } = await exchange('alexnet_ref.py', inputs as Record<string, Tensor>);
  const py = asRecord(outputs);
  const check = (name: string, a: Tensor, b: Tensor) => {
    const c = closeness(a, b, { rtol: 1e-4, atol: 1e-6 });
    t.true(c.ok, `${name}: ${c.bad} values differ, worst ${JSON.stringify(c.worst)}`);
  };
  for (const k of Object.keys(ours)) check(k, ours[k], asTensorValue(py[k], k));
  const sd = net.stateDict();
  t.is(Object.keys(sd).length, 16);
  for (const [k, w] of Object.entries(sd)) check(`weights ${k}`, w, asTensorValue(py[`w.${k}`], k));
  // The steps really moved the weights: the comparison is not of two untouched inits.
  t.false(closeness(sd['fc3.bias'], fc3Before, { rtol: 1e-4, atol: 1e-6 }).ok);
  fc3Before.dispose();
  disposeAll(py);
  disposeAll(ours);
  disposeAll(sd);
  disposeAll(inputs as Record<string, Tensor>);
  net.dispose();
  opt.dispose();
});
