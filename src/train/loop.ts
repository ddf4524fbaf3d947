// The reference's train(epoch) and test(), in TypeScript. Both free every
// batch's intermediates, so memory stays flat across epochs.
import { autocast, AutocastDtype, GradScaler } from '../amp';
import { BatchShard, withBatchShard } from '../distributed/shard';
import { Module } from '../nn/module';
import { LRScheduler } from '../optim/lr_scheduler';
import { Optimizer } from '../optim/optimizer';
import { arange, cat, noGrad, stack, Tensor, tidy, zeros } from '../tensor';
import * as v from '../validate';
import { ConsoleReporter, Reporter } from './reporter';

/** What the loops need from a batch; {@link trainEpoch} and {@link evaluate} dispose both tensors. */
export interface Batch {
  /** The model's input, e.g. float32 [B, 3, 32, 32]. */
  inputs: Tensor;
  /** int64 class indices [B]. */
  targets: Tensor;
  /**
   * In a data-parallel job: which rows of the global batch these are (see {@link TrainEpochOptions.dataParallel}).
   * Dropout then draws its masks for the whole global batch, and the loss counts as this share of it.
   */
  shard?: BatchShard;
}

/** Anything that yields batches and knows how many: a DataLoader. */
export interface BatchSource extends Iterable<Batch> {
  /** Batches per pass: the progress bar's total, and the divisor of the epoch's mean loss. */
  readonly length: number;
}

/**
 * A loss function of the model's output and the targets, returning a scalar tensor: `(o, y) =>
 * criterion.forward(o, y)`.
 */
export type Criterion = (logits: Tensor, targets: Tensor) => Tensor;

/** Options of {@link trainEpoch}. */
export interface TrainEpochOptions {
  /** Print the mean loss every this many iterations (the reference: 100). */
  logEvery?: number;
  /** Where the loss lines and the progress bar go; a {@link ConsoleReporter} by default. */
  reporter?: Reporter;
  /** Skip this many batches already done (resuming mid-epoch); the loader must skip them too. */
  startStep?: number;
  /** Sum of the losses of the skipped steps, so the epoch loss stays right after a resume. */
  lossSoFar?: number;
  /** Run forward and loss under autocast with this dtype (mixed precision); off by default. */
  autocast?: AutocastDtype | null;
  /** Loss scaling for float16 autocast: scale, backward, scaler.step, scaler.update. */
  scaler?: GradScaler | null;
  /** Called after each step with its 0-based index; return true to stop early (Ctrl-C). */
  afterStep?: (step: number) => boolean | void;
  /**
   * Called with each printed mean loss and the 0-based index of the step that printed it (for
   * TensorBoard and run directories), and the figures of the steps since the last print.
   */
  onLog?: (step: number, loss: number, window: LogWindow) => void;
  /**
   * Count correct predictions (the logits' argmax against class-index targets) for the training
   * accuracy in {@link LogWindow} and {@link EpochResult}; off by default, as a criterion need not classify.
   */
  accuracy?: boolean;
  /** Correct predictions among the skipped steps' images, so the epoch's accuracy stays right after a resume. */
  correctSoFar?: number;
  /** Training data parallel: the loader yields this rank's shard of each global batch ({@link Batch.shard}). */
  dataParallel?: DataParallelStep | null;
}

/**
 * What {@link trainEpoch} needs from a data-parallel job. With it, each rank's loss is weighted by its
 * share of the global batch, so that the averaged gradients, the printed losses and the accuracy are
 * the global batch's.
 */
export interface DataParallelStep {
  /** Ranks in the job. */
  readonly worldSize: number;
  /** Called after each backward; returns once every parameter's `.grad` is the mean over the ranks. */
  synchronizeGradients(): void;
  /** Sums a tensor over the ranks, in place (the loss and accuracy sums, before they are read). */
  sumOverRanks(t: Tensor): void;
}

/** The training steps between two loss prints, as {@link TrainEpochOptions.onLog} reports them. */
export interface LogWindow {
  /**
   * Training accuracy over these steps' batches (their argmax against the targets, before the step), in
   * percent; null without the accuracy option.
   */
  accuracy: number | null;
  /** Images trained on. */
  images: number;
  /** Wall-clock seconds they took. */
  seconds: number;
}

/** What {@link trainEpoch} returns. */
export interface EpochResult {
  /** Mean training loss over the epoch's batches. */
  loss: number;
  /** Sum of the batch losses so far (for checkpoints taken mid-epoch). */
  lossSum: number;
  /** Steps done in this call. */
  steps: number;
  /** True when afterStep asked to stop before the epoch ended. */
  stopped: boolean;
  /** Wall-clock time of this call, in seconds. */
  seconds: number;
  /** Images trained on in this call. */
  images: number;
  /** Correct training predictions in the epoch so far (correctSoFar included); 0 without the accuracy option. */
  correct: number;
}

