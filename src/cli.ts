#!/usr/bin/env node
// torchbridge CLI: `train` runs the reference recipe (on CIFAR-10 or an image folder),
// `test` evaluates saved weights, `predict` labels image files with them.
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { Classifier, ImageError, Prediction } from './classifier';
import { parseDevice } from './device';
import { launch } from './distributed/launch';
import { writeReport } from './report';
import { ConsoleReporter, defaultConfig, recipeDefaults, recipeNames, recipeTestTimeFlip, resolveConfig, RunConfig, runTest, Trainer } from './train';
import { ArgumentError, integer, oneOf } from './validate';

const PREDICT_BATCH = 64;

const HELP = `Usage: torchbridge <command> [options]

Commands:
  train                   Train AlexNet on CIFAR-10 (or your images) with the reference recipe
  test                    Evaluate saved weights on the CIFAR-10 test split (or the image folder's validation split)
  predict <image...>      Label PNG, JPEG or WebP images with saved weights (scaled to the model's input size)
  report <run-dir...>     Write one self-contained HTML page of runs trained with --run-dir
                          (several run dirs are overlaid)

Options:
  --dataset <d>           cifar10 (default) or imagefolder: --data holds one folder of images per class
  --data <dir>            Folder holding cifar-10-batches-bin/ (default: ${defaultConfig.data});
                          downloaded there when missing. With --dataset imagefolder: the image folder
  --image-size <n>        imagefolder: square image size (default: 32: the reference AlexNet; 63 and up:
                          torchvision's AlexNet). Shorter side scaled to n, centre cropped
  --val-split <x>         imagefolder: fraction held out to validate on, a split seeded by --seed (default: 0.1)
  --skip-bad              imagefolder: leave out (and list) images that cannot be decoded instead of failing
  --no-download           Fail instead of downloading missing data
  --recipe <r>            reference (default: the tutorial's) or fast: the same network, a better model
                          from the same epochs (batch 64, 2-pixel crops, Nesterov, label smoothing, no decay
                          on biases, flipped test images). test, predict: score images as that recipe does
  --epochs <n>            Epochs to train (default: ${defaultConfig.epochs})
  --batch-size <n>        Training batch size (default: the recipe's, ${recipeDefaults.reference.batchSize} or ${recipeDefaults.fast.batchSize}); for test, the test batch (default: ${defaultConfig.testBatchSize});
                          for predict, images per forward pass (default: ${PREDICT_BATCH})
  --device <d>            cpu, cuda, cuda:1, npu, npu:0 (default: ${defaultConfig.device})
  --seed <n>              Seed for weights, dropout, shuffling and augmentation (default: ${defaultConfig.seed})
  --lr <x>                OneCycleLR max_lr (default: the recipe's, ${recipeDefaults.reference.lr} or ${recipeDefaults.fast.lr})
  --schedule-epochs <n>   OneCycleLR length in epochs (default: the run's own --epochs;
                          150 reproduces the reference exactly)
  --checkpoint <file>     train: save the trained weights here (PyTorch format, or see --format);
                          test, predict: the weights to use (that file, a --checkpoint-dir checkpoint,
                          or a .safetensors file)
  --checkpoint-dir <dir>  Save a resumable checkpoint after every epoch (keeps the last two)
  --checkpoint-every <n>  Also save one every n training steps, mid-epoch too (needs --checkpoint-dir)
  --resume                Continue from the newest checkpoint in --checkpoint-dir
  --limit-train <n>       Train on the first n images only
  --limit-test <n>        Evaluate on the first n images only
  --log-every <n>         Print the mean training loss every n steps (default: ${defaultConfig.logEvery})
  --threads <n>           libtorch CPU threads (default: libtorch's choice)
  --cpu-linear <k>        float32 Linear on the CPU: onednn (default, faster) or blas
                          (at::linear, bit for bit Python PyTorch's numbers)
  --channels-last         channels_last memory format (faster convolutions on some CPUs)
  --bf16                  bfloat16 autocast for forward and loss (mixed precision; off by default)
  --fp16                  float16 autocast with a GradScaler (for CUDA; off by default)
  --tensorboard <dir>     Write TensorBoard event files here: train loss, lr and momentum every
                          --log-every steps, val loss and accuracy every epoch (tensorboard --logdir <dir>)
  --format <f>            Weights files: pt (PyTorch) or safetensors (default: --checkpoint's extension,
                          .safetensors or else pt). With safetensors and --checkpoint-dir, each epoch
                          also writes model-<epoch>.safetensors beside its .pt checkpoint
  --run-dir <dir>         train: write config.json, metrics.jsonl (every --log-every steps and every
                          epoch) and the last epoch's validation results here, for \`torchbridge report\`;
                          checkpoints go to <dir>/checkpoints and the weights to <dir>/model.pt
                          unless --checkpoint-dir and --checkpoint say otherwise
  --out <file>            report: the HTML file to write (default: report.html)
  --predictions <file>    test: also write each image's predicted class, one JSON object per line
                          ({"index","prediction","label","target"})
  --topk <n>              predict: classes to show per image, best first (default: 5, at most the number of classes)
  --json                  predict: one JSON object per image and line:
                          {"file","predictions":[{"label","index","probability"}]}
  --nproc <n>             train: data parallel over n local processes (ranks) on gloo. Each rank trains
                          its rows of every batch, so the numbers are one process's; only rank 0 prints
                          and writes files. A checkpoint resumes with any number of ranks
  --nnodes <n>            train --nproc: machines in the job (default: 1); run the same command on each
  --node-rank <i>         train --nproc: this machine's place among them, 0 to nnodes-1 (default: 0)
  --master-addr <host>    train --nproc: the address of the machine with node rank 0 (default: 127.0.0.1)
  --master-port <port>    train --nproc: rank 0's TCPStore port (default: a free port; needed with --nnodes)
  -h, --help              Show this help

Ctrl-C during training saves a checkpoint of the last finished step and exits.
Under torchrun's environment (WORLD_SIZE, RANK, MASTER_ADDR, MASTER_PORT set, as by
torchrun --no-python), train joins that data-parallel job as one rank.
predict prints every image it can read, in order; an image that cannot be read or decoded
is reported on stderr (naming the file), the others still print, and the exit code is 1.

Examples:
  torchbridge train --data ../shared/datasets/cifar10-dev --epochs 5 --checkpoint alexnet.pt
  torchbridge test --data ../shared/datasets/cifar10-dev --checkpoint alexnet.pt
  torchbridge train --recipe fast --data ../shared/datasets/cifar10-dev --epochs 5 --checkpoint fast.pt
  torchbridge train --dataset imagefolder --data photos --image-size 32 --val-split 0.1 --skip-bad --checkpoint mine.pt
  torchbridge predict cat.png dog.jpg --checkpoint alexnet.pt --topk 3
  torchbridge train --run-dir runs/a --epochs 2 && torchbridge report runs/a --out a.html
  torchbridge train --nproc 2 --data ../shared/datasets/cifar10-dev --epochs 1`;

