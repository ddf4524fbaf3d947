// A whole training run of the reference recipe, from a config: data, model,
// CrossEntropyLoss, SGD + OneCycleLR, epochs of train and test, checkpoints and
// resume. Used by the CLI (inside Trainer's worker thread) and by the benchmark.
import * as os from 'node:os';
import * as path from 'node:path';
import { AutocastDtype, GradScaler, GradScalerState } from './amp';
import { Checkpoint, CHECKPOINT_FORMAT, loadLatestCheckpoint, saveCheckpoint } from './checkpoint';
import { CIFAR10, DataLoader } from './data';
import { addon } from './native';
import { AlexNetModel } from './models/alexnet';
import { crossEntropy } from './nn/functional';
import { Module } from './nn/module';
import { OneCycleLR } from './optim/lr_scheduler';
import { SGD } from './optim/sgd';
import { disposeValue, load, save, Value } from './serialize';
import { CpuLinearKernel, cpuLinearKernels, manualSeed, setCpuLinearKernel, setNumThreads, Tensor } from './tensor';
import { Batch, BatchSource, evaluate, Reporter, trainEpoch } from './train';
import * as v from './validate';

export interface RunConfig {
  /** Folder holding cifar-10-batches-bin/. */
  data: string;
  /** Fetch CIFAR-10 when it is missing. */
  download: boolean;
  /** Epochs to run (the reference: 5). */
  epochs: number;
  /** OneCycleLR's length in epochs; null fits it to `epochs`. The reference uses 150. */
  scheduleEpochs: number | null;
  /** Training batch (128) and test batch (100). */
  batchSize: number;
  testBatchSize: number;
  /** OneCycleLR's max_lr (0.1); SGD's own lr=1.0 is replaced by the schedule from step 0. */
  lr: number;
  weightDecay: number;
  device: string;
  seed: number;
  /** Use only the first N images (tests, quick runs). */
  trainLimit: number | null;
  testLimit: number | null;
  /** Where to write the final weights (a state dict Python's torch.load reads). */
  checkpoint: string | null;
  /** Save a resumable checkpoint after every epoch (and on stop) here. */
  checkpointDir: string | null;
  /** Also save one every this many training steps (counted from the run's start), mid-epoch included; null: epoch ends only. */
  checkpointEvery: number | null;
  /** Continue from the newest loadable checkpoint in checkpointDir. */
  resume: boolean;
  logEvery: number;
  /** channels_last memory format for conv weights and inputs (faster on some CPUs). */
  channelsLast: boolean;
  /** libtorch intra-op threads; null keeps libtorch's default. */
  threads: number | null;
  /** The library for float32 Linear on the CPU (see setCpuLinearKernel); null keeps the process's setting, 'onednn' unless changed. */
  cpuLinear: CpuLinearKernel | null;
  /** Mixed precision for forward and loss: 'bfloat16', or 'float16' with a GradScaler; null (the default) trains in float32. */
  autocast: AutocastDtype | null;
}

export const defaultConfig: RunConfig = {
  data: path.join(os.homedir(), '.cache', 'torchbridge', 'cifar10'),
  download: true,
  epochs: 5,
  scheduleEpochs: null,
  batchSize: 128,
  testBatchSize: 100,
  lr: 0.1,
  weightDecay: 5e-4,
  device: 'cpu',
  seed: 0,
  trainLimit: null,
  testLimit: null,
  checkpoint: null,
  checkpointDir: null,
  checkpointEvery: null,
  resume: false,
  logEvery: 100,
  channelsLast: false,
  threads: null,
  cpuLinear: null,
  autocast: null,
};

export interface EpochReport {
  epoch: number;
  trainLoss: number;
  accuracy: number;
  testLoss: number;
  trainImagesPerSecond: number;
  evalImagesPerSecond: number;
  trainSeconds: number;
}

export interface RunResult {
  epochs: EpochReport[];
  /** True when stopped early (Ctrl-C); a checkpoint of the last finished step was saved. */
  stopped: boolean;
  checkpointFile: string | null;
}

export interface RunControl {
  /** Polled after every step; true saves a checkpoint and ends the run. */
  shouldStop?: () => boolean;
  onEpoch?: (report: EpochReport) => void;
}

