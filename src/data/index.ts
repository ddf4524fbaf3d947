/**
 * Data, as `torchvision.datasets`, `torchvision.transforms` and `torch.utils.data`: the CIFAR-10
 * dataset and its download, per-image transforms, and the DataLoader with batched augmentation on
 * the device.
 *
 * @module
 */
export { CIFAR10 } from './cifar10';
export type { CIFAR10Options, Sample } from './cifar10';
export { CIFAR10_MEAN, CIFAR10_STD, DataLoader } from './dataloader';
export type { AugmentOptions, Batch, DataLoaderOptions } from './dataloader';
export { downloadCIFAR10, safeExtract } from './download';
export type { DownloadOptions } from './download';
export { ARCHIVE_NAME, BASE_FOLDER, CIFAR10_CLASSES, DEFAULT_MD5, DEFAULT_URL, IMAGE_BYTES, RECORD_BYTES } from './layout';
export { Generator } from './random';
export { checkImage, Compose, Normalize, RandomCrop, RandomHorizontalFlip, ToTensor } from './transforms';
export type { Image, RandomCropOptions, RandomFlipOptions, Transform, TransformLike } from './transforms';
export { DistributedSampler } from './distributed_sampler';
export type { DistributedSamplerOptions } from './distributed_sampler';
