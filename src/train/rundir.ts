// A run directory (--run-dir): what `torchbridge report` reads back. config.json
// (the resolved config and versions), metrics.jsonl (one record per log window
// and per epoch), validation.json and misclassified/*.png (the last epoch's
// validation results). The record formats and their parser live here, beside
// the writer, so that the writer and the report share one definition.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Image } from '../data';
import { writeFileAtomic } from '../files';
import { addon } from '../native';
import { packageRoot } from '../paths';
import type { Optimizer } from '../optim/optimizer';
import type { RunConfig } from './config';
import type { EvalResult, LogWindow } from './loop';

/** The names of a run directory's files. */
export const runFiles = {
  config: 'config.json',
  metrics: 'metrics.jsonl',
  validation: 'validation.json',
  misclassified: 'misclassified',
} as const;

/** The figures every metrics record carries. */
interface RecordBase {
  /** 1-based epoch. */
  epoch: number;
  /** Training steps done in the run (the x axis; TensorBoard's step). */
  step: number;
  /** The optimizer's learning rate after this step (the next step's). */
  lr: number;
  /** The optimizer's momentum after this step. */
  momentum: number;
  /** Training images per second. */
  imagesPerSecond: number;
  /** The process's resident memory, in bytes. */
  rssBytes: number;
  /** Memory allocated on the device (CUDA's caching allocator), in bytes; null on the CPU, or where no API reports it. */
  deviceBytes: number | null;
  /** When it was written, ISO 8601. */
  time: string;
}

/** A log window's record: every logEvery steps. */
export interface StepRecord extends RecordBase {
  /** 'step'. */
  kind: 'step';
  /** Mean training loss over the window. */
  loss: number;
  /** Training accuracy over the window, in percent. */
  accuracy: number;
}

/** An epoch's record, after its validation. */
export interface EpochRecord extends RecordBase {
  /** 'epoch'. */
  kind: 'epoch';
  /** Mean training loss over the epoch. */
  loss: number;
  /** Training accuracy over the epoch, in percent. */
  accuracy: number;
  /** Mean validation loss per batch. */
  valLoss: number;
  /** Validation accuracy, in percent. */
  valAccuracy: number;
  /** Validation images per second. */
  evalImagesPerSecond: number;
}

/** One line of metrics.jsonl. */
export type MetricsRecord = StepRecord | EpochRecord;

const numberFields: Record<MetricsRecord['kind'], string[]> = {
  step: ['loss', 'accuracy', 'lr', 'momentum', 'imagesPerSecond', 'rssBytes'],
  epoch: ['loss', 'accuracy', 'valLoss', 'valAccuracy', 'lr', 'momentum', 'imagesPerSecond', 'evalImagesPerSecond', 'rssBytes'],
};

/**
 * One line of metrics.jsonl, checked. Throws an Error naming `file` and the
 * 1-based `line` and saying what was expected.
 */
export function parseMetricsLine(text: string, file: string, line: number): MetricsRecord {
  const where = `${file}:${line}`;
  let x: unknown;
  try {
    x = JSON.parse(text);
  } catch (e) {
    throw new Error(`${where}: not JSON (${(e as Error).message}); expected one metrics record per line`);
  }
  if (x === null || typeof x !== 'object' || Array.isArray(x)) throw new Error(`${where}: expected a JSON object but found ${JSON.stringify(x)}`);
  const r = x as Record<string, unknown>;
  if (r.kind !== 'step' && r.kind !== 'epoch') throw new Error(`${where}: expected kind 'step' or 'epoch' but found ${JSON.stringify(r.kind)}`);
  for (const [key, min] of [['epoch', 1], ['step', 0]] as const) {
    if (!Number.isInteger(r[key]) || (r[key] as number) < min) throw new Error(`${where}: expected ${key} to be an integer >= ${min} but found ${JSON.stringify(r[key])}`);
  }
  for (const key of numberFields[r.kind]) {
    // JSON has no NaN: a diverged loss is written as null, which the report shows as a gap.
    if (r[key] !== null && typeof r[key] !== 'number') throw new Error(`${where}: expected ${key} to be a number but found ${JSON.stringify(r[key])}`);
  }
  if (r.deviceBytes !== null && r.deviceBytes !== undefined && typeof r.deviceBytes !== 'number') {
    throw new Error(`${where}: expected deviceBytes to be a number or null but found ${JSON.stringify(r.deviceBytes)}`);
  }
  return r as unknown as MetricsRecord;
}

/** Resident memory, and the device's allocated memory where the addon reports it (CUDA). */
function memory(device: string): { rssBytes: number; deviceBytes: number | null } {
  return { rssBytes: process.memoryUsage.rss(), deviceBytes: device.startsWith('cuda') ? addon.cudaMemory().allocated ?? null : null };
}

/** What {@link writeValidation} needs from the validation set. */
export interface ValidationImages {
  /** Class names, by label. */
  readonly classes: readonly string[];
  /** Image i, untransformed, CHW uint8. */
  image(i: number): Image;
}

/** validation.json: the last epoch's validation, for the report. */
export interface ValidationSummary {
  /** Class names, by label. */
  classes: string[];
  /** Validation images. */
  count: number;
  /** Correct predictions. */
  correct: number;
  /** confusion[true][predicted]: image counts. */
  confusion: number[][];
  /** Accuracy per true class, in percent (null for a class with no images). */
  perClassAccuracy: (number | null)[];
  /** The first misclassified images, in validation order. */
  misclassified: {
    /** Index in the validation set. */
    index: number;
    /** The PNG's path relative to the run directory. */
    image: string;
    /** True class. */
    label: number;
    /** Predicted class. */
    predicted: number;
    /** The softmax probability of the predicted class. */
    probability: number;
  }[];
}