export function resolveConfig(partial: Partial<RunConfig>): RunConfig {
  const c = { ...defaultConfig, ...v.options(partial, 'config', Object.keys(defaultConfig)) } as RunConfig;
  v.string(c.data, 'data');
  v.boolean(c.download, 'download');
  v.integer(c.epochs, 'epochs', 1);
  if (c.scheduleEpochs !== null) v.integer(c.scheduleEpochs, 'scheduleEpochs', c.epochs);
  v.integer(c.batchSize, 'batchSize', 1);
  v.integer(c.testBatchSize, 'testBatchSize', 1);
  v.number(c.lr, 'lr', 0);
  v.number(c.weightDecay, 'weightDecay', 0);
  v.integer(c.seed, 'seed', 0);
  if (c.trainLimit !== null) v.integer(c.trainLimit, 'trainLimit', 1);
  if (c.testLimit !== null) v.integer(c.testLimit, 'testLimit', 1);
  if (c.checkpoint !== null) v.string(c.checkpoint, 'checkpoint');
  if (c.checkpointDir !== null) v.string(c.checkpointDir, 'checkpointDir');
  if (c.checkpointEvery !== null) v.integer(c.checkpointEvery, 'checkpointEvery', 1);
  if (c.checkpointEvery !== null && c.checkpointDir === null) throw new TypeError('checkpointEvery needs checkpointDir');
  v.boolean(c.resume, 'resume');
  if (c.resume && c.checkpointDir === null) throw new TypeError('resume needs checkpointDir');
  v.integer(c.logEvery, 'logEvery', 1);
  v.boolean(c.channelsLast, 'channelsLast');
  if (c.threads !== null) v.integer(c.threads, 'threads', 1);
  if (c.cpuLinear !== null) v.oneOf(c.cpuLinear, 'cpuLinear', cpuLinearKernels);
  if (c.autocast !== null) v.oneOf(c.autocast, 'autocast', ['bfloat16', 'float16'] as const);
  return c;
}

/** Yields a loader's batches, first making and dropping `skip` of them so the random draws line up. */
function skipping(loader: BatchSource, skip: number, map: (b: Batch) => Batch): BatchSource {
  return {
    length: loader.length,
    *[Symbol.iterator]() {
      let i = 0;
      for (const b of loader) {
        if (i++ < skip) {
          b.inputs.dispose();
          b.targets.dispose();
          continue;
        }
        yield map(b);
      }
    },
  };
}

/**
 * The reporter for an epoch that trainEpoch runs in pieces (between mid-epoch
 * checkpoints): one progress bar for the whole epoch, started by the first piece
 * and ended by end(), not by each piece.
 */
function pieceReporter(reporter: Reporter): { reporter: Reporter; end: () => void } {
  let open = false;
  let resumed = false; // a later piece: its barStart and the catch-up barUpdate that follows are dropped
  return {
    reporter: {
      line: (text) => reporter.line(text),
      barStart: (total, desc) => {
        if (open) {
          resumed = true;
          return;
        }
        open = true;
        reporter.barStart(total, desc);
      },
      barUpdate: (n) => {
        if (resumed) resumed = false;
        else reporter.barUpdate(n);
      },
      barEnd: () => {},
    },
    end: () => {
      if (open) reporter.barEnd();
      open = false;
    },
  };
}

function toChannelsLast(b: Batch): Batch {
  const inputs = b.inputs.to({ memoryFormat: 'channels_last' });
  b.inputs.dispose();
  return { inputs, targets: b.targets };
}

export function useChannelsLast(model: Module): void {
  for (const p of model.parameters()) {
    if (p.ndim !== 4) continue;
    const q = p.to({ memoryFormat: 'channels_last' });
    p.setData(q);
    q.dispose();
  }
}

/** Loads the train and test splits of CIFAR-10 as the config asks. */
export async function loadData(c: RunConfig, log: (line: string) => void): Promise<{ train: CIFAR10; test: CIFAR10 }> {
  const common = { root: c.data, download: c.download, log };
  const train = await CIFAR10.create({ ...common, train: true, ...(c.trainLimit ? { limit: c.trainLimit } : {}) });
  const test = await CIFAR10.create({ ...common, train: false, download: false, ...(c.testLimit ? { limit: c.testLimit } : {}) });
  return { train, test };
}

/** The process-wide CPU settings a config asks for; null fields keep the current ones. */
function applyCpuSettings(c: RunConfig): void {
  if (c.threads !== null) setNumThreads(c.threads);
  if (c.cpuLinear !== null) setCpuLinearKernel(c.cpuLinear);
}

