// `npm run bench`: torchbridge against the Python reference on the same machine,
// the same libtorch and the same iteration counts, in one run. Prints a table and
// the ratios, writes bench/results.json and bench/results.svg.
//
//   npm run bench -- [--device cpu|cuda] [--data DIR] [--iters 20] [--warmup 3]
//                    [--eval-iters 10] [--threads N] [--cpu-linear onednn|blas] [--channels-last]
//                    [--bf16 | --fp16] [--json]
//   npm run bench -- --nproc N [--data DIR] [--iters 20] [--threads N]   (data-parallel scaling, bench-ddp.ts)
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';

const root = path.resolve(__dirname, '..', '..');

interface Result {
  name: string;
  trainImagesPerSecond: number;
  evalImagesPerSecond: number;
  peakRssBytes: number;
  cudaPeakBytes?: number | null;
  [k: string]: unknown;
}

function runJson(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Result {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env, maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`${path.basename(args[0])} failed (${r.signal ?? r.status}):\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

function svg(results: Result[]): string {
  const metrics: [string, keyof Result][] = [['train img/s', 'trainImagesPerSecond'], ['eval img/s', 'evalImagesPerSecond']];
  const colors = ['#e4572e', '#4c72b0'];
  const W = 520, H = 60 + metrics.length * 90;
  let out = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="13">\n`;
  out += `<text x="10" y="22" font-size="15" font-weight="bold">AlexNet / CIFAR-10, ${results[0].device}: images per second (higher is better)</text>\n`;
  metrics.forEach(([label, key], m) => {
    const max = Math.max(...results.map((r) => r[key] as number));
    const y0 = 45 + m * 90;
    out += `<text x="10" y="${y0 + 14}" font-weight="bold">${label}</text>\n`;
    results.forEach((r, i) => {
      const value = r[key] as number;
      const w = Math.max(1, (value / max) * 300);
      const y = y0 + 22 + i * 28;
      out += `<text x="10" y="${y + 15}">${r.name}</text>`;
      out += `<rect x="110" y="${y}" width="${w.toFixed(1)}" height="20" fill="${colors[i % colors.length]}"/>`;
      out += `<text x="${(115 + w).toFixed(1)}" y="${y + 15}">${value.toFixed(1)}</text>\n`;
    });
  });
  return `${out}</svg>\n`;
}

/** This environment, with the torch that libtorch came from on Python's path. */
function pythonEnv(): NodeJS.ProcessEnv {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const { torchPythonPath } = require(path.join(root, 'scripts', 'paths.js')) as { torchPythonPath(buildDir: string): string | null };
  return { ...process.env, PYTHONPATH: [torchPythonPath(path.join(root, 'build')), process.env.PYTHONPATH].filter(Boolean).join(path.delimiter) };
}

async function main(): Promise<void> {
  const { values: a } = parseArgs({
    options: {
      device: { type: 'string', default: 'cpu' },
      data: { type: 'string', default: path.resolve(root, '..', 'shared', 'datasets', 'cifar10-dev') },
      iters: { type: 'string', default: '20' },
      warmup: { type: 'string', default: '3' },
      'eval-iters': { type: 'string', default: '10' },
      threads: { type: 'string' },
      'cpu-linear': { type: 'string', default: 'onednn' },
      'channels-last': { type: 'boolean', default: false },
      bf16: { type: 'boolean', default: false },
      fp16: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      nproc: { type: 'string' },
    },
  });
  if (a.nproc !== undefined) {
    const nproc = Number(a.nproc);
    if (!Number.isInteger(nproc) || nproc < 2) throw new Error(`bench: Expected integer of at least 2 for --nproc but received '${a.nproc}'`);
    if (a.device !== 'cpu') throw new Error('bench: --nproc runs on cpu (gloo); NCCL and HCCL are not wired');
    const { runDdpBench } = await import('./bench-ddp');
    await runDdpBench({ data: path.resolve(a.data!), nproc, iters: Number(a.iters), threads: a.threads ? Number(a.threads) : null }, pythonEnv(), console.log);
    return;
  }
  if (a.bf16 && a.fp16) throw new Error('bench: --bf16 and --fp16 exclude each other; pick one');
  if (a['cpu-linear'] !== 'onednn' && a['cpu-linear'] !== 'blas') throw new Error(`bench: --cpu-linear must be onednn or blas but received '${a['cpu-linear']}'`);
  const opts = {
    data: path.resolve(a.data!), device: a.device!, warmup: Number(a.warmup), iters: Number(a.iters),
    evalIters: Number(a['eval-iters']), threads: a.threads ? Number(a.threads) : null, channelsLast: a['channels-last']!,
    cpuLinear: a['cpu-linear'] as 'onednn' | 'blas',
    autocast: a.bf16 ? ('bfloat16' as const) : a.fp16 ? ('float16' as const) : null,
  };
  const log = (s: string) => { if (!a.json) console.log(s); };
  const flags = [opts.cpuLinear === 'blas' && 'Linear in BLAS', opts.channelsLast && 'channels_last', opts.autocast && `${opts.autocast === 'float16' ? 'fp16 autocast + GradScaler' : 'bf16 autocast'}`].filter(Boolean).join(', ') || 'fp32';
  log(`bench: ${opts.iters} training iterations (batch 128) after ${opts.warmup} warm-up, ${opts.evalIters} eval batches (100), ${opts.device}, torchbridge ${flags}`);

  const tb = runJson(process.execPath, [path.join(__dirname, 'bench-torchbridge.js'), JSON.stringify(opts)]);
  log(`  torchbridge: ${tb.trainImagesPerSecond.toFixed(1)} train img/s, ${tb.evalImagesPerSecond.toFixed(1)} eval img/s`);
  const env = pythonEnv();
  const py = runJson(process.env.PYTHON || 'python3', [path.join(root, 'bench', 'python_reference.py'), '--data', opts.data,
    '--device', opts.device, '--warmup', String(opts.warmup), '--iters', String(opts.iters), '--eval-iters', String(opts.evalIters),
    ...(opts.threads ? ['--threads', String(opts.threads)] : [])], env);
  log(`  python:      ${py.trainImagesPerSecond.toFixed(1)} train img/s, ${py.evalImagesPerSecond.toFixed(1)} eval img/s`);

  const ratio = {
    train: tb.trainImagesPerSecond / py.trainImagesPerSecond,
    eval: tb.evalImagesPerSecond / py.evalImagesPerSecond,
    peakRss: tb.peakRssBytes / py.peakRssBytes,
  };
  const results = { date: new Date().toISOString(), options: opts, torchbridge: tb, python: py, ratio };
  fs.writeFileSync(path.join(root, 'bench', 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  fs.writeFileSync(path.join(root, 'bench', 'results.svg'), svg([tb, py]));
  if (a.json) {
    process.stdout.write(`${JSON.stringify(results)}\n`);
    return;
  }
  const mb = (b: number) => `${(b / 2 ** 20).toFixed(0)} MB`;
  console.log('');
  console.log('| figure | torchbridge | python | ratio |');
  console.log('| --- | ---: | ---: | ---: |');
  console.log(`| train img/s | ${tb.trainImagesPerSecond.toFixed(1)} | ${py.trainImagesPerSecond.toFixed(1)} | ${ratio.train.toFixed(2)} |`);
  console.log(`| eval img/s | ${tb.evalImagesPerSecond.toFixed(1)} | ${py.evalImagesPerSecond.toFixed(1)} | ${ratio.eval.toFixed(2)} |`);
  console.log(`| peak RSS | ${mb(tb.peakRssBytes)} | ${mb(py.peakRssBytes)} | ${ratio.peakRss.toFixed(2)} |`);
  if (tb.cudaPeakBytes != null && py.cudaPeakBytes != null) {
    console.log(`| peak CUDA memory | ${mb(tb.cudaPeakBytes)} | ${mb(py.cudaPeakBytes)} | ${(tb.cudaPeakBytes / py.cudaPeakBytes).toFixed(2)} |`);
  }
  // 0.245 GMAC per image forward (5 convs, 3 linears); training ~3x (forward + backward).
  const fwd = 2 * 0.245071872;
  const gf = (ips: number, flop: number) => `${((ips * flop)).toFixed(0)}`;
  console.log(`\ncompute used (GFLOP/s; 0.49 GFLOP per image forward, 1.47 per training image): torchbridge train ${gf(tb.trainImagesPerSecond, 3 * fwd)}, ` +
    `eval ${gf(tb.evalImagesPerSecond, fwd)}; python train ${gf(py.trainImagesPerSecond, 3 * fwd)}, eval ${gf(py.evalImagesPerSecond, fwd)}`);
  console.log(`\nevent-loop delay while training (main thread): p99 ${(tb.eventLoopDelayP99Ms as number).toFixed(1)} ms, max ${(tb.eventLoopDelayMaxMs as number).toFixed(1)} ms`);
  console.log('wrote bench/results.json and bench/results.svg');
  console.log(`eval img/s ratio torchbridge/python: ${ratio.eval.toFixed(2)}`);
  console.log(`train img/s ratio torchbridge/python: ${ratio.train.toFixed(2)}`);
}

main().catch((e: Error) => {
  process.stderr.write(`${e.message}\n`);
  process.exit(1);
});
