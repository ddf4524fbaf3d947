// Data-parallel batch shards: shardOf's split, and dropout inside withBatchShard drawing the
// mask of the whole global batch, so that each rank's rows get exactly the mask one process
// training the whole batch would draw, and every rank's generator ends where that process's does.
import test from 'ava';
import { shardOf, withBatchShard } from '../../src/distributed/shard';
import { manualSeed, nn, rand, randn, Tensor, tidy } from '../../src/index';

test('shardOf: contiguous blocks, the first total % worldSize ranks one row more', (t) => {
  t.deepEqual([0, 1].map((r) => shardOf(128, r, 2)), [{ offset: 0, rows: 64, total: 128 }, { offset: 64, rows: 64, total: 128 }]);
  t.deepEqual([0, 1, 2].map((r) => shardOf(100, r, 3)), [{ offset: 0, rows: 34, total: 100 }, { offset: 34, rows: 33, total: 100 },
    { offset: 67, rows: 33, total: 100 }]);
  t.deepEqual(shardOf(2, 2, 3), { offset: 2, rows: 0, total: 2 });
  t.throws(() => shardOf(8, 2, 2), { message: 'Expected integer between 0 and 1 for rank but received 2 of type number' });
  t.throws(() => shardOf(0, 0, 2), { message: 'Expected positive integer for total but received 0 of type number' });
});

for (const worldSize of [2, 3]) {
  test(`dropout in withBatchShard: ${worldSize} ranks' rows equal one process's dropout of the whole batch`, (t) => {
    const x = tidy(() => randn([10, 6]).abs().add(1)); // no zeros: a zero in the output is a dropped element
    const drop = new nn.Dropout(0.5);
    manualSeed(7);
    const whole = drop.forward(x);
    const after = rand([1]).item(); // where the generator is once the whole batch's mask is drawn
    const expected = whole.toArray();
    for (let rank = 0; rank < worldSize; rank++) {
      const s = shardOf(10, rank, worldSize);
      manualSeed(7); // every rank starts from the same generator state
      const part = x.narrow(0, s.offset, s.rows);
      const y = withBatchShard(s, () => drop.forward(part));
      t.deepEqual(y.toArray(), expected.slice(s.offset * 6, (s.offset + s.rows) * 6), `rank ${rank}`);
      t.is(rand([1]).item(), after, `rank ${rank}'s generator ends where the whole batch's does`);
      // Control: the same rows without the shard draw their own mask, which differs for every rank but the first.
      manualSeed(7);
      const own = drop.forward(part);
      if (rank > 0) t.notDeepEqual(own.toArray(), y.toArray());
      for (const u of [part, y, own]) u.dispose();
    }
    // Outside withBatchShard, dropout is at::dropout again.
    manualSeed(7);
    const again = drop.forward(x);
    t.deepEqual(again.toArray(), expected);
    for (const u of [x, whole, again]) u.dispose();
  });
}

test('withBatchShard: gradients flow through the shard\'s mask as through dropout\'s', (t) => {
  const x = randn([8, 4], { requiresGrad: true });
  manualSeed(3);
  tidy(() => nn.functional.dropout(x, 0.3).sum().backward());
  const whole = x.grad!.toArray();
  x.grad!.zero_();
  manualSeed(3);
  tidy(() => withBatchShard({ offset: 4, total: 8 }, () => nn.functional.dropout(x.narrow(0, 4, 4), 0.3)).sum().backward());
  t.deepEqual(x.grad!.toArray().slice(16), whole.slice(16));
  t.deepEqual(x.grad!.toArray().slice(0, 16), new Array(16).fill(0));
  x.dispose();
});

test('withBatchShard: bad shards and rows that do not fit are errors naming what is wrong', (t) => {
  const drop = new nn.Dropout(0.5);
  const x = randn([5, 2]);
  t.throws(() => withBatchShard({ offset: 4, total: 4 }, () => 0), { message: 'Expected integer between 0 and 3 for shard.offset but received 4 of type number' });
  t.throws(() => withBatchShard({ offset: 0, total: 0 }, () => 0), { message: 'Expected positive integer for shard.total but received 0 of type number' });
  t.throws(() => withBatchShard({ offset: 2, total: 6 }, () => drop.forward(x)), { message: /^dropout: the input's 5 rows do not fit the batch shard at row 2 of 6/ });
  // The shard ends with the call, even when it throws.
  manualSeed(1);
  const y = drop.forward(x);
  t.is(y.shape[0], 5);
  for (const u of [x, y] as Tensor[]) u.dispose();
});
