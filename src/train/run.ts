// The run loop of the reference recipe: epochs of training and testing, with
// checkpoints (every epoch, every N steps, and on stop) and resume. Used by the
// CLI (inside Trainer's worker thread) and by the benchmark.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataLoader } from '../data';
import { Dataset } from '../data/dataset';
import { writeFileAtomic } from '../files';
import { Module } from '../nn/module';
import { setCpuLinearKernel, setNumThreads, manualSeed } from '../runtime';
import { disposeValue, Value } from '../serialize';
import { SummaryWriter } from '../tensorboard';
import {
  loadLatestCheckpoint, openWeights, restoreRunCheckpoint, RunPosition, saveModelWeights, saveRunCheckpoint, saveWeights,
} from './checkpoint';
import { RunConfig, resolveConfig, weightsFormat } from './config';
import { DataParallelRun } from './data_parallel';
import { Batch, BatchSource, evaluate, trainEpoch } from './loop';
import { buildRecipe, loadData, Recipe, RunData } from './recipe';
import { crossEntropyLoss, recipeTestTimeFlip } from './recipes';
import { Reporter, silentReporter } from './reporter';
import { buildModel, CIFAR10_TRAINED_ON } from './trained_on';
import { RunDirectory } from './rundir';

/** The figures of one finished epoch. */
export interface EpochReport {
  /** 1-based epoch number. */
  epoch: number;
  /** Mean training loss over the epoch's batches. */
  trainLoss: number;
  /** Test accuracy after the epoch, in percent. */
  accuracy: number;
  /** Mean test loss per batch. */
  testLoss: number;
  /** Training throughput, images per second. */
  trainImagesPerSecond: number;
  /** Evaluation throughput, images per second. */
  evalImagesPerSecond: number;
  /** Time spent training in the epoch, in seconds (evaluation excluded). */
  trainSeconds: number;
}

/** What {@link runTraining} and {@link Trainer.fit} resolve to. */
export interface RunResult {
  /** One report per finished epoch, a resumed run's earlier epochs included. */
  epochs: EpochReport[];
  /** True when stopped early (Ctrl-C); a checkpoint of the last finished step was saved. */
  stopped: boolean;
  /** The last checkpoint written, or null when none was. */
  checkpointFile: string | null;
}

