export { SGD } from './sgd';
export type { ParamGroup, SGDOptions, SGDStateDict } from './sgd';
export { CosineAnnealingLR, LRScheduler, OneCycleLR, StepLR } from './lr_scheduler';
export type { OneCycleOptions } from './lr_scheduler';
