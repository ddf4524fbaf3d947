/**
 * Training on several processes and machines on c10d, PyTorch's own distributed engine, as
 * `torch.distributed`: {@link initProcessGroup} (defaults from torchrun's environment variables),
 * collectives ({@link allReduce}, {@link broadcast}, {@link barrier}) and
 * {@link DistributedDataParallel}, and {@link launch} to start a job's local ranks. Gloo (CPU tensors) is built where gloo's headers were found at
 * build time; see {@link info}. Python ranks (`torch.distributed.init_process_group`) can join the
 * same group.
 *
 * @module
 */
export {
  allReduce, barrier, broadcast, destroyProcessGroup, getBackend, getLocalRank, getRank, getWorldSize, info, initProcessGroup,
  isAvailable, isInitialized,
} from './group';
export type { Backend, DistributedInfo, InitProcessGroupOptions, ReduceOp } from './group';
export { DistributedDataParallel } from './ddp';
export type { DistributedDataParallelOptions, GradientSyncStats } from './ddp';
export { freePort, launch } from './launch';
export { shardOf, withBatchShard } from './shard';
export type { BatchShard } from './shard';
export type { LaunchOptions, RankExit } from './launch';
