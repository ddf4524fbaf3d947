#!/usr/bin/env node
// torchbridge CLI: `train` runs the reference recipe, `test` evaluates saved weights.
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { defaultConfig, RunConfig, runTest } from './run';
import { CpuLinearKernel, cpuLinearKernels } from './tensor';
import { ConsoleReporter } from './train';
import { Trainer } from './trainer';

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
  --checkpoint <file>     train: save the trained weights here (PyTorch format);
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
  help: { type: 'boolean', short: 'h' },
} as const;

class UsageError extends Error {}

function int(flag: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < min) {
    throw new UsageError(`Expected ${min === 1 ? 'positive' : 'non-negative'} integer for --${flag} but received '${value}'`);
  }
  return n;
}

function num(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new UsageError(`Expected positive number for --${flag} but received '${value}'`);
  return n;
}

export function parse(argv: string[]): { command: string | null; config: Partial<RunConfig>; help: boolean } {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const { values: o, positionals } = parsed;
  if (o.help) return { command: positionals[0] ?? null, config: {}, help: true };
  if (positionals.length !== 1 || !['train', 'test'].includes(positionals[0])) {
    throw new UsageError(positionals.length ? `Unknown command '${positionals.join(' ')}': expected train or test` : 'Missing command: train or test');
  }
  const command = positionals[0];
  const config: Partial<RunConfig> = {};
  if (o.data !== undefined) config.data = path.resolve(o.data);
  if (o['no-download']) config.download = false;
  const set = <K extends keyof RunConfig>(k: K, x: RunConfig[K] | undefined) => { if (x !== undefined) config[k] = x; };
  set('epochs', int('epochs', o.epochs, 1));
  if (command === 'test') set('testBatchSize', int('batch-size', o['batch-size'], 1));
  else set('batchSize', int('batch-size', o['batch-size'], 1));
  set('device', o.device);
  set('seed', int('seed', o.seed, 0));
  set('lr', num('lr', o.lr));
  set('scheduleEpochs', int('schedule-epochs', o['schedule-epochs'], 1));
  if (o.checkpoint !== undefined) config.checkpoint = path.resolve(o.checkpoint);
  if (o['checkpoint-dir'] !== undefined) config.checkpointDir = path.resolve(o['checkpoint-dir']);
  set('checkpointEvery', int('checkpoint-every', o['checkpoint-every'], 1));
  if (config.checkpointEvery != null && !o['checkpoint-dir']) throw new UsageError('--checkpoint-every needs --checkpoint-dir');
  set('logEvery', int('log-every', o['log-every'], 1));
  if (o.resume) {
    if (!o['checkpoint-dir']) throw new UsageError('--resume needs --checkpoint-dir');
    config.resume = true;
  }
  set('trainLimit', int('limit-train', o['limit-train'], 1));
  set('testLimit', int('limit-test', o['limit-test'], 1));
  set('threads', int('threads', o.threads, 1));
  if (o['cpu-linear'] !== undefined) {
    const kernel = o['cpu-linear'] as CpuLinearKernel;
    if (!cpuLinearKernels.includes(kernel)) {
      throw new UsageError(`--cpu-linear must be ${cpuLinearKernels.join(' or ')} but received '${kernel}'`);
    }
    config.cpuLinear = kernel;
  }
  if (o['channels-last']) config.channelsLast = true;
  if (o.bf16 && o.fp16) throw new UsageError('--bf16 and --fp16 exclude each other; pick one');
  if (o.bf16) config.autocast = 'bfloat16';
  if (o.fp16) config.autocast = 'float16';
  if (command === 'test' && !config.checkpoint) throw new UsageError('test needs --checkpoint <file>');
  if (config.scheduleEpochs != null && config.scheduleEpochs < (config.epochs ?? defaultConfig.epochs)) {
    throw new UsageError(`--schedule-epochs (${config.scheduleEpochs}) must be at least --epochs (${config.epochs ?? defaultConfig.epochs})`);
  }
  return { command, config, help: false };
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
      await runTest(args.config, reporter);
      return 0;
    }
    const trainer = new Trainer(args.config, reporter);
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