const options = {
  dataset: { type: 'string' },
  recipe: { type: 'string' },
  data: { type: 'string' },
  'image-size': { type: 'string' },
  'val-split': { type: 'string' },
  'skip-bad': { type: 'boolean' },
  'no-download': { type: 'boolean' },
  epochs: { type: 'string' },
  'batch-size': { type: 'string' },
  device: { type: 'string' },
  seed: { type: 'string' },
  lr: { type: 'string' },
  'schedule-epochs': { type: 'string' },
  checkpoint: { type: 'string' },
  'checkpoint-dir': { type: 'string' },
  'checkpoint-every': { type: 'string' },
  'log-every': { type: 'string' },
  resume: { type: 'boolean' },
  'limit-train': { type: 'string' },
  'limit-test': { type: 'string' },
  threads: { type: 'string' },
  'cpu-linear': { type: 'string' },
  'channels-last': { type: 'boolean' },
  bf16: { type: 'boolean' },
  fp16: { type: 'boolean' },
  tensorboard: { type: 'string' },
  format: { type: 'string' },
  predictions: { type: 'string' },
  'run-dir': { type: 'string' },
  out: { type: 'string' },
  topk: { type: 'string' },
  json: { type: 'boolean' },
  nproc: { type: 'string' },
  nnodes: { type: 'string' },
  'node-rank': { type: 'string' },
  'master-addr': { type: 'string' },
  'master-port': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Flag = keyof typeof options;
// Flags that belong to one command only; the rest are train's and test's.
const predictFlags: Flag[] = ['checkpoint', 'topk', 'json', 'device', 'batch-size', 'recipe', 'help'];
const onlyFor: Partial<Record<Flag, string>> = {
  topk: 'predict', json: 'predict', predictions: 'test', 'run-dir': 'train', out: 'report',
  nproc: 'train', nnodes: 'train', 'node-rank': 'train', 'master-addr': 'train', 'master-port': 'train',
};
// Flags of the process that starts the ranks (train --nproc); the ranks get the rest.
const launcherFlags: Flag[] = ['nproc', 'nnodes', 'node-rank', 'master-addr', 'master-port'];

class UsageError extends Error {}

// Each config field's flag. Numbers are converted here; every rule about the
// values is resolveConfig's, and its errors are reported with the flag's name.
const flagOf: Partial<Record<keyof RunConfig, string>> = {
  data: 'data', download: 'no-download', epochs: 'epochs', batchSize: 'batch-size', testBatchSize: 'batch-size', device: 'device',
  seed: 'seed', lr: 'lr', scheduleEpochs: 'schedule-epochs', checkpoint: 'checkpoint', predictions: 'predictions', checkpointDir: 'checkpoint-dir',
  checkpointEvery: 'checkpoint-every', logEvery: 'log-every', resume: 'resume', trainLimit: 'limit-train', testLimit: 'limit-test',
  threads: 'threads', cpuLinear: 'cpu-linear', channelsLast: 'channels-last', autocast: 'bf16',
  tensorboard: 'tensorboard', format: 'format', dataset: 'dataset', recipe: 'recipe', imageSize: 'image-size', valSplit: 'val-split', skipBad: 'skip-bad', runDir: 'run-dir',
};
const numeric: (keyof RunConfig)[] = ['imageSize', 'valSplit', 'epochs', 'batchSize', 'testBatchSize', 'seed', 'lr', 'scheduleEpochs', 'checkpointEvery', 'logEvery', 'trainLimit', 'testLimit', 'threads'];

/** A number when the text is one, else the text itself (for resolveConfig to refuse by name). */
function toNumber(text: string): number | string {
  const n = Number(text);
  return text.trim() !== '' && Number.isFinite(n) ? n : text;
}

/** What `predict` was asked to do. */
export interface PredictArgs {
  images: string[];
  checkpoint: string;
  /** 0: the default (5, or all classes when fewer). */
  topk: number;
  json: boolean;
  device: string;
  batchSize: number;
  /** --recipe fast: score each image with its mirror image, as that recipe tests. */
  testTimeFlip: boolean;
}

/** What `train --nproc` was asked to start: the ranks of this machine, each running `argv`. */
export interface LaunchArgs {
  nproc: number;
  nnodes: number;
  nodeRank: number;
  masterAddr: string | undefined;
  masterPort: number | undefined;
  /** The ranks' command line: this one without the launcher's flags. */
  argv: string[];
}

/** The command line as a command and its settings: a RunConfig for train and test, PredictArgs for predict. */
export function parse(argv: string[]): {
  command: string | null; config: RunConfig | null; predict: PredictArgs | null; report?: ReportArgs; launch?: LaunchArgs; help: boolean;
} {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true, tokens: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const { values: o, positionals, tokens } = parsed;
  if (o.help) return { command: positionals[0] ?? null, config: null, predict: null, help: true };
  const command = positionals[0];
  if (command === 'predict') return { command, config: null, predict: parsePredict(o, positionals.slice(1)), help: false };
  if (command === 'report') return { command, config: null, predict: null, report: parseReport(o, positionals.slice(1)), help: false };
  if (positionals.length !== 1 || !['train', 'test'].includes(command)) {
    throw new UsageError(positionals.length ? `Unknown command '${positionals.join(' ')}': expected train, test, predict or report`
      : 'Missing command: train, test, predict or report');
  }
  const misplaced = (Object.keys(o) as Flag[]).find((k) => onlyFor[k] !== undefined && onlyFor[k] !== command);
  if (misplaced) throw new UsageError(`--${misplaced} applies only to ${onlyFor[misplaced]}`);
  if (o.bf16 && o.fp16) throw new UsageError('--bf16 and --fp16 exclude each other; pick one');
  if (command === 'test' && o.checkpoint === undefined) throw new UsageError('test needs --checkpoint <file>');
  const launchArgs = parseLaunch(o, argv, tokens);
  // A rank of a job (torchrun's variables, or the ranks --nproc starts) trains its share.
  const rankOfJob = command === 'train' && !launchArgs && (process.env.WORLD_SIZE ?? '') !== '';
  const given: Partial<Record<keyof RunConfig, unknown>> = {
    data: o.data === undefined ? undefined : path.resolve(o.data),
    download: o['no-download'] ? false : undefined,
    epochs: o.epochs,
    [command === 'test' ? 'testBatchSize' : 'batchSize']: o['batch-size'],
    device: o.device, seed: o.seed, lr: o.lr, scheduleEpochs: o['schedule-epochs'],
    checkpoint: o.checkpoint === undefined ? undefined : path.resolve(o.checkpoint),
    predictions: o.predictions === undefined ? undefined : path.resolve(o.predictions),
    checkpointDir: o['checkpoint-dir'] === undefined ? undefined : path.resolve(o['checkpoint-dir']),
    checkpointEvery: o['checkpoint-every'], logEvery: o['log-every'], resume: o.resume,
    trainLimit: o['limit-train'], testLimit: o['limit-test'], threads: o.threads, cpuLinear: o['cpu-linear'],
    channelsLast: o['channels-last'], autocast: o.bf16 ? 'bfloat16' : o.fp16 ? 'float16' : undefined,
    // '' stays '' for resolveConfig to refuse: path.resolve would make it the current folder.
    tensorboard: o.tensorboard === undefined || o.tensorboard === '' ? o.tensorboard : path.resolve(o.tensorboard),
    format: o.format, dataset: o.dataset, recipe: o.recipe, imageSize: o['image-size'], valSplit: o['val-split'], skipBad: o['skip-bad'],
    runDir: o['run-dir'] === undefined || o['run-dir'] === '' ? o['run-dir'] : path.resolve(o['run-dir']),
    distributed: rankOfJob ? true : undefined,
  };
  const raw: Partial<Record<keyof RunConfig, unknown>> = {};
  const config: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(given) as [keyof RunConfig, unknown][]) {
    if (x === undefined) continue;
    raw[k] = x;
    config[k] = numeric.includes(k) ? toNumber(x as string) : x;
  }
  const flag = (k: keyof RunConfig) => `--${flagOf[k] ?? k}`;
  try {
    const resolved = resolveConfig(config as Partial<RunConfig>, flag);
    return { command, config: resolved, predict: null, help: false, ...(launchArgs ? { launch: launchArgs } : {}) };
  } catch (e) {
    if (!(e instanceof TypeError)) throw e;
    // Show a flag's value as typed: --epochs 'x', not NaN.
    const key = (Object.keys(raw) as (keyof RunConfig)[]).find((k) => e instanceof ArgumentError && e.argument === flag(k));
    if (e instanceof ArgumentError && key !== undefined && typeof raw[key] === 'string') {
      throw new UsageError(`Expected ${e.expected} for ${e.argument} but received '${raw[key] as string}'`);
    }
    throw new UsageError(e.message);
  }
}

