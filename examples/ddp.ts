// Data-parallel AlexNet on CIFAR-10 over c10d (gloo), with the library's own pieces:
//
//   npx ts-node examples/ddp.ts --nproc 2 --data ../shared/datasets/cifar10-dev [--epochs 1] [--limit 4096]
//
// Without RANK in the environment it starts --nproc ranks of itself (distributed.launch, as
// `torchrun --standalone` would); under torchrun's variables it is one rank of the job, which may
// span machines. The batch of 128 is global: each rank takes 128 / world size images of it from its
// DistributedSampler shard, and DistributedDataParallel averages the gradients, so each step is a
// 128-image step whatever the world size. Rank 0 prints and evaluates.
// (In an app, import from 'torchbridge' and 'torchbridge/train'.)
import { parseArgs } from 'node:util';
import { AlexNetModel, data, distributed, manualSeed, nn, optim, Tensor, tidy } from '../src';
import { crossEntropyLoss, evaluate } from '../src/train';

const BATCH = 128;

const { values: args } = parseArgs({
  options: {
    nproc: { type: 'string', default: '2' },
    data: { type: 'string', default: 'data' },
    epochs: { type: 'string', default: '1' },
    limit: { type: 'string' },
  },
});

/** One rank: its shard of every epoch, gradients averaged with the others'. */
async function trainRank(): Promise<void> {
  await distributed.initProcessGroup();  // gloo; rank, world size and rank 0's address from the environment
  const rank = distributed.getRank();
  const world = distributed.getWorldSize();
  if (BATCH % world !== 0) throw new Error(`The world size (${world}) must divide the batch of ${BATCH}`);
  const epochs = Number(args.epochs);
  const limit = args.limit === undefined ? {} : { limit: Number(args.limit) };
  const trainset = await data.CIFAR10.create({ root: args.data!, train: true, ...limit });
  const sampler = new data.DistributedSampler(trainset, { numReplicas: world, rank, seed: 0 });
  // Each rank draws its own crops and flips: seed the augmentation by rank.
  const loader = new data.DataLoader(trainset, { batchSize: BATCH / world, sampler, seed: 1 + rank, augment: { padding: 4, flip: true } });

  manualSeed(rank);  // any weights: create() broadcasts rank 0's
  const model = new AlexNetModel();
  const ddp = await nn.DistributedDataParallel.create(model);
  const opt = new optim.SGD(model.parameters(), { lr: 0.1, weightDecay: 5e-4 });
  const sched = new optim.OneCycleLR(opt, 0.1, { epochs, stepsPerEpoch: loader.length });
  const log = (line: string) => rank === 0 && console.log(line);
  log(`${world} ranks, ${loader.length} steps an epoch of ${BATCH} images (${BATCH / world} per rank)`);

  for (let epoch = 0; epoch < epochs; epoch++) {
    sampler.setEpoch(epoch);
    model.train();
    let step = 0;
    for (const batch of loader) {
      opt.zeroGrad();
      const loss: Tensor = tidy(() => {
        const l = crossEntropyLoss(ddp.forward(batch.inputs), batch.targets);
        l.backward();  // the gradient hooks start the all-reduces meanwhile
        return l;
      });
      await ddp.synchronizeGradients();
      opt.step();
      sched.step();
      step += 1;
      if (step % 20 === 0 || step === loader.length) log(`[Epoch ${epoch + 1}, step ${step}/${loader.length}] loss ${loss.item().toFixed(3)} (rank 0's share)`);
      loss.dispose();
      batch.inputs.dispose();
      batch.targets.dispose();
    }
    if (rank === 0) {
      const testset = await data.CIFAR10.create({ root: args.data!, train: false, ...limit });
      const accuracy = evaluate(model, new data.DataLoader(testset, { batchSize: 100 }), crossEntropyLoss).accuracy;
      console.log(`Test accuracy at epoch ${epoch + 1}: ${accuracy.toFixed(2)}%`);
      testset.dispose();
    }
    await distributed.barrier();  // the other ranks wait for rank 0's evaluation
  }
  ddp.dispose();
  trainset.dispose();
  distributed.destroyProcessGroup();
}

async function main(): Promise<void> {
  if (process.env.RANK !== undefined) return trainRank();
  // The launcher: this same file in --nproc processes (through ts-node when run as .ts).
  const script = __filename;
  const execArgv = script.endsWith('.ts') ? ['--require', 'ts-node/register/transpile-only'] : [];
  await distributed.launch({ nproc: Number(args.nproc), script, args: process.argv.slice(2), execArgv });
}

main().catch((e: Error) => {
  console.error(e.message);
  process.exitCode = 1;
});