export async function runTraining(partial: Partial<RunConfig>, reporter: Reporter, control: RunControl = {}): Promise<RunResult> {
  const c = resolveConfig(partial);
  applyCpuSettings(c);
  manualSeed(c.seed);
  const { train, test } = await loadData(c, (l) => reporter.line(l));
  const trainLoader = new DataLoader(train, { batchSize: c.batchSize, shuffle: true, seed: c.seed, device: c.device, augment: { padding: 4, flip: true } });
  const testLoader = new DataLoader(test, { batchSize: c.testBatchSize, device: c.device });
  const model = new AlexNetModel().to(c.device);
  if (c.channelsLast) useChannelsLast(model);
  const criterion = (out: Tensor, y: Tensor) => crossEntropy(out, y);
  const optimizer = new SGD(model.parameters(), { lr: 1.0, weightDecay: c.weightDecay });
  const scheduler = new OneCycleLR(optimizer, c.lr, {
    epochs: c.scheduleEpochs ?? c.epochs, stepsPerEpoch: trainLoader.length, divFactor: 25, finalDivFactor: 1e4, pctStart: 0.3,
  });

  const scaler = c.autocast === 'float16' ? new GradScaler(c.device) : null;

  let startEpoch = 0;
  let startStep = 0;
  let lossSum = 0;
  const history: EpochReport[] = [];
  if (c.resume && c.checkpointDir) {
    const found = await loadLatestCheckpoint(c.checkpointDir, (m) => reporter.line(m));
    if (found) {
      const k = found.checkpoint;
      model.loadStateDict(k.model);
      optimizer.loadStateDict(k.optimizer as never);
      scheduler.loadStateDict(k.scheduler as Record<string, unknown>);
      if (scaler && k.scaler) scaler.loadStateDict(k.scaler as unknown as GradScalerState);
      addon.setRngState(k.rng.torch.raw);
      trainLoader.setState(k.rng.data);
      startEpoch = k.epoch;
      startStep = k.step;
      lossSum = k.lossSum;
      history.push(...(k.history as unknown as EpochReport[]));
      disposeValue(k as unknown as Value);
      reporter.line(`Resumed from ${found.file} (epoch ${startEpoch + 1}, step ${startStep})`);
    } else {
      reporter.line(`No checkpoint in ${c.checkpointDir}; starting from scratch`);
    }
  }

  // An interrupted run saves even without checkpointDir, into ./checkpoints.
  const checkpoint = async (epoch: number, step: number, loaderState: number[], sum: number, dir = c.checkpointDir): Promise<string | null> => {
    if (!dir) return null;
    const model_ = model.stateDict();
    const optim_ = optimizer.stateDict();
    const rng = new Tensor(addon.getRngState());
    const ckpt: Checkpoint = {
      format: CHECKPOINT_FORMAT, epoch, step, lossSum: sum, model: model_, optimizer: optim_ as unknown as Value,
      scheduler: scheduler.stateDict() as Value, ...(scaler ? { scaler: scaler.stateDict() as unknown as Value } : {}), rng: { torch: rng, data: loaderState }, config: { ...c } as unknown as Value,
      history: history as unknown as Value[],
    };
    try {
      return await saveCheckpoint(dir, ckpt);
    } finally {
      disposeValue(ckpt as unknown as Value);
    }
  };

  let checkpointFile: string | null = null;
  const steps = trainLoader.length;
  for (let epoch = startEpoch; epoch < c.epochs; epoch++) {
    const loaderState = trainLoader.state();
    // One pass over the epoch's batches, which trainEpoch may leave and re-enter
    // (for a checkpoint mid-epoch): its break does not end this iterator.
    const batches = skipping(trainLoader, startStep, c.channelsLast ? toChannelsLast : (b) => b)[Symbol.iterator]();
    const source: BatchSource = { length: steps, [Symbol.iterator]: () => ({ next: () => batches.next() }) };
    const bar = pieceReporter(reporter);
    let step = startStep;
    let sum = lossSum;
    let trainSeconds = 0;
    let trainImages = 0;
    let r;
    try {
      for (;;) {
        let stopAt = -1;
        let save = false;
        r = trainEpoch(model, source, criterion, optimizer, scheduler, epoch, {
          logEvery: c.logEvery, reporter: bar.reporter, startStep: step, lossSoFar: sum, autocast: c.autocast, scaler,
          afterStep: (s) => {
            if (control.shouldStop?.()) stopAt = s;
            else if (c.checkpointEvery !== null && s + 1 < steps && (epoch * steps + s + 1) % c.checkpointEvery === 0) save = true;
            return stopAt >= 0 || save;
          },
        });
        step += r.steps;
        sum = r.lossSum;
        trainSeconds += r.seconds;
        trainImages += r.images;
        if (r.stopped && stopAt >= 0) {
          bar.end();
          checkpointFile = await checkpoint(epoch, stopAt + 1, loaderState, r.lossSum, c.checkpointDir ?? path.resolve('checkpoints'));
          reporter.line(`Stopped after step ${stopAt + 1} of epoch ${epoch + 1}: saved ${checkpointFile}`);
          return { epochs: history, stopped: true, checkpointFile };
        }
        if (!save) break;
        checkpointFile = (await checkpoint(epoch, step, loaderState, sum)) ?? checkpointFile;
      }
    } finally {
      batches.return?.();
      bar.end();
    }
    const ev = evaluate(model, c.channelsLast ? skipping(testLoader, 0, toChannelsLast) : testLoader, criterion, { reporter, autocast: c.autocast });
    const report: EpochReport = {
      epoch: epoch + 1, trainLoss: r.loss, accuracy: ev.accuracy, testLoss: ev.loss,
      trainImagesPerSecond: trainImages / trainSeconds, evalImagesPerSecond: ev.total / ev.seconds, trainSeconds,
    };
    history.push(report);
    reporter.line(`\nTest accuracy for AlexNet at epoch ${epoch + 1}: ${ev.accuracy.toFixed(2)}%`);
    reporter.line(`Epoch loss for AlexNet at epoch ${epoch + 1}: ${r.loss.toFixed(3)}`);
    reporter.line(`(${report.trainImagesPerSecond.toFixed(1)} img/s training, ${report.evalImagesPerSecond.toFixed(1)} img/s evaluation on ${trainLoader.device})`);
    control.onEpoch?.(report);
    startStep = 0;
    lossSum = 0;
    const stopping = control.shouldStop?.() === true && epoch + 1 < c.epochs;
    const dir = c.checkpointDir ?? (stopping ? path.resolve('checkpoints') : null);
    checkpointFile = (await checkpoint(epoch + 1, 0, trainLoader.state(), 0, dir)) ?? checkpointFile;
    if (stopping) {
      reporter.line(`Stopped at the end of epoch ${epoch + 1}: saved ${checkpointFile}`);
      return { epochs: history, stopped: true, checkpointFile };
    }
  }
  if (c.checkpoint) {
    const weights = model.stateDict();
    await save(weights, c.checkpoint);
    for (const t of Object.values(weights)) t.dispose();
    reporter.line(`Saved the trained weights to ${c.checkpoint}`);
  }
  model.dispose();
  optimizer.dispose();
  scaler?.dispose();
  train.dispose();
  test.dispose();
  return { epochs: history, stopped: false, checkpointFile };
}