type PredictValues = Partial<Record<Flag, string | boolean>>;

/** A flag's number through the library's check, reported with the flag's name and the value as typed. */
function checked<T>(flag: string, raw: string | undefined, fn: (x: unknown) => T): T {
  try {
    return fn(raw === undefined ? undefined : toNumber(raw));
  } catch (e) {
    if (e instanceof ArgumentError) throw new UsageError(`Expected ${e.expected} for ${flag} but received '${raw}'`);
    throw e;
  }
}

/** train --nproc and its companions, or null without --nproc. */
function parseLaunch(o: PredictValues, argv: string[], tokens: ReturnType<typeof parseArgs>['tokens']): LaunchArgs | null {
  const given = launcherFlags.filter((k) => o[k] !== undefined);
  if (o.nproc === undefined) {
    if (given.length) throw new UsageError(`--${given[0]} applies only with --nproc`);
    return null;
  }
  if ((process.env.WORLD_SIZE ?? '') !== '') {
    throw new UsageError(`--nproc starts the ranks itself, but WORLD_SIZE=${process.env.WORLD_SIZE} is set (a torchrun job?): ` +
      'leave out --nproc to join that job, or unset WORLD_SIZE');
  }
  const nproc = checked('--nproc', o.nproc as string, (x) => integer(x, '--nproc', 1));
  const nnodes = checked('--nnodes', o.nnodes as string | undefined, (x) => (x === undefined ? 1 : integer(x, '--nnodes', 1)));
  const nodeRank = checked('--node-rank', o['node-rank'] as string | undefined, (x) => (x === undefined ? 0 : integer(x, '--node-rank', 0, nnodes - 1)));
  const masterPort = checked('--master-port', o['master-port'] as string | undefined, (x) => (x === undefined ? undefined : integer(x, '--master-port', 1, 65535)));
  const masterAddr = o['master-addr'] as string | undefined;
  if (masterAddr === '') throw new UsageError("Expected a host name or address for --master-addr but received ''");
  if (nnodes > 1 && (masterAddr === undefined || masterPort === undefined)) {
    throw new UsageError('--nnodes above 1 needs --master-addr and --master-port, the same on every machine');
  }
  // The ranks' arguments: every token but the launcher's flags (and their values).
  const drop = new Set<number>();
  for (const t of tokens ?? []) {
    if (t.kind !== 'option' || !launcherFlags.includes(t.name as Flag)) continue;
    drop.add(t.index);
    if (t.value !== undefined && !t.inlineValue) drop.add(t.index + 1);
  }
  return { nproc, nnodes, nodeRank, masterAddr, masterPort, argv: argv.filter((_, i) => !drop.has(i)) };
}

