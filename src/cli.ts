#!/usr/bin/env node
// torchbridge CLI: `train` runs the reference recipe, `test` evaluates saved weights.
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { ConsoleReporter, defaultConfig, resolveConfig, RunConfig, runTest, Trainer } from './train';
import { ArgumentError } from './validate';

const HELP = `Usage: torchbridge <command> [options]

Commands:
  train                   Train AlexNet on CIFAR-10 with the reference recipe
  test                    Evaluate saved weights on the CIFAR-10 test split

Options:
  --data <dir>            Folder holding cifar-10-batches-bin/ (default: ${defaultConfig.data});
                          downloaded there when missing
  --no-download           Fail instead of downloading missing data
  --epochs <n>            Epochs to train (default: ${defaultConfig.epochs})
  --batch-size <n>        Training batch size (default: ${defaultConfig.batchSize}); for test, the test batch (default: ${defaultConfig.testBatchSize})
  --device <d>            cpu, cuda, cuda:1, npu, npu:0 (default: ${defaultConfig.device})
  --seed <n>              Seed for weights, dropout, shuffling and augmentation (default: ${defaultConfig.seed})
  --lr <x>                OneCycleLR max_lr (default: ${defaultConfig.lr})
  --schedule-epochs <n>   OneCycleLR length in epochs (default: the run's own --epochs;
                          150 reproduces the reference exactly)
  --checkpoint <file>     train: save the trained weights here (PyTorch format, or see --format);
                          test: the weights to evaluate
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
  -h, --help              Show this help

Ctrl-C during training saves a checkpoint of the last finished step and exits.

Examples:
  torchbridge train --data ../shared/datasets/cifar10-dev --epochs 5 --checkpoint alexnet.pt
  torchbridge test --data ../shared/datasets/cifar10-dev --checkpoint alexnet.pt`;

const options = {
  data: { type: 'string' },
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
  help: { type: 'boolean', short: 'h' },
} as const;

class UsageError extends Error {}

// Each config field's flag. Numbers are converted here; every rule about the
// values is resolveConfig's, and its errors are reported with the flag's name.
const flagOf: Partial<Record<keyof RunConfig, string>> = {
  data: 'data', download: 'no-download', epochs: 'epochs', batchSize: 'batch-size', testBatchSize: 'batch-size', device: 'device',
  seed: 'seed', lr: 'lr', scheduleEpochs: 'schedule-epochs', checkpoint: 'checkpoint', checkpointDir: 'checkpoint-dir',
  checkpointEvery: 'checkpoint-every', logEvery: 'log-every', resume: 'resume', trainLimit: 'limit-train', testLimit: 'limit-test',
  threads: 'threads', cpuLinear: 'cpu-linear', channelsLast: 'channels-last', autocast: 'bf16',
  tensorboard: 'tensorboard', format: 'format',
};
const numeric: (keyof RunConfig)[] = ['epochs', 'batchSize', 'testBatchSize', 'seed', 'lr', 'scheduleEpochs', 'checkpointEvery', 'logEvery', 'trainLimit', 'testLimit', 'threads'];

/** A number when the text is one, else the text itself (for resolveConfig to refuse by name). */
function toNumber(text: string): number | string {
  const n = Number(text);
  return text.trim() !== '' && Number.isFinite(n) ? n : text;
}

export function parse(argv: string[]): { command: string | null; config: RunConfig | null; help: boolean } {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const { values: o, positionals } = parsed;
  if (o.help) return { command: positionals[0] ?? null, config: null, help: true };
  if (positionals.length !== 1 || !['train', 'test'].includes(positionals[0])) {
    throw new UsageError(positionals.length ? `Unknown command '${positionals.join(' ')}': expected train or test` : 'Missing command: train or test');
  }
  const command = positionals[0];
  if (o.bf16 && o.fp16) throw new UsageError('--bf16 and --fp16 exclude each other; pick one');
  if (command === 'test' && o.checkpoint === undefined) throw new UsageError('test needs --checkpoint <file>');
  const given: Partial<Record<keyof RunConfig, unknown>> = {
    data: o.data === undefined ? undefined : path.resolve(o.data),
    download: o['no-download'] ? false : undefined,
    epochs: o.epochs,
    [command === 'test' ? 'testBatchSize' : 'batchSize']: o['batch-size'],
    device: o.device, seed: o.seed, lr: o.lr, scheduleEpochs: o['schedule-epochs'],
    checkpoint: o.checkpoint === undefined ? undefined : path.resolve(o.checkpoint),
    checkpointDir: o['checkpoint-dir'] === undefined ? undefined : path.resolve(o['checkpoint-dir']),
    checkpointEvery: o['checkpoint-every'], logEvery: o['log-every'], resume: o.resume,
    trainLimit: o['limit-train'], testLimit: o['limit-test'], threads: o.threads, cpuLinear: o['cpu-linear'],
    channelsLast: o['channels-last'], autocast: o.bf16 ? 'bfloat16' : o.fp16 ? 'float16' : undefined,
    // '' stays '' for resolveConfig to refuse: path.resolve would make it the current folder.
    tensorboard: o.tensorboard === undefined || o.tensorboard === '' ? o.tensorboard : path.resolve(o.tensorboard),
    format: o.format,
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
    return { command, config: resolveConfig(config as Partial<RunConfig>, flag), help: false };
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
    if (args.command === 'test') {
      await runTest(args.config as RunConfig, reporter);
      return 0;
    }
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
