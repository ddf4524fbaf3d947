// DistributedDataParallel: 2 gloo ranks train AlexNet 5 steps on halves of the same batches; their
// weights must be identical, and equal to one process trained on the whole batches.
import test from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { backends, load, Tensor, tidy } from '../../src/index';
import { tempDir } from '../helpers/python';
import { freePort, startRank } from '../helpers/ranks';

const script = path.join(__dirname, '..', 'fixtures', 'ddp-train.js');

test.before(() => {
  const d = backends().distributed;
  if (!d.built) throw new Error(`the distributed module is not built into this addon: ${d.reason} (apt-get install libgloo-dev; .ci/run does)`);
});

function maxAbsDiff(a: Tensor, b: Tensor): number {
  return tidy(() => a.sub(b).abs().max().item());
}

test('2 ranks of DistributedDataParallel train AlexNet like 1 process on the whole batches', async (t) => {
  const dir = tempDir('torchbridge-ddp-');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = (name: string) => path.join(dir, `${name}.pt`);
  // The reference alone first (2 cores), then the two ranks together.
  const single = await startRank(process.execPath, [script, 'single', file('single')], 300_000).ended;
  t.is(single.code, 0, `${JSON.stringify(single.results)} ${single.stderr}`);
  const port = await freePort();
  const ranks = await Promise.all([0, 1].map((r) =>
    startRank(process.execPath, [script, 'ddp', String(r), '2', String(port), file(`rank${r}`)], 300_000).ended));
  for (const [r, e] of ranks.entries()) t.is(e.code, 0, `rank ${r}: ${JSON.stringify(e.results)} ${e.stderr}`);
  const [r0, r1] = ranks.map((e) => e.results[0] as { before: number; after: number; losses: number[]; stats: { buckets: number; startedInBackward: number }[] });

  // Control: the ranks started from different weights (their own seeds); create() made them rank 0's.
  t.not(r0.before, r1.before);
  t.is(r1.after, r0.before);
  t.is(r0.after, r0.before);
  // Overlap: every bucket's all-reduce started during backward, and there is more than one.
  for (const s of [...r0.stats, ...r1.stats]) {
    t.true(s.buckets > 1);
    t.is(s.startedInBackward, s.buckets);
  }

  const [w0, w1, ws] = await Promise.all([file('rank0'), file('rank1'), file('single')].map((f) => load(f))) as Record<string, Tensor>[];
  t.deepEqual(Object.keys(w0), Object.keys(ws));
  let rankDiff = 0;
  let singleDiff = 0;
  let moved = 0;
  const initial = (single.results[0] as { losses: number[] }).losses;
  for (const k of Object.keys(ws)) {
    rankDiff = Math.max(rankDiff, maxAbsDiff(w0[k], w1[k]));
    singleDiff = Math.max(singleDiff, maxAbsDiff(w0[k], ws[k]));
  }
  // Control: training changed the weights (from rank 0's start, which is the reference's start too).
  moved = r0.after - tidy(() => Object.values(w0).reduce((acc, w) => acc + w.abs().sum().item(), 0));
  t.log(`max |rank0 - rank1| = ${rankDiff}, max |rank0 - single| = ${singleDiff}, checksum change ${moved}; ` +
    `losses: single ${initial.map((l) => l.toFixed(4))}, ranks ${r0.losses.map((l, i) => ((l + r1.losses[i]) / 2).toFixed(4))}`);
  t.is(rankDiff, 0);
  t.true(singleDiff <= 1e-5, `max |rank0 - single| = ${singleDiff}`);
  t.true(Math.abs(moved) > 1e-3);
  for (const w of [w0, w1, ws]) for (const x of Object.values(w)) x.dispose();
});