/** predict's flags, checked here so that a bad value stops it before the weights load. */
function parsePredict(o: PredictValues, images: string[]): PredictArgs {
  const other = (Object.keys(o) as Flag[]).find((k) => !predictFlags.includes(k));
  if (other) throw new UsageError(`--${other} does not apply to predict; it takes --checkpoint, --topk, --json, --device, --batch-size and --recipe`);
  if (images.length === 0) throw new UsageError('predict needs at least one image file');
  if (o.checkpoint === undefined) throw new UsageError('predict needs --checkpoint <file>');
  const device = o.device === undefined ? 'cpu' : (o.device as string);
  checked('--device', device, () => parseDevice(device, '--device'));
  return {
    images,
    checkpoint: path.resolve(o.checkpoint as string),
    // At most the number of classes: checked once the weights say how many.
    topk: checked('--topk', o.topk as string | undefined, (x) => (x === undefined ? 0 : integer(x, '--topk', 1))),
    json: o.json === true,
    device,
    batchSize: checked('--batch-size', o['batch-size'] as string | undefined, (x) => (x === undefined ? PREDICT_BATCH : integer(x, '--batch-size', 1))),
    testTimeFlip: recipeTestTimeFlip[checked('--recipe', o.recipe as string | undefined, (x) => oneOf(x ?? defaultConfig.recipe, '--recipe', recipeNames))],
  };
}