/** Evaluates saved weights (a state dict file) on the test split. */
export async function runTest(partial: Partial<RunConfig>, reporter: Reporter): Promise<{ accuracy: number; loss: number }> {
  const c = resolveConfig(partial);
  if (!c.checkpoint) throw new TypeError('test needs a checkpoint file');
  applyCpuSettings(c);
  const { test } = await loadData({ ...c, trainLimit: 1 }, (l) => reporter.line(l));
  const loaded = await load(c.checkpoint);
  const weights = (loaded && typeof loaded === 'object' && 'model' in loaded && (loaded as { format?: unknown }).format === CHECKPOINT_FORMAT
    ? (loaded as unknown as Checkpoint).model : loaded) as Record<string, Tensor>;
  if (!weights || typeof weights !== 'object' || Array.isArray(weights)) throw new Error(`${c.checkpoint} does not hold a state dict`);
  const model = new AlexNetModel();
  model.loadStateDict(weights);
  disposeValue(loaded);
  model.to(c.device);
  const loader = new DataLoader(test, { batchSize: c.testBatchSize, device: c.device });
  const ev = evaluate(model, loader, (o, y) => crossEntropy(o, y), { reporter });
  reporter.line(`Test accuracy for AlexNet: ${ev.accuracy.toFixed(2)}% (${ev.correct}/${ev.total}), loss ${ev.loss.toFixed(3)}`);
  model.dispose();
  test.dispose();
  return { accuracy: ev.accuracy, loss: ev.loss };
}
