// The README's training example, kept here so that `tsc` checks it: the same code, line for line.
// Five epochs of AlexNet on CIFAR-10 (downloaded into ./data the first time), then the weights in
// PyTorch's format. In this repository: npm run build, then node dist/examples/quickstart.js.
import { AlexNetModel, data, manualSeed, optim, save } from 'torchbridge';
import { crossEntropyLoss, evaluate, trainEpoch } from 'torchbridge/train';

async function main() {
  manualSeed(0);
  const device = 'cpu';  // or 'cuda', 'npu' with a build for it
  const trainset = await data.CIFAR10.create({ root: 'data', train: true, download: true });
  const testset = await data.CIFAR10.create({ root: 'data', train: false });
  const train = new data.DataLoader(trainset,
    { batchSize: 128, shuffle: true, seed: 0, device, augment: { padding: 4, flip: true } });  // crop + flip
  const test = new data.DataLoader(testset, { batchSize: 100, device });
  const net = new AlexNetModel().to(device);
  const opt = new optim.SGD(net.parameters(), { lr: 0.1, weightDecay: 5e-4 });
  const sched = new optim.OneCycleLR(opt, 0.1, { epochs: 5, stepsPerEpoch: train.length });
  for (let epoch = 0; epoch < 5; epoch++) {
    trainEpoch(net, train, crossEntropyLoss, opt, sched, epoch);  // prints the loss every 100 steps
    console.log(`Test accuracy: ${evaluate(net, test, crossEntropyLoss).accuracy.toFixed(2)}%`);
  }
  await save(net.stateDict(), 'alexnet.pt');  // Python's torch.load('alexnet.pt') reads it
}

main();
