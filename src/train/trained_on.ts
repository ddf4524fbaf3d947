// What a model was trained on: its class names, the normalisation of its inputs,
// their size and the model's layout. Saved with the weights (see checkpoint.ts), so
// that `test`, `predict` and Classifier rebuild the model and prepare images as the
// training run did. Weights without it are the reference's: CIFAR-10 and AlexNetModel.
import { CIFAR10_MEAN, CIFAR10_STD } from '../data/dataloader';
import { CIFAR10_CLASSES } from '../data/layout';
import { AlexNetModel } from '../models/alexnet';
import { TorchvisionAlexNet } from '../models/torchvision_alexnet';
import { Module } from '../nn/module';
import type { Value } from '../serialize';

/**
 * The model layouts a run trains: the reference's AlexNetModel for 32x32 inputs, or torchvision's
 * AlexNet (adaptive pooling) for 63x63 and larger.
 */
export type ModelKind = 'alexnet' | 'torchvision-alexnet';

/** What a model was trained on, as saved beside its weights. */
export interface TrainedOn {
  /** 'cifar10' or 'imagefolder'. */
  dataset: string;
  /** Class names, by output index. */
  classes: string[];
  /** Per-channel mean the inputs were normalised with. */
  mean: number[];
  /** Per-channel standard deviation the inputs were normalised with. */
  std: number[];
  /** Side of the square input images. */
  imageSize: number;
  /** The model's layout. */
  model: ModelKind;
  /** An image folder's train/validation split: the seed and validation fraction that `test` repeats. */
  split?: {
    /** Seed of the split's Generator. */
    seed: number;
    /** Fraction of the images held out for validation. */
    valSplit: number;
  };
}

/** The reference's: CIFAR-10's classes and normalisation, 32x32 inputs, AlexNetModel. For weights saved without a record. */
export const CIFAR10_TRAINED_ON: Readonly<TrainedOn> = Object.freeze({
  dataset: 'cifar10', classes: CIFAR10_CLASSES.slice(), mean: CIFAR10_MEAN.slice(), std: CIFAR10_STD.slice(), imageSize: 32, model: 'alexnet',
});

/** The smallest input torchvision's AlexNet takes: its features leave at least 1x1 from 63x63. */
export const MIN_TORCHVISION_SIZE = 63;

/**
 * The model layout for an input size: AlexNetModel (built for exactly 32x32) at 32, torchvision's
 * AlexNet from 63 up; null for the sizes neither takes.
 */
export function modelKindFor(imageSize: number): ModelKind | null {
  if (imageSize === 32) return 'alexnet';
  return imageSize >= MIN_TORCHVISION_SIZE ? 'torchvision-alexnet' : null;
}

/** A fresh model of this kind with one output per class. */
export function buildModel(kind: ModelKind, numClasses: number): Module {
  return kind === 'alexnet' ? new AlexNetModel({ numClasses }) : new TorchvisionAlexNet({ numClasses });
}

/** A saved record read back, or null when it is not a whole one (it is then ignored, as for old weights). */
export function parseTrainedOn(x: unknown): TrainedOn | null {
  const o = x as TrainedOn;
  const nums = (a: unknown, n: number) => Array.isArray(a) && a.length === n && a.every((e) => typeof e === 'number' && Number.isFinite(e));
  const ok = typeof x === 'object' && x !== null && typeof o.dataset === 'string' && Array.isArray(o.classes) && o.classes.length > 0 &&
    o.classes.every((c) => typeof c === 'string') && nums(o.mean, 3) && nums(o.std, 3) && Number.isInteger(o.imageSize) &&
    modelKindFor(o.imageSize) === o.model;
  return ok ? o : null;
}

/** The record as a serializable value. */
export function trainedOnValue(t: TrainedOn): Value {
  return JSON.parse(JSON.stringify(t)) as Value;
}