/** Hooks into a running {@link runTraining}. */
export interface RunControl {
  /** Polled after every step; true saves a checkpoint and ends the run. */
  shouldStop?: () => boolean;
  /** Called after each epoch's evaluation. */
  onEpoch?: (report: EpochReport) => void;
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

/** The process-wide CPU settings a config asks for; null fields keep the current ones (a data-parallel rank: its share of the cores). */
function applyCpuSettings(c: RunConfig, dp: DataParallelRun | null = null): void {
  const threads = c.threads ?? (dp ? DataParallelRun.threadsPerRank() : null);
  if (threads !== null) setNumThreads(threads);
  if (c.cpuLinear !== null) setCpuLinearKernel(c.cpuLinear);
}

/**
 * Trains the reference recipe as `partial` configures it (over {@link defaultConfig}), in this
 * thread: seeds, builds the recipe, resumes from checkpointDir when asked, then trains and tests
 * each epoch, saving checkpoints as configured and the final weights to `checkpoint`. Frees
 * everything it made, however it ends. Throws a TypeError for a bad config; rejects on a data or
 * device error. Use {@link Trainer} to keep the event loop free. With `distributed`, joins the job first
 * (see {@link RunConfig.distributed}); ranks other than 0 report nothing and write no files.
 */
export async function runTraining(partial: Partial<RunConfig>, reporter: Reporter, control: RunControl = {}): Promise<RunResult> {
  const c = resolveConfig(partial);
  const dp = c.distributed ? await DataParallelRun.join(c.device) : null;
  try {
    applyCpuSettings(c, dp);
    manualSeed(c.seed);
    const lead = dp === null || dp.rank === 0;
    const out = lead ? reporter : silentReporter;
    // First, so that a folder it cannot write is reported before the data loads.
    const tb = c.tensorboard && lead ? new SummaryWriter(c.tensorboard) : null;
    try {
      const recipe = await buildRecipe(c, (l) => out.line(l), out);
      try {
        return await trainRecipe(c, recipe, out, control, tb, dp);
      } finally {
        recipe.dispose();
      }
    } finally {
      tb?.close();
    }
  } finally {
    dp?.dispose();
  }
}

async function trainRecipe(c: RunConfig, r: Recipe, reporter: Reporter, control: RunControl, tb: SummaryWriter | null,
  dp: DataParallelRun | null): Promise<RunResult> {
  const lead = dp === null || dp.rank === 0;
  // A stop asked for on any rank stops every rank after the same step.
  const shouldStop = dp ? () => dp.anyRank(control.shouldStop?.() === true) : () => control.shouldStop?.() === true;
  const { model, trainLoader, testLoader, optimizer, scheduler, scaler, criterion } = r;
  let startEpoch = 0;
  let startStep = 0;
  let lossSum = 0;
  let correctSum = 0;
  const history: EpochReport[] = [];
  if (c.resume && c.checkpointDir) {
    const found = await loadLatestCheckpoint(c.checkpointDir, (m) => reporter.line(m));
    if (found) {
      // Checkpoints from before the recipe option were all the reference's.
      const saved = (found.checkpoint.config as { recipe?: unknown } | null)?.recipe ?? 'reference';
      if (saved !== c.recipe) {
        disposeValue(found.checkpoint as unknown as Value);
        throw new Error(`Checkpoint ${found.file} was trained with the ${String(saved)} recipe; resume it with --recipe ${String(saved)}, or start this ${c.recipe} run in another --checkpoint-dir`);
      }
      const at = restoreRunCheckpoint(r, found.checkpoint);
      startEpoch = at.epoch;
      startStep = at.step;
      lossSum = at.lossSum;
      correctSum = at.correct;
      history.push(...(at.history as unknown as EpochReport[]));
      reporter.line(`Resumed from ${found.file} (epoch ${startEpoch + 1}, step ${startStep})`);
    } else {
      reporter.line(`No checkpoint in ${c.checkpointDir}; starting from scratch`);
    }
  }

  // An interrupted run saves even without checkpointDir, into ./checkpoints. Only rank 0 writes: every rank holds the same state.
  const checkpoint = async (at: Omit<RunPosition, 'history'>, dir = c.checkpointDir): Promise<string | null> =>
    dir && lead ? saveRunCheckpoint(dir, r, { ...at, history: history as unknown as Value[] }, { ...c } as unknown as Value) : null;

  let checkpointFile: string | null = null;
  const steps = trainLoader.length;
  if (dp) await dp.attach(model, startEpoch * steps + startStep, r.train.length, c.batchSize);
  const runDir = c.runDir && lead ? await RunDirectory.open(c, startEpoch * steps + startStep, (l) => reporter.line(l)) : null;
  const shard = dp ? (b: Batch) => dp.shard(b) : (b: Batch) => b;
  const prepare = c.channelsLast ? (b: Batch) => toChannelsLast(shard(b)) : shard;
  for (let epoch = startEpoch; epoch < c.epochs; epoch++) {
    const loaderState = trainLoader.state();
    // One pass over the epoch's batches, which trainEpoch may leave and re-enter
    // (for a checkpoint mid-epoch): its break does not end this iterator.
    const batches = skipping(trainLoader, startStep, prepare)[Symbol.iterator]();
    const source: BatchSource = { length: steps, [Symbol.iterator]: () => ({ next: () => batches.next() }) };
    const bar = pieceReporter(reporter);
    let step = startStep;
    let sum = lossSum;
    let correct = correctSum;
    let trainSeconds = 0;
    let trainImages = 0;
    let result;
    try {
      for (;;) {
        let stopAt = -1;
        let save = false;
        result = trainEpoch(model, source, criterion, optimizer, scheduler, epoch, {
          logEvery: c.logEvery, reporter: bar.reporter, startStep: step, lossSoFar: sum, accuracy: true, correctSoFar: correct, autocast: c.autocast, scaler,
          dataParallel: dp,
          // x: steps done in the run. lr and momentum as the optimizer holds them after the step (the next step's).
          onLog: tb || runDir ? (s, loss, window) => {
            const done = epoch * steps + s + 1;
            runDir?.logStep(epoch + 1, done, loss, window, optimizer);
            if (!tb) return;
            const group = optimizer.paramGroups[0];
            tb.addScalar('train/loss', loss, done);
            tb.addScalar('train/lr', group.lr, done);
            tb.addScalar('train/momentum', group.momentum, done);
          } : undefined,
          afterStep: (s) => {
            if (shouldStop()) stopAt = s;
            else if (c.checkpointEvery !== null && s + 1 < steps && (epoch * steps + s + 1) % c.checkpointEvery === 0) save = true;
            return stopAt >= 0 || save;
          },
        });
        step += result.steps;
        sum = result.lossSum;
        correct = result.correct;
        trainSeconds += result.seconds;
        trainImages += result.images;
        if (result.stopped && stopAt >= 0) {
          bar.end();
          checkpointFile = await checkpoint({ epoch, step: stopAt + 1, loaderState, lossSum: result.lossSum, correct: result.correct }, c.checkpointDir ?? path.resolve('checkpoints'));
          reporter.line(`Stopped after step ${stopAt + 1} of epoch ${epoch + 1}: saved ${checkpointFile}`);
          return { epochs: history, stopped: true, checkpointFile };
        }
        if (!save) break;
        checkpointFile = (await checkpoint({ epoch, step, loaderState, lossSum: sum, correct })) ?? checkpointFile;
      }
    } finally {
      batches.return?.();
      bar.end();
    }
    // The run directory's validation summary needs each image's prediction, from the last epoch only.
    const last = runDir !== null && epoch + 1 === c.epochs;
    // Rank 0 evaluates; the other ranks wait for its figures.
    const ev = lead ? evaluate(model, c.channelsLast ? skipping(testLoader, 0, toChannelsLast) : testLoader, criterion, { reporter, autocast: c.autocast, predictions: last, testTimeFlip: r.testTimeFlip }) : null;
    const [accuracy, testLoss, evalImagesPerSecond] = ev ? [ev.accuracy, ev.loss, ev.total / ev.seconds] : [0, 0, 0];
    const figures = dp ? await dp.fromRankZero([accuracy, testLoss, evalImagesPerSecond]) : [accuracy, testLoss, evalImagesPerSecond];
    const report: EpochReport = {
      epoch: epoch + 1, trainLoss: result.loss, accuracy: figures[0], testLoss: figures[1],
      trainImagesPerSecond: trainImages / trainSeconds, evalImagesPerSecond: figures[2], trainSeconds,
    };
    history.push(report);
    runDir?.logEpoch({
      epoch: epoch + 1, step: (epoch + 1) * steps, loss: result.loss, accuracy: (100 * result.correct) / r.train.length, valLoss: report.testLoss,
      valAccuracy: report.accuracy, imagesPerSecond: report.trainImagesPerSecond, evalImagesPerSecond: report.evalImagesPerSecond,
    }, optimizer);
    if (last && ev) await runDir.writeValidation(r.test, ev);
    if (tb) {
      // "val": the reference evaluates on CIFAR-10's test split after each epoch.
      tb.addScalar('val/loss', report.testLoss, (epoch + 1) * steps);
      tb.addScalar('val/accuracy', report.accuracy, (epoch + 1) * steps);
      tb.flush();
    }
    reporter.line(`\n${c.dataset === 'imagefolder' ? 'Validation' : 'Test'} accuracy for AlexNet at epoch ${epoch + 1}: ${report.accuracy.toFixed(2)}%`);
    reporter.line(`Epoch loss for AlexNet at epoch ${epoch + 1}: ${result.loss.toFixed(3)}`);
    const where = dp ? `${dp.worldSize} ranks on ${trainLoader.device}; evaluation on rank 0` : trainLoader.device;
    reporter.line(`(${report.trainImagesPerSecond.toFixed(1)} img/s training, ${report.evalImagesPerSecond.toFixed(1)} img/s evaluation on ${where})`);
    control.onEpoch?.(report);
    startStep = 0;
    lossSum = 0;
    correctSum = 0;
    const stopping = shouldStop() && epoch + 1 < c.epochs;
    const dir = c.checkpointDir ?? (stopping ? path.resolve('checkpoints') : null);
    checkpointFile = (await checkpoint({ epoch: epoch + 1, step: 0, loaderState: trainLoader.state(), lossSum: 0, correct: 0 }, dir)) ?? checkpointFile;
    if (dir && lead && weightsFormat(c) === 'safetensors') await saveModelWeights(dir, model, epoch + 1, 2, recorded(c, r));
    if (stopping) {
      reporter.line(`Stopped at the end of epoch ${epoch + 1}: saved ${checkpointFile}`);
      return { epochs: history, stopped: true, checkpointFile };
    }
  }
  if (c.checkpoint && lead) {
    await saveWeights(model, c.checkpoint, weightsFormat(c), recorded(c, r));
    reporter.line(`Saved the trained weights to ${c.checkpoint}`);
  }
  return { epochs: history, stopped: false, checkpointFile };
}

/** What the weights files record: nothing for CIFAR-10 (plain state dicts, as the reference's), the data's record otherwise. */
function recorded(c: RunConfig, r: Recipe) {
  return c.dataset === 'cifar10' ? null : r.trainedOn;
}

/**
 * One JSON line per test image, in dataset order: {"index", "prediction", "label", "target"}
 * (label: the predicted class's name; target: the true class). Written to a
 * temporary file and renamed, so a reader never sees half a file.
 */
async function writePredictions(file: string, test: Dataset, predictions: number[]): Promise<void> {
  const lines = predictions.map((p, i) => JSON.stringify({ index: i, prediction: p, label: test.classes[p], target: test.label(i) }));
  await writeFileAtomic(file, lines.map((l) => `${l}\n`).join(''));
}

/**
 * Evaluates saved weights (a state dict file, ours or Python's, a training checkpoint, or a safetensors file) named by
 * `checkpoint` on the test split (an image folder's validation split: the seed and fraction the
 * checkpoint records). Throws a TypeError without `checkpoint`; rejects when the file holds no state
 * dict, one that does not fit the model it records (AlexNetModel when none), or was trained on
 * another kind of dataset than the config's. With `predictions`, also writes each image's predicted class there.
 * The config's recipe decides whether images are scored with their mirror images ({@link recipeTestTimeFlip});
 * the loss is plain cross entropy.
 */
export async function runTest(partial: Partial<RunConfig>, reporter: Reporter): Promise<{
  /** Test accuracy, in percent. */
  accuracy: number;
  /** Mean test loss per batch. */
  loss: number;
}> {
  const c = resolveConfig(partial);
  if (!c.checkpoint) throw new TypeError('test needs a checkpoint file');
  applyCpuSettings(c);
  // Read once: the record picks the model, whose weights then come from the same read.
  const weights = await openWeights(c.checkpoint, weightsFormat(c));
  const trainedOn = weights.trainedOn ?? CIFAR10_TRAINED_ON;
  if (trainedOn.dataset !== c.dataset) {
    weights.release();
    throw new Error(`Checkpoint ${c.checkpoint} was trained on ${trainedOn.dataset === 'imagefolder' ? 'an image folder' : 'CIFAR-10'}; ` +
      `pass --dataset ${trainedOn.dataset}${trainedOn.dataset === 'imagefolder' ? ' --data <the folder>' : ''}`);
  }
  let data: RunData | null = null;
  let model: Module | null = null;
  try {
    data = await loadData({ ...c, trainLimit: 1 }, (l) => reporter.line(l), reporter, c.dataset === 'imagefolder' ? trainedOn : null);
    const test = data.test;
    if (data.trainedOn.classes.join('\n') !== trainedOn.classes.join('\n')) {
      throw new Error(`Checkpoint ${c.checkpoint} was trained on the classes ${trainedOn.classes.join(', ')}, but ${c.data} has ${data.trainedOn.classes.join(', ')}`);
    }
    model = buildModel(trainedOn.model, trainedOn.classes.length);
    weights.loadInto(model);
    weights.release();
    model.to(c.device);
    const loader = new DataLoader(test, { batchSize: c.testBatchSize, device: c.device, augment: { mean: trainedOn.mean, std: trainedOn.std } });
    const ev = evaluate(model, loader, crossEntropyLoss, { reporter, predictions: c.predictions !== null, testTimeFlip: recipeTestTimeFlip[c.recipe] });
    reporter.line(`Test accuracy for AlexNet: ${ev.accuracy.toFixed(2)}% (${ev.correct}/${ev.total}), loss ${ev.loss.toFixed(3)}`);
    if (c.predictions !== null) {
      await writePredictions(c.predictions, test, ev.predictions ?? []);
      reporter.line(`Wrote ${ev.total} predictions to ${c.predictions}`);
    }
    return { accuracy: ev.accuracy, loss: ev.loss };
  } finally {
    weights.release();
    model?.dispose();
    data?.dispose();
  }
}
