/**
 * Layers and losses, as `torch.nn`: {@link Module}, {@link Parameter}, the layers AlexNet needs
 * (Conv2d, Linear, MaxPool2d, ...), BatchNorm2d and CrossEntropyLoss, plus `functional` and `init`.
 *
 * @module
 */
export * from './layers';
export { Module, Parameter } from './module';
export type { LoadResult } from './module';
export type { ForwardPlan, PlanOp, PlanStep } from './plan';
export { DistributedDataParallel } from '../distributed/ddp';
export type { DistributedDataParallelOptions, GradientSyncStats } from '../distributed/ddp';
export * as functional from './functional';
export * as init from './init';
