// examples/ddp.ts, as a user runs it: one command starts two gloo ranks of itself
// (distributed.launch), which train AlexNet on their DistributedSampler shards
// with DistributedDataParallel. Rank 0 alone prints: one header, its loss lines and
// one accuracy line; rank 1's stdout stays quiet.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { devData } from '../helpers/data';
import { repoRoot } from '../helpers/python';

test('examples/ddp.ts --nproc 2 trains one epoch on two ranks and prints from rank 0 only', (t) => {
  const example = path.join(repoRoot, 'dist', 'examples', 'ddp.js');
  const r = spawnSync(process.execPath, [example, '--nproc', '2', '--data', devData, '--epochs', '1', '--limit', '1024'],
    { encoding: 'utf8', timeout: 300_000, env: { ...process.env, OMP_NUM_THREADS: '1' } });
  t.is(r.status, 0, `${r.stdout}\n${r.stderr}`);
  const lines = r.stdout.split('\n').filter(Boolean);
  t.is(lines[0], '2 ranks, 8 steps an epoch of 128 images (64 per rank)');
  t.is(lines.filter((l) => /^\[Epoch 1, step \d+\/8\] loss \d+\.\d{3}/.test(l)).length, 1, 'one loss line (step 8), from rank 0 only');
  const accuracy = lines.filter((l) => /^Test accuracy at epoch 1: \d+\.\d\d%$/.test(l));
  t.is(accuracy.length, 1, r.stdout);
});