/** What `report` was asked to do. */
export interface ReportArgs {
  runDirs: string[];
  out: string;
}

function parseReport(o: PredictValues, runDirs: string[]): ReportArgs {
  const other = (Object.keys(o) as Flag[]).find((k) => k !== 'out');
  if (other) throw new UsageError(`--${other} does not apply to report; it takes run directories and --out`);
  if (runDirs.length === 0) throw new UsageError('report needs at least one run directory (written by train --run-dir)');
  if (o.out === '') throw new UsageError("Expected a file name for --out but received ''");
  return { runDirs: runDirs.map((d) => path.resolve(d)), out: path.resolve((o.out as string | undefined) ?? 'report.html') };
}

/** `label  probability%` lines under the file name, or one JSON line per image. */
function formatPredictions(file: string, predictions: Prediction[], json: boolean, classes: readonly string[]): string {
  if (json) return `${JSON.stringify({ file, predictions })}\n`;
  const width = Math.max(...classes.map((c) => c.length));
  return `${file}\n${predictions.map((p) => `  ${p.label.padEnd(width)}  ${(100 * p.probability).toFixed(2).padStart(6)}%\n`).join('')}`;
}

/** Labels every image it can; bad images are reported on stderr and make the exit code 1. */
async function runPredict(a: PredictArgs): Promise<number> {
  const clf = await Classifier.load(a.checkpoint, { device: a.device, testTimeFlip: a.testTimeFlip });
  let failed = 0;
  try {
    if (a.topk > clf.classes.length) {
      process.stderr.write(`torchbridge: Expected integer between 1 and ${clf.classes.length} for --topk but received '${a.topk}': ` +
        `${a.checkpoint} has ${clf.classes.length} classes\nRun 'torchbridge --help' for usage.\n`);
      return 2;
    }
    const topk = a.topk === 0 ? Math.min(5, clf.classes.length) : a.topk;
    for (let start = 0; start < a.images.length; start += a.batchSize) {
      const files = a.images.slice(start, start + a.batchSize);
      const results = await clf.predictSettled(files, { topk, batchSize: a.batchSize });
      results.forEach((r, i) => {
        if (r instanceof ImageError) {
          failed += 1;
          process.stderr.write(`torchbridge: ${r.message}\n`);
        } else {
          process.stdout.write(formatPredictions(files[i], r, a.json, clf.classes));
        }
      });
    }
  } finally {
    clf.dispose();
  }
  if (failed) process.stderr.write(`torchbridge: ${failed} of ${a.images.length} images could not be labelled\n`);
  return failed ? 1 : 0;
}

