// `npm run bench -- --nproc N`: data-parallel scaling on this machine. The recipe's training
// (runTraining, as `torchbridge train` runs it) in 1 process, then in N ranks on gloo
// (`train --nproc N`), on the same images; then Python the same two ways (bench/python_ddp.py:
// the reference loop, and DistributedDataParallel in N processes). Prints train img/s of each,
// the speedups and scaling efficiencies (speedup / N), the ratios to Python, and writes
// bench/results-ddp.json.
//
// The ranks of one machine share its cores: on a 2-core machine, 2 ranks of 1 thread each do
// the work that 1 process does with 2 threads, plus the all-reduce of about 260 MB of gradients
// per step. Expect a speedup below 1 there; the figure means something on machines with more
// cores or devices than one process can use.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';

export interface DdpBenchOptions {
  data: string;
  nproc: number;
  /** Training steps of batch 128 timed (the first one included: runTraining times whole epochs). */
  iters: number;
  threads: number | null;
}

interface Measured { trainImagesPerSecond: number; ranks: number; threadsPerRank: number }

/** Python, as bench/python_ddp.py runs it, in nproc processes; env puts torch on its path. */
async function measurePython(o: DdpBenchOptions, nproc: number, env: NodeJS.ProcessEnv): Promise<Measured> {
  const { spawnSync } = await import('node:child_process');
  const { freePort } = await import('../src/distributed');
  const root = path.resolve(__dirname, '..', '..');
  const r = spawnSync(process.env.PYTHON || 'python3', [path.join(root, 'bench', 'python_ddp.py'), '--data', o.data, '--nproc', String(nproc),
    '--iters', String(o.iters), '--port', String(await freePort()), ...(o.threads ? ['--threads', String(o.threads)] : [])], { encoding: 'utf8', env });
  if (r.status !== 0) throw new Error(`bench: python_ddp.py --nproc ${nproc} failed (${r.signal ?? r.status}):\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Measured;
}

/** One rank (or the lone process): runTraining on iters batches, prints rank 0's figures as JSON. */
async function rank(o: DdpBenchOptions & { distributed: boolean }): Promise<void> {
  const { runTraining, silentReporter } = await import('../src/train');
  const { getNumThreads } = await import('../src');
  const result = await runTraining({
    data: o.data, download: false, epochs: 1, trainLimit: 128 * o.iters, testLimit: 100, logEvery: 10_000,
    threads: o.threads, distributed: o.distributed,
  }, silentReporter);
  if ((process.env.RANK ?? '0') === '0') {
    const m: Measured = { trainImagesPerSecond: result.epochs[0].trainImagesPerSecond, ranks: Number(process.env.WORLD_SIZE ?? '1'), threadsPerRank: getNumThreads() };
    process.stdout.write(`${JSON.stringify(m)}\n`);
  }
}

async function measure(o: DdpBenchOptions, nproc: number): Promise<Measured> {
  const { launch } = await import('../src/distributed');
  const out = new PassThrough();
  let text = '';
  out.on('data', (d) => { text += d; });
  const self = __filename;
  const args = ['--rank', JSON.stringify({ ...o, distributed: nproc > 1 })];
  const execArgv = self.endsWith('.ts') ? ['--require', 'ts-node/register'] : [];
  if (nproc === 1) {
    // The lone process as a user runs it: no process group at all.
    const { spawnSync } = await import('node:child_process');
    const r = spawnSync(process.execPath, [...execArgv, self, ...args], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`bench: the 1-process run failed (${r.signal ?? r.status}):\n${r.stderr}`);
    text = r.stdout;
  } else {
    await launch({ nproc, script: self, args, execArgv, output: out });
  }
  return JSON.parse(text.trim().split('\n').pop()!) as Measured;
}

/** Runs both and reports; returns what it wrote to bench/results-ddp.json. */
export async function runDdpBench(o: DdpBenchOptions, pythonEnv: NodeJS.ProcessEnv, log: (s: string) => void): Promise<Record<string, unknown>> {
  log(`bench --nproc ${o.nproc}: runTraining on ${128 * o.iters} images (${o.iters} steps of batch 128), 1 process, then ${o.nproc} ranks on gloo`);
  const one = await measure(o, 1);
  log(`  1 process (${one.threadsPerRank} threads): ${one.trainImagesPerSecond.toFixed(1)} train img/s`);
  const many = await measure(o, o.nproc);
  log(`  ${o.nproc} ranks (${many.threadsPerRank} thread${many.threadsPerRank > 1 ? 's' : ''} each): ${many.trainImagesPerSecond.toFixed(1)} train img/s`);
  const pyOne = await measurePython(o, 1, pythonEnv);
  log(`  python, 1 process (${pyOne.threadsPerRank} threads): ${pyOne.trainImagesPerSecond.toFixed(1)} train img/s`);
  const pyMany = await measurePython(o, o.nproc, pythonEnv);
  log(`  python, ${o.nproc} processes with DistributedDataParallel: ${pyMany.trainImagesPerSecond.toFixed(1)} train img/s`);
  const speedup = many.trainImagesPerSecond / one.trainImagesPerSecond;
  const pySpeedup = pyMany.trainImagesPerSecond / pyOne.trainImagesPerSecond;
  const results = {
    date: new Date().toISOString(), options: o, cores: (await import('node:os')).availableParallelism(),
    oneProcess: one, ranks: many, speedup, scalingEfficiency: speedup / o.nproc,
    python: { oneProcess: pyOne, ranks: pyMany, speedup: pySpeedup, scalingEfficiency: pySpeedup / o.nproc },
    ratio: { oneProcess: one.trainImagesPerSecond / pyOne.trainImagesPerSecond, ranks: many.trainImagesPerSecond / pyMany.trainImagesPerSecond },
  };
  const root = path.resolve(__dirname, '..', '..');
  fs.writeFileSync(path.join(root, 'bench', 'results-ddp.json'), `${JSON.stringify(results, null, 2)}\n`);
  log('');
  log('| processes | threads each | torchbridge img/s | python img/s | ratio | torchbridge speedup (efficiency) | python speedup (efficiency) |');
  log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  log(`| 1 | ${one.threadsPerRank} | ${one.trainImagesPerSecond.toFixed(1)} | ${pyOne.trainImagesPerSecond.toFixed(1)} | ${results.ratio.oneProcess.toFixed(2)} | 1.00 | 1.00 |`);
  log(`| ${o.nproc} | ${many.threadsPerRank} | ${many.trainImagesPerSecond.toFixed(1)} | ${pyMany.trainImagesPerSecond.toFixed(1)} | ${results.ratio.ranks.toFixed(2)} | ` +
    `${speedup.toFixed(2)} (${(speedup / o.nproc).toFixed(2)}) | ${pySpeedup.toFixed(2)} (${(pySpeedup / o.nproc).toFixed(2)}) |`);
  log(`\n${results.cores} cores here: the ranks share them, so this measures the cost of data parallelism more than its gain.`);
  log('wrote bench/results-ddp.json');
  log(`train img/s ratio torchbridge/python, ${o.nproc} ranks: ${results.ratio.ranks.toFixed(2)}`);
  log(`scaling efficiency (${o.nproc} ranks vs 1 process): torchbridge ${(speedup / o.nproc).toFixed(2)}, python ${(pySpeedup / o.nproc).toFixed(2)}`);
  return results;
}

if (require.main === module && process.argv[2] === '--rank') {
  rank(JSON.parse(process.argv[3])).then(() => process.exit(0), (e: Error) => {
    process.stderr.write(`${e.stack ?? e.message}\n`);
    process.exit(1);
  });
}