/**
 * One training epoch, the reference's `train(epoch)`: model.train(), then for each batch zeroGrad,
 * forward, loss, backward, step and scheduler step (pass null for none), printing
 * `[Epoch e, Iteration i] loss: x` every logEvery steps. Each batch's tensors and intermediates are
 * freed, so memory stays flat. Losses are summed on the device in float64 (as Python sums
 * loss.item()) and read only when printed, so an accelerator is never stalled by a per-step sync.
 *
 * @param epoch - 0-based; printed 1-based.
 */
export function trainEpoch(model: Module, loader: BatchSource, criterion: Criterion, optimizer: Optimizer,
  scheduler: LRScheduler | null, epoch: number, options: TrainEpochOptions = {}): EpochResult {
  const o = v.options(options, 'options', ['logEvery', 'reporter', 'startStep', 'lossSoFar', 'autocast', 'scaler', 'afterStep', 'onLog', 'accuracy', 'correctSoFar',
    'dataParallel']);
  const logEvery = v.integer(o.logEvery ?? 100, 'logEvery', 1);
  const reporter = (o.reporter as Reporter | undefined) ?? new ConsoleReporter();
  const startStep = v.integer(o.startStep ?? 0, 'startStep', 0);
  const afterStep = o.afterStep as TrainEpochOptions['afterStep'];
  const scaler = (o.scaler as GradScaler | null | undefined) ?? null;
  if (scaler !== null && !(scaler instanceof GradScaler)) throw v.invalid('GradScaler or null', 'scaler', scaler);
  v.integer(epoch, 'epoch', 0);
  const dp = (o.dataParallel as DataParallelStep | null | undefined) ?? null;
  // The sums of the steps since the last read, over the ranks.
  const read = (sums: Tensor): number[] => {
    dp?.sumOverRanks(sums);
    return sums.toArray();
  };

  model.train();
  const t0 = Date.now();
  let windowSum: Tensor | null = null; // [loss sum, correct count] since the last print
  let windowSteps = 0; // logEvery, or fewer in the first window after a resume mid-window
  let epochSum = v.finite(o.lossSoFar ?? 0, 'lossSoFar');
  const countCorrect = o.accuracy === undefined ? false : v.boolean(o.accuracy, 'accuracy');
  let epochCorrect = v.integer(o.correctSoFar ?? 0, 'correctSoFar', 0);
  let windowImages = 0;
  let windowStart = Date.now();
  let step = startStep;
  let images = 0;
  let stopped = false;
  reporter.barStart(loader.length, '');
  if (startStep) reporter.barUpdate(startStep);
  try {
    for (const { inputs, targets, shard } of loader) {
      if (shard && !dp) throw new TypeError('trainEpoch: a batch with a shard needs the dataParallel option');
      if (shard && shard.rows !== inputs.shape[0]) {
        throw new TypeError(`trainEpoch: the batch has ${inputs.shape[0]} rows but its shard says ${shard.rows}`);
      }
      // A shard counts as its share of the global batch: the gradient average over the ranks is then the global batch's.
      const share = shard ? shard.rows / shard.total : 1;
      const gradientScale = dp && shard ? share * dp.worldSize : 1;
      images += shard?.total ?? inputs.shape[0];
      windowImages += shard?.total ?? inputs.shape[0];
      const loss = tidy(() => {
        optimizer.zeroGrad();
        const run = () => forwardLoss(model, criterion, inputs, targets, (o.autocast as AutocastDtype | null | undefined) ?? null, countCorrect);
        const { out, correct } = shard ? withBatchShard(shard, run) : run();
        const scaled = gradientScale === 1 ? out : out.mul(gradientScale);
        if (scaler) {
          scaler.scale(scaled).backward();
          dp?.synchronizeGradients();
          scaler.step(optimizer);
          scaler.update();
        } else {
          scaled.backward();
          dp?.synchronizeGradients();
          optimizer.step();
        }
        scheduler?.step();
        const logged = out.detach().to('float64').reshape([1]);
        return cat([share === 1 ? logged : logged.mul(share), correct]);
      });
      inputs.dispose();
      targets.dispose();
      const sum: Tensor = windowSum ? tidy(() => (windowSum as Tensor).add(loss)) : loss;
      if (windowSum) {
        windowSum.dispose();
        loss.dispose();
      }
      windowSum = sum;
      windowSteps += 1;
      reporter.barUpdate(1);
      if ((step + 1) % logEvery === 0 || step + 1 === loader.length) {
        const [total, correct] = read(windowSum);
        epochSum += total;
        epochCorrect += correct;
        windowSum.dispose();
        windowSum = null;
        if ((step + 1) % logEvery === 0) {
          reporter.line(`[Epoch ${epoch + 1}, Iteration ${step + 1}] loss: ${(total / windowSteps).toFixed(3)}`);
          const now = Date.now();
          (o.onLog as TrainEpochOptions['onLog'])?.(step, total / windowSteps,
            { accuracy: countCorrect ? (100 * correct) / windowImages : null, images: windowImages, seconds: (now - windowStart) / 1000 });
        }
        windowSteps = 0;
        windowImages = 0;
        windowStart = Date.now();
      }
      step += 1;
      if (afterStep?.(step - 1)) {
        stopped = step < loader.length;
        break;
      }
    }
    if (windowSum) {
      const [total, correct] = read(windowSum as Tensor);
      epochSum += total;
      epochCorrect += correct;
    }
  } finally {
    (windowSum as Tensor | null)?.dispose();
    reporter.barEnd();
  }
  return {
    loss: epochSum / loader.length, lossSum: epochSum, steps: step - startStep, stopped, seconds: (Date.now() - t0) / 1000, images, correct: epochCorrect,
  };
}