/**
 * Starts this machine's ranks of a `train --nproc` job and waits for them. Ctrl-C in a terminal
 * reaches every rank, which stop together after the same step; this process waits for them.
 */
async function runLaunch(a: LaunchArgs): Promise<number> {
  let interrupted = false;
  const onSigint = () => {
    interrupted = true;
  };
  process.on('SIGINT', onSigint);
  try {
    const ts = __filename.endsWith('.ts');
    // 130: the ranks stopped together on Ctrl-C, rank 0 saving; no rank is killed for it.
    const exits = await launch({
      nproc: a.nproc, nnodes: a.nnodes, nodeRank: a.nodeRank, script: __filename, args: a.argv, execArgv: ts ? ['--require', 'ts-node/register'] : [],
      successCodes: [0, 130],
      ...(a.masterAddr !== undefined ? { masterAddr: a.masterAddr } : {}), ...(a.masterPort !== undefined ? { masterPort: a.masterPort } : {}),
    });
    return exits.some((e) => e.code === 130) ? 130 : 0;
  } catch (e) {
    if (interrupted) return 130;
    throw e;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

export async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parse(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`torchbridge: ${e.message}\nRun 'torchbridge --help' for usage.\n`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const reporter = new ConsoleReporter();
  try {
    if (args.command === 'predict') return await runPredict(args.predict as PredictArgs);
    if (args.command === 'report') {
      const { runDirs, out } = args.report as ReportArgs;
      await writeReport(runDirs, out);
      process.stdout.write(`Wrote ${out} (${runDirs.length} run${runDirs.length > 1 ? 's' : ''})\n`);
      return 0;
    }
    if (args.command === 'test') {
      await runTest(args.config as RunConfig, reporter);
      return 0;
    }
    if (args.launch) return await runLaunch(args.launch);
    const trainer = new Trainer(args.config as RunConfig, reporter);
    let interrupts = 0;
    const onSigint = () => {
      interrupts += 1;
      if (interrupts > 1) process.exit(130);
      process.stderr.write('\nStopping after this step (Ctrl-C again to quit now)...\n');
      trainer.stop();
    };
    process.on('SIGINT', onSigint);
    try {
      const result = await trainer.fit();
      if (result.stopped) {
        if (result.checkpointFile) {
          process.stderr.write(`Resume with: torchbridge train --checkpoint-dir ${path.dirname(result.checkpointFile)} --resume (and the same options)\n`);
        }
        return 130;
      }
      return 0;
    } finally {
      process.off('SIGINT', onSigint);
    }
  } catch (e) {
    process.stderr.write(`torchbridge: ${(e as Error).message}\n`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
}
