// Each process's share of a dataset in data-parallel training, as
// torch.utils.data.distributed.DistributedSampler: the same seeded permutation on
// every rank, padded (or cut) to a multiple of the world size, then every
// numReplicas-th index from the rank's own. The permutation is libtorch's
// randperm with a CPU generator seeded with seed + epoch, as Python draws it,
// so torchbridge and Python ranks of one job read the same shards.
import { randperm } from '../tensor';
import * as v from '../validate';

/** Options of {@link DistributedSampler}, as DistributedSampler's (camelCase). */
export interface DistributedSamplerOptions {
  /** How many processes share the dataset (the world size). */
  numReplicas: number;
  /** This process's rank, 0 to numReplicas - 1. */
  rank: number;
  /** A new permutation each epoch (true); otherwise dataset order. */
  shuffle?: boolean;
  /** The permutation's seed, the same on every rank (0); epoch e draws with seed + e. */
  seed?: number;
  /** Cut the tail so that every rank gets the same count (false: pad by repeating the first indices). */
  dropLast?: boolean;
}

/**
 * The dataset indices of one rank, epoch by epoch: disjoint across ranks when the dataset divides
 * evenly, and the same count on every rank always (padded by repetition, or the tail dropped with
 * `dropLast`). Call {@link DistributedSampler.setEpoch} before each epoch, as in PyTorch, for a new
 * order; the indices equal PyTorch's DistributedSampler's for the same arguments.
 */
export class DistributedSampler {
  /** How many processes share the dataset. */
  readonly numReplicas: number;
  /** This process's rank. */
  readonly rank: number;
  /** Whether each epoch draws a new permutation. */
  readonly shuffle: boolean;
  /** The permutation's base seed. */
  readonly seed: number;
  /** Whether the tail is dropped rather than padded. */
  readonly dropLast: boolean;
  /** Indices this rank gets per epoch (`num_samples`). */
  readonly length: number;
  /** All ranks' indices together per epoch (`total_size`). */
  readonly totalSize: number;
  private readonly datasetLength: number;
  private epoch = 0;

  /** @param dataset Anything with a length: a dataset, or `{ length: n }`. */
  constructor(dataset: { readonly length: number }, options: DistributedSamplerOptions) {
    const o = v.options(options, 'options', ['numReplicas', 'rank', 'shuffle', 'seed', 'dropLast']);
    this.datasetLength = v.integer(v.object(dataset, 'dataset').length, 'dataset.length', 0);
    this.numReplicas = v.integer(o.numReplicas, 'numReplicas', 1);
    this.rank = v.integer(o.rank, 'rank', 0, this.numReplicas - 1);
    this.shuffle = o.shuffle === undefined ? true : v.boolean(o.shuffle, 'shuffle');
    this.seed = o.seed === undefined ? 0 : v.integer(o.seed, 'seed', 0, Number.MAX_SAFE_INTEGER);
    this.dropLast = o.dropLast === undefined ? false : v.boolean(o.dropLast, 'dropLast');
    const n = this.datasetLength;
    const r = this.numReplicas;
    // max(0, ...): with fewer items than ranks, Math.ceil gives -0 where Python's gives 0.
    this.length = this.dropLast && n % r !== 0 ? Math.max(0, Math.ceil((n - r) / r)) : Math.ceil(n / r);
    this.totalSize = this.length * r;
  }

  /** The epoch whose permutation {@link DistributedSampler.indices} returns next (seed + epoch). */
  setEpoch(epoch: number): void {
    this.epoch = v.integer(epoch, 'epoch', 0, Number.MAX_SAFE_INTEGER - this.seed);
  }

  /** This rank's dataset indices for the current epoch, in the order to read them. */
  indices(): Int32Array {
    const n = this.datasetLength;
    let all: Int32Array;
    if (this.shuffle) {
      const perm = randperm(n, { seed: this.seed + this.epoch, dtype: 'int32' });
      try {
        all = perm.data() as Int32Array;
      } finally {
        perm.dispose();
      }
    } else {
      all = Int32Array.from({ length: n }, (_, i) => i);
    }
    // Position p of the padded (or cut) order is all[p % n]: padding repeats the order from its
    // start, as many times as it takes. This rank takes positions rank, rank + numReplicas, ...
    return Int32Array.from({ length: this.length }, (_, i) => all[(this.rank + i * this.numReplicas) % n]);
  }
}
