// The recipe's data-parallel mode. Every rank loads the same data, draws the same
// global batches (same seed, same order and augmentation) and trains its rows of
// each; dropout masks are drawn for the whole batch (withBatchShard) and gradients
// averaged by DistributedDataParallel. The ranks therefore compute what one process
// training the whole batch computes, and hold identical state: rank 0's checkpoint
// is the whole run's, and it resumes with any number of ranks.
import * as os from 'node:os';
import { parseDevice } from '../device';
import { DistributedDataParallel } from '../distributed/ddp';
import {
  allReduceBlocking, broadcast, destroyProcessGroup, getRank, getWorldSize, initProcessGroup, isInitialized,
} from '../distributed/group';
import { shardOf } from '../distributed/shard';
import { Module } from '../nn/module';
import { Tensor, tensor } from '../tensor';
import { Batch, DataParallelStep } from './loop';

/** Each number's largest value over the ranks (blocking). */
function maxOverRanks(values: number[]): number[] {
  const t = tensor(values, { dtype: 'float64' });
  try {
    allReduceBlocking(t, 'max');
    return t.toArray();
  } finally {
    t.dispose();
  }
}

export class DataParallelRun implements DataParallelStep {
  private ddp: DistributedDataParallel | null = null;

  private constructor(readonly rank: number, readonly worldSize: number, private readonly ownsGroup: boolean) {}

  /**
   * Joins the job that torchrun's environment variables describe (RANK, WORLD_SIZE, MASTER_ADDR,
   * MASTER_PORT) with the device's backend, unless this process has joined one already.
   */
  static async join(device: string): Promise<DataParallelRun> {
    const owns = !isInitialized();
    const type = parseDevice(device, 'device').type;
    if (owns) await initProcessGroup({ backend: type === 'cuda' ? 'nccl' : type === 'npu' ? 'hccl' : 'gloo' });
    return new DataParallelRun(getRank(), getWorldSize(), owns);
  }

  /** libtorch threads per rank when the config names none: this machine's cores shared by its ranks. */
  static threadsPerRank(): number {
    const local = Number(process.env.LOCAL_WORLD_SIZE ?? '1');
    return Math.max(1, Math.floor(os.availableParallelism() / (Number.isInteger(local) && local > 0 ? local : 1)));
  }

  /**
   * Checks that the ranks start from the same step (each resumed the same checkpoint) and that every
   * batch has a row for each rank, then broadcasts rank 0's weights and hooks the gradients.
   */
  async attach(model: Module, startStep: number, trainImages: number, batchSize: number): Promise<void> {
    const last = trainImages % batchSize;
    const smallest = Math.min(batchSize, trainImages, last === 0 ? batchSize : last);
    if (smallest < this.worldSize) {
      throw new Error(`Data parallel training over ${this.worldSize} ranks needs at least ${this.worldSize} images in every batch, but ` +
        `${trainImages} training images in batches of ${batchSize} leave a batch of ${smallest}: change the batch size or the number of images`);
    }
    const [latest, negEarliest] = maxOverRanks([startStep, -startStep]);
    if (latest !== -negEarliest) {
      throw new Error(`The ranks start from different steps (${-negEarliest} to ${latest}): each rank resumes from its own checkpoint ` +
        'directory, which must hold the same checkpoints on every machine (a shared folder, or a copy of rank 0\'s)');
    }
    this.ddp = await DistributedDataParallel.create(model);
  }

  /** This rank's rows of a global batch; the global batch's tensors are disposed. */
  shard(b: Batch): Batch {
    const shard = shardOf(b.inputs.shape[0], this.rank, this.worldSize);
    const inputs = b.inputs.narrow(0, shard.offset, shard.rows);
    const targets = b.targets.narrow(0, shard.offset, shard.rows);
    b.inputs.dispose();
    b.targets.dispose();
    return { inputs, targets, shard };
  }

  synchronizeGradients(): void {
    if (!this.ddp) throw new Error('synchronizeGradients: attach() the model first');
    this.ddp.synchronizeGradientsBlocking();
  }

  sumOverRanks(t: Tensor): void {
    allReduceBlocking(t, 'sum');
  }

  /** Whether `flag` is true on any rank (a stop asked for on one rank stops all at the same step). */
  anyRank(flag: boolean): boolean {
    return maxOverRanks([flag ? 1 : 0])[0] === 1;
  }

  /** Rank 0's numbers on every rank (rank 0 evaluates; the others wait here for its figures). */
  async fromRankZero(values: number[]): Promise<number[]> {
    const t = tensor(values, { dtype: 'float64' });
    try {
      await broadcast(t, 0);
      return t.toArray();
    } finally {
      t.dispose();
    }
  }

  /** Unhooks the gradients and leaves the process group if this run joined it. Idempotent. */
  dispose(): void {
    this.ddp?.unwrap();
    this.ddp = null;
    if (this.ownsGroup && isInitialized()) destroyProcessGroup();
  }
}
