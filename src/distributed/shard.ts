// One global batch split among the ranks of a data-parallel job, each rank training
// its rows. Dropout inside withBatchShard draws its mask for the whole batch and keeps
// the rank's rows (binding/functional.cc), so the ranks together compute exactly what
// one process training the whole batch computes, up to the order of the gradient sums.
import { addon } from '../native';
import * as v from '../validate';

/** The rows of a global batch that one rank trains. */
export interface BatchShard {
  /** The first row. */
  offset: number;
  /** How many rows (0 when the batch has fewer rows than ranks). */
  rows: number;
  /** The global batch's rows. */
  total: number;
}

/**
 * Rank `rank`'s rows of a batch of `total` rows split among `worldSize` ranks: contiguous blocks, the
 * first `total % worldSize` ranks taking one row more, as `torch.tensor_split`.
 */
export function shardOf(total: number, rank: number, worldSize: number): BatchShard {
  v.integer(total, 'total', 1);
  v.integer(worldSize, 'worldSize', 1);
  v.integer(rank, 'rank', 0, worldSize - 1);
  const base = Math.floor(total / worldSize);
  const extra = total % worldSize;
  return { offset: rank * base + Math.min(rank, extra), rows: base + (rank < extra ? 1 : 0), total };
}

/**
 * Runs `fn` with this thread's dropout drawing each mask for the whole global batch of `shard.total`
 * rows and keeping rows `shard.offset` onwards: the mask one process training the whole batch would
 * draw, from the same global generator, so every rank's generator stays in step with it. Only
 * training-mode dropout on this thread is affected (not forwardAsync).
 */
export function withBatchShard<T>(shard: Pick<BatchShard, 'offset' | 'total'>, fn: () => T): T {
  const s = v.options(shard, 'shard', ['offset', 'total', 'rows']);
  const total = v.integer(s.total, 'shard.total', 1);
  const offset = v.integer(s.offset, 'shard.offset', 0, total - 1);
  addon.functional.setBatchShard(offset, total);
  try {
    return fn();
  } finally {
    addon.functional.setBatchShard();
  }
}
