// DistributedSampler gives each rank the indices PyTorch's DistributedSampler gives
// it, for even and uneven splits, padding and dropLast, shuffled or not, epoch by
// epoch; and the seeded random factories draw what torch.Generator().manual_seed draws.
import test from 'ava';
import { DistributedSampler } from '../../src/data/distributed_sampler';
import { manualSeed } from '../../src/runtime';
import { randn, randperm } from '../../src/tensor';
import { pythonScript, runPython } from '../helpers/python';

interface Case { n: number; replicas: number; rank: number; shuffle: boolean; seed: number; dropLast: boolean; epoch: number }

const cases: Case[] = [];
for (const [n, replicas] of [[10, 2], [11, 2], [11, 3], [2, 5], [0, 2], [40000, 2], [1001, 4]]) {
  for (let rank = 0; rank < replicas; rank++) {
    for (const dropLast of [false, true]) {
      cases.push({ n, replicas, rank, shuffle: true, seed: 0, dropLast, epoch: 0 });
      cases.push({ n, replicas, rank, shuffle: true, seed: 42, dropLast, epoch: 3 });
      cases.push({ n, replicas, rank, shuffle: false, seed: 0, dropLast, epoch: 1 });
    }
  }
}
const permCases = [{ n: 1, seed: 0 }, { n: 50, seed: 7 }, { n: 40000, seed: 2 ** 40 + 3 }];
const randnSeeds = [0, 123];

let python: { samplers: number[][]; randperm: number[][]; randn: number[][] };
test.before(() => {
  python = JSON.parse(runPython(pythonScript('distributed_sampler_ref.py'), [], JSON.stringify({ samplers: cases, randperm: permCases, randn: randnSeeds })));
});

test('each rank\'s indices equal PyTorch DistributedSampler\'s', (t) => {
  cases.forEach((c, i) => {
    const s = new DistributedSampler({ length: c.n }, { numReplicas: c.replicas, rank: c.rank, shuffle: c.shuffle, seed: c.seed, dropLast: c.dropLast });
    s.setEpoch(c.epoch);
    const ours = Array.from(s.indices());
    t.is(ours.length, s.length);
    t.deepEqual(ours, python.samplers[i], JSON.stringify(c));
  });
});

test('the ranks\' shards together cover the epoch\'s permutation; a new epoch is a new order', (t) => {
  const n = 1000;
  const shards = [0, 1, 2, 3].map((rank) => new DistributedSampler({ length: n }, { numReplicas: 4, rank, seed: 5 }).indices());
  const seen = new Set(shards.flatMap((s) => Array.from(s)));
  t.is(seen.size, n, 'disjoint and complete when the world size divides the length');
  const s = new DistributedSampler({ length: n }, { numReplicas: 4, rank: 0, seed: 5 });
  const first = Array.from(s.indices());
  s.setEpoch(1);
  t.notDeepEqual(Array.from(s.indices()), first);
});

test('seeded randperm and randn draw what a seeded torch.Generator draws, and leave the global generator alone', (t) => {
  permCases.forEach((c, i) => t.deepEqual(randperm(c.n, { seed: c.seed }).toArray(), python.randperm[i], `randperm(${c.n}) seed ${c.seed}`));
  // float32 values, printed by Python as the doubles they are: equal, not close.
  randnSeeds.forEach((seed, i) => t.deepEqual(randn([5], { seed }).toArray(), python.randn[i], `randn seed ${seed}`));
  // Control: a neighbouring seed draws another permutation.
  t.notDeepEqual(randperm(50, { seed: 8 }).toArray(), python.randperm[1]);
  manualSeed(1);
  const expected = randn([3]).toArray();
  manualSeed(1);
  randn([5], { seed: 0 });
  t.deepEqual(randn([3]).toArray(), expected, 'the global generator did not move');
});

test('bad arguments are named', (t) => {
  t.is(t.throws(() => new DistributedSampler({ length: 10 }, { numReplicas: 2, rank: 2 }))!.message,
    'Expected integer between 0 and 1 for rank but received 2 of type number');
  t.is(t.throws(() => new DistributedSampler({ length: -1 }, { numReplicas: 2, rank: 0 }))!.message,
    'Expected non-negative integer for dataset.length but received -1 of type number');
  t.is(t.throws(() => new DistributedSampler({ length: 10 }, { numReplicas: 0, rank: 0 }))!.message,
    'Expected positive integer for numReplicas but received 0 of type number');
  t.is(t.throws(() => randperm(5, { seed: -1 }))!.message,
    `Expected integer between 0 and ${Number.MAX_SAFE_INTEGER} for seed but received -1 of type number`);
});