/** The loss of one batch, under autocast when asked, and its correct predictions (float64 [1]; 0 when not counted). */
function forwardLoss(model: Module, criterion: Criterion, inputs: Tensor, targets: Tensor, amp: AutocastDtype | null,
  countCorrect: boolean): { out: Tensor; correct: Tensor } {
  const run = () => {
    const logits = model.forward(inputs);
    const out = criterion(logits, targets);
    const correct = countCorrect ? noGrad(() => logits.argmax(1).eq(targets).sum().to('float64').reshape([1])) : zeros([1], { dtype: 'float64', device: out.device });
    return { out, correct };
  };
  return amp ? autocast(inputs.device, amp, run) : run();
}

/** What {@link evaluate} returns. */
export interface EvalResult {
  /** Percentage of correct predictions. */
  accuracy: number;
  /** Mean loss per batch. */
  loss: number;
  /** Correct predictions. */
  correct: number;
  /** Images evaluated. */
  total: number;
  /** Wall-clock time, in seconds. */
  seconds: number;
  /** With the predictions option: each image's predicted class (the argmax of its logits), in the loader's order. */
  predictions?: number[];
  /** With the predictions option: the softmax probability of each predicted class. */
  probabilities?: number[];
  /** With the predictions option: each image's true class. */
  targets?: number[];
}

/**
 * The reference's `test()`: model.eval() under noGrad over every batch; accuracy (the argmax of
 * the output against the targets) and mean loss. Disposes each batch. Options: a reporter (the
 * console by default), autocast, each image's prediction, and testTimeFlip: score each image by the
 * mean of its logits and its mirror image's (the fast recipe's test-time augmentation).
 */
export function evaluate(model: Module, loader: BatchSource, criterion: Criterion,
  options: { reporter?: Reporter; autocast?: AutocastDtype | null; predictions?: boolean; testTimeFlip?: boolean } = {}): EvalResult {
  const reporter = options.reporter ?? new ConsoleReporter();
  const amp = options.autocast ?? null;
  const flip = options.testTimeFlip ?? false;
  const forward = (x: Tensor) => (amp ? autocast(x.device, amp, () => model.forward(x)) : model.forward(x));
  model.eval();
  const t0 = Date.now();
  let total = 0;
  // Sums and predicted classes stay on the device; read once at the end.
  const sums = zeros([2], { dtype: 'float64' });
  // Per batch: [predicted class, its probability, true class] as float64 [B, 3].
  const predicted: Tensor[] | null = options.predictions ? [] : null;
  let device = 'cpu';
  reporter.barStart(loader.length, '');
  try {
    noGrad(() => {
      for (const { inputs, targets } of loader) {
        if (total === 0 && inputs.device !== 'cpu') {
          device = inputs.device;
          const moved = sums.to(device);
          sums.setData(moved);
          moved.dispose();
        }
        total += targets.shape[0];
        const indices = tidy(() => {
          // With testTimeFlip: the mean of the logits of the images and their mirror images (reversed width, dim 3).
          const out = flip
            ? forward(inputs).add(forward(inputs.indexSelect(3, arange(inputs.shape[3] - 1, -1, -1, { dtype: 'int64', device: inputs.device })))).div(2)
            : forward(inputs);
          const loss = criterion(out, targets).to('float64').reshape([1]);
          // outputs.max(1), as the reference does.
          const { indices } = out.max(1);
          const correct = indices.eq(targets).sum().to('float64').reshape([1]);
          sums.copy_(sums.add(cat([loss, correct])));
          if (!predicted) return null;
          const probability = out.to('float32').softmax(1).max(1).values.to('float64');
          return stack([indices.to('float64'), probability, targets.to('float64')], 1);
        });
        if (indices) predicted?.push(indices);
        inputs.dispose();
        targets.dispose();
        reporter.barUpdate(1);
      }
    });
    const [lossSum, correct] = sums.toArray();
    const result: EvalResult = { accuracy: total ? (100 * correct) / total : 0, loss: lossSum / loader.length, correct, total, seconds: (Date.now() - t0) / 1000 };
    if (predicted) {
      const rows = predicted.length ? tidy(() => cat(predicted).toArray()) : [];
      result.predictions = [];
      result.probabilities = [];
      result.targets = [];
      for (let i = 0; i < rows.length; i += 3) {
        result.predictions.push(rows[i]);
        result.probabilities.push(rows[i + 1]);
        result.targets.push(rows[i + 2]);
      }
    }
    return result;
  } finally {
    sums.dispose();
    for (const t of predicted ?? []) t.dispose();
    reporter.barEnd();
  }
}
