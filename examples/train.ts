// The reference tutorial's program in TypeScript: AlexNet on CIFAR-10 with
// CrossEntropyLoss, SGD(lr=1.0, weight_decay=5e-4) and
// OneCycleLR(0.1, epochs=150, div 25, final div 1e4, pct 0.3), for 5 epochs.
//
//   npx ts-node examples/train.ts --data ../shared/datasets/cifar10-dev --epochs 1
//
// Flags: --data <dir> (default ~/.cache/torchbridge/cifar10, downloaded when
// missing), --epochs <n> (5), --device <cpu|cuda|npu> (cpu), --seed <n> (0).
// (In an app, import from 'torchbridge' and 'torchbridge/train'.)
import { parseArgs } from 'node:util';
import { AlexNetModel, data, manualSeed, nn, optim } from '../src';
import { defaultConfig, evaluate, resolveConfig, trainEpoch } from '../src/train';

const { CIFAR10, DataLoader } = data;

/** A number when the text is one; otherwise the text, which resolveConfig then refuses by name. */
const numberOr = (text: string) => (text.trim() !== '' && Number.isFinite(Number(text)) ? Number(text) : text) as number;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      data: { type: 'string', default: defaultConfig.data },
      epochs: { type: 'string', default: '5' },
      device: { type: 'string', default: 'cpu' },
      seed: { type: 'string', default: '0' },
    },
  });
  // The library's own checks, with the flags' names: --epochs x is refused, not run for zero epochs.
  const { data: root, epochs, device, seed } = resolveConfig(
    { data: values.data, epochs: numberOr(values.epochs), device: values.device, seed: numberOr(values.seed) }, (k) => `--${k}`);
  manualSeed(seed);

  // Data: RandomCrop(32, padding=4) + RandomHorizontalFlip + ToTensor + Normalize, batch 128
  // shuffled for training; ToTensor + Normalize, batch 100 in order for testing.
  const trainset = await CIFAR10.create({ root, train: true, download: true });
  const testset = await CIFAR10.create({ root, train: false, download: true });
  const trainloader = new DataLoader(trainset, { batchSize: 128, shuffle: true, seed, device, augment: { padding: 4, flip: true } });
  const testloader = new DataLoader(testset, { batchSize: 100, shuffle: false, device });

  const net = new AlexNetModel().to(device);
  const criterion = new nn.CrossEntropyLoss();
  const optimizer = new optim.SGD(net.parameters(), { lr: 1.0, weightDecay: 5e-4 });
  const lrScheduler = new optim.OneCycleLR(optimizer, 0.1, {
    stepsPerEpoch: trainloader.length, epochs: 150, divFactor: 25, finalDivFactor: 10000, pctStart: 0.3,
  });

  for (let epoch = 0; epoch < epochs; epoch++) {
    const { loss: epochLoss } = trainEpoch(net, trainloader, (o, y) => criterion.forward(o, y), optimizer, lrScheduler, epoch);
    const { accuracy } = evaluate(net, testloader, (o, y) => criterion.forward(o, y));
    console.log(`\nTest accuracy for AlexNet at epoch ${epoch + 1}: ${accuracy.toFixed(2)}%`);
    console.log(`Epoch loss for AlexNet at epoch ${epoch + 1}: ${epochLoss.toFixed(3)}`);
  }
}

main().catch((e: Error) => {
  console.error(e.message);
  process.exitCode = 1;
});
