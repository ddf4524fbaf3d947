// torchbridge's side of `npm run bench`: the reference recipe (AlexNet, batched
// native augmentation, SGD + OneCycleLR) timed in a worker thread, as Trainer
// runs it, while the main thread measures its event-loop delay. Prints one JSON line.
import * as path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

export interface BenchOptions {
  data: string;
  device: string;
  warmup: number;
  iters: number;
  evalIters: number;
  threads: number | null;
  channelsLast: boolean;
  /** The library for float32 Linear on the CPU (setCpuLinearKernel). */
  cpuLinear: 'onednn' | 'blas';
  /** Runs forward and loss under autocast; 'float16' adds a GradScaler. */
  autocast: 'bfloat16' | 'float16' | null;
}

async function measure(o: BenchOptions) {
  // Loaded here so that the main thread never touches libtorch.
  const { AlexNetModel, manualSeed, setNumThreads, getNumThreads, setCpuLinearKernel, getCpuLinearKernel, noGrad, tidy, optim, nn } = await import('../src');
  const { CIFAR10, DataLoader } = await import('../src/data');
  const { addon } = await import('../src/native');
  const { useChannelsLast } = await import('../src/train');
  const { autocast, GradScaler } = await import('../src/amp');
  const amp = <T>(fn: () => T): T => (o.autocast ? autocast(o.device, o.autocast, fn) : fn());
  if (o.threads) setNumThreads(o.threads);
  setCpuLinearKernel(o.cpuLinear);
  manualSeed(0);
  const sync = () => addon.synchronize(o.device);
  const trainset = await CIFAR10.create({ root: o.data, train: true, log: () => {} });
  const testset = await CIFAR10.create({ root: o.data, train: false, limit: 100 * (1 + o.evalIters), log: () => {} });
  const trainLoader = new DataLoader(trainset, { batchSize: 128, shuffle: true, seed: 0, device: o.device, augment: { padding: 4, flip: true } });
  const testLoader = new DataLoader(testset, { batchSize: 100, device: o.device });
  const net = new AlexNetModel().to(o.device);
  if (o.channelsLast) useChannelsLast(net);
  const fmt = (t: InstanceType<typeof import('../src').Tensor>) => {
    if (!o.channelsLast) return t;
    const u = t.to({ memoryFormat: 'channels_last' });
    t.dispose();
    return u;
  };
  const criterion = new nn.CrossEntropyLoss();
  const optimizer = new optim.SGD(net.parameters(), { lr: 1.0, weightDecay: 5e-4 });
  const scaler = new GradScaler(o.device, { enabled: o.autocast === 'float16' });
  const sched = new optim.OneCycleLR(optimizer, 0.1, { stepsPerEpoch: trainLoader.length, epochs: 150, divFactor: 25, finalDivFactor: 1e4, pctStart: 0.3 });

  net.train();
  const it = trainLoader[Symbol.iterator]();
  let t0 = 0;
  for (let step = 0; step < o.warmup + o.iters; step++) {
    if (step === o.warmup) {
      sync();
      t0 = performance.now();
    }
    const { inputs, targets } = it.next().value!;
    const x = fmt(inputs);
    tidy(() => {
      optimizer.zeroGrad();
      const loss = amp(() => criterion.forward(net.forward(x), targets));
      scaler.scale(loss).backward();
      scaler.step(optimizer);
      scaler.update();
      sched.step();
      loss.item(); // as the reference reads every loss
    });
    x.dispose();
    targets.dispose();
  }
  sync();
  const trainSeconds = (performance.now() - t0) / 1000;

  net.eval();
  let evalSeconds = 0;
  noGrad(() => {
    let step = 0;
    for (const { inputs, targets } of testLoader) {
      if (step === 1) {
        sync();
        t0 = performance.now();
      }
      const x = fmt(inputs);
      tidy(() => {
        const out = amp(() => net.forward(x));
        criterion.forward(out, targets).item();
        out.argmax(1).eq(targets).sum().item();
      });
      x.dispose();
      targets.dispose();
      step += 1;
    }
    sync();
    evalSeconds = (performance.now() - t0) / 1000;
  });
  const cuda = addon.cudaMemory();
  return {
    trainImagesPerSecond: (128 * o.iters) / trainSeconds,
    evalImagesPerSecond: (100 * o.evalIters) / evalSeconds,
    threads: getNumThreads(),
    cpuLinear: getCpuLinearKernel(),
    cudaPeakBytes: cuda.peak ?? null,
  };
}

if (!isMainThread) {
  measure(workerData as BenchOptions).then((r) => parentPort!.postMessage({ ok: r }), (e: Error) => parentPort!.postMessage({ error: e.stack ?? e.message }));
}

/** Runs the measurement in a worker; the main thread keeps a 10 ms timer and records its delay. */
export function runTorchbridgeBench(o: BenchOptions): Promise<Record<string, unknown>> {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  let ticks = 0;
  const timer = setInterval(() => (ticks += 1), 10);
  const file = path.join(__dirname, `bench-torchbridge${path.extname(__filename)}`);
  const worker = new Worker(file, { workerData: o, execArgv: __filename.endsWith('.ts') ? ['--require', 'ts-node/register'] : [] });
  return new Promise((resolve, reject) => {
    worker.once('message', (m: { ok?: Record<string, unknown>; error?: string }) => {
      clearInterval(timer);
      histogram.disable();
      if (m.error) return reject(new Error(m.error));
      resolve({
        name: 'torchbridge',
        device: o.device,
        ...m.ok,
        peakRssBytes: process.resourceUsage().maxRSS * 1024,
        eventLoopDelayP99Ms: histogram.percentile(99) / 1e6,
        eventLoopDelayMaxMs: histogram.max / 1e6,
        timerTicks: ticks,
      });
    });
    worker.once('error', reject);
  });
}

if (isMainThread && require.main === module) {
  const o = JSON.parse(process.argv[2]) as BenchOptions;
  runTorchbridgeBench(o).then((r) => {
    process.stdout.write(`${JSON.stringify(r)}\n`);
    process.exit(0);
  }, (e: Error) => {
    process.stderr.write(`${e.message}\n`);
    process.exit(1);
  });
}
