/**
 * Optimizers and learning-rate schedulers, as `torch.optim` and `torch.optim.lr_scheduler`: SGD,
 * Adam, AdamW, OneCycleLR, StepLR and CosineAnnealingLR, with torch's updates and state dicts.
 *
 * @module
 */
export { Optimizer } from './optimizer';
export type { OptimizerStateDict, ParamGroup } from './optimizer';
export { SGD } from './sgd';
export type { SGDConstructorOptions, SGDOptions, SGDParamGroup, SGDStateDict } from './sgd';
export { Adam, AdamW } from './adam';
export type { AdamOptions, AdamParamGroup } from './adam';
export { CosineAnnealingLR, LRScheduler, OneCycleLR, StepLR } from './lr_scheduler';
export type { OneCycleOptions } from './lr_scheduler';