/** CHW to HWC, the layout sharp reads. */
function toHwc(img: Image): Uint8Array {
  const { data, channels: c, height: h, width: w } = img;
  const out = new Uint8Array(data.length);
  for (let ch = 0; ch < c; ch++) for (let i = 0; i < h * w; i++) out[i * c + ch] = data[ch * h * w + i];
  return out;
}

/**
 * A run directory being written by a training run. Every write is atomic except
 * the metrics appends, whose torn last line (a killed run) {@link RunDirectory.open}
 * drops on resume.
 */
export class RunDirectory {
  private constructor(readonly dir: string, private readonly device: string) {}

  /**
   * Makes the folder, writes config.json, and prepares metrics.jsonl: a fresh
   * run (`resumedAt` 0) empties it; a resumed run keeps only the records up to
   * the checkpoint's step, so the records it appends do not repeat or contradict
   * them. Dropped lines are reported through `log`.
   */
  static async open(c: RunConfig, resumedAt: number, log: (line: string) => void): Promise<RunDirectory> {
    const dir = c.runDir as string;
    await fs.promises.mkdir(dir, { recursive: true });
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const pkg = require(path.join(packageRoot(), 'package.json')) as { version: string };
    const versions = { torchbridge: pkg.version, libtorch: addon.backends().libtorch, node: process.versions.node };
    await writeFileAtomic(path.join(dir, runFiles.config), `${JSON.stringify({ config: c, versions, device: c.device }, null, 2)}\n`);
    await truncateMetrics(path.join(dir, runFiles.metrics), resumedAt, log);
    return new RunDirectory(dir, c.device);
  }

  private append(r: MetricsRecord): void {
    fs.appendFileSync(path.join(this.dir, runFiles.metrics), `${JSON.stringify(r)}\n`);
  }

  /** Appends a log window's record. */
  logStep(epoch: number, step: number, loss: number, w: LogWindow, optimizer: Optimizer): void {
    const g = optimizer.paramGroups[0];
    this.append({
      kind: 'step', epoch, step, loss, accuracy: w.accuracy ?? Number.NaN, lr: g.lr, momentum: (g as { momentum?: number }).momentum ?? 0,
      imagesPerSecond: w.images / w.seconds, ...memory(this.device), time: new Date().toISOString(),
    });
  }

  /** Appends an epoch's record. */
  logEpoch(r: Omit<EpochRecord, 'kind' | 'lr' | 'momentum' | 'rssBytes' | 'deviceBytes' | 'time'>, optimizer: Optimizer): void {
    const g = optimizer.paramGroups[0];
    this.append({
      kind: 'epoch', ...r, lr: g.lr, momentum: (g as { momentum?: number }).momentum ?? 0, ...memory(this.device), time: new Date().toISOString(),
    });
  }

  /**
   * Writes validation.json and the first `limit` misclassified images as PNGs
   * under misclassified/ (replacing an earlier run's). `ev` must come from
   * evaluate(..., { predictions: true }) over `images` in order.
   */
  async writeValidation(images: ValidationImages, ev: EvalResult, limit = 48): Promise<ValidationSummary> {
    const { predictions, probabilities, targets } = ev;
    if (!predictions || !probabilities || !targets) throw new Error('writeValidation needs evaluate(..., { predictions: true })');
    const k = images.classes.length;
    const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
    const misclassified: ValidationSummary['misclassified'] = [];
    // Loaded here, as classifier.ts does: only runs that write a run directory need libvips.
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const sharp = require('sharp') as typeof import('sharp').default;
    const folder = path.join(this.dir, runFiles.misclassified);
    await fs.promises.rm(folder, { recursive: true, force: true });
    await fs.promises.mkdir(folder, { recursive: true });
    for (let i = 0; i < predictions.length; i++) {
      const [label, predicted] = [targets[i], predictions[i]];
      confusion[label][predicted] += 1;
      if (label === predicted || misclassified.length >= limit) continue;
      const img = images.image(i);
      const name = `${runFiles.misclassified}/${String(i).padStart(6, '0')}.png`;
      const png = await sharp(toHwc(img), { raw: { width: img.width, height: img.height, channels: img.channels as 1 | 3 } }).png().toBuffer();
      await writeFileAtomic(path.join(this.dir, name), png);
      misclassified.push({ index: i, image: name, label, predicted, probability: probabilities[i] });
    }
    const summary: ValidationSummary = {
      classes: [...images.classes], count: predictions.length, correct: ev.correct, confusion,
      perClassAccuracy: confusion.map((row, i) => {
        const total = row.reduce((a, b) => a + b, 0);
        return total ? (100 * row[i]) / total : null;
      }),
      misclassified,
    };
    await writeFileAtomic(path.join(this.dir, runFiles.validation), `${JSON.stringify(summary)}\n`);
    return summary;
  }
}

/**
 * Keeps the records of metrics.jsonl up to step `keepThrough` (none for 0),
 * rewriting the file atomically; a missing file becomes an empty one. Lines
 * that do not parse (a run killed mid-append) are dropped and reported.
 */
export async function truncateMetrics(file: string, keepThrough: number, log: (line: string) => void): Promise<void> {
  let text = '';
  try {
    text = await fs.promises.readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const kept: string[] = [];
  let dropped = 0;
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    try {
      if (parseMetricsLine(line, file, i + 1).step <= keepThrough) {
        kept.push(line);
        return;
      }
    } catch (e) {
      log(`Dropping ${(e as Error).message}`);
    }
    dropped += 1;
  });
  if (dropped && keepThrough > 0) log(`Dropped ${dropped} record(s) past step ${keepThrough} from ${file}`);
  await writeFileAtomic(file, kept.map((l) => `${l}\n`).join(''));
}
