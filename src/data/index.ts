/**
 * Data, as `torchvision.datasets`, `torchvision.transforms` and `torch.utils.data`: the Dataset
 * interface, the CIFAR-10 dataset and its download, ImageFolder (your own images), subsets and
 * random splits, per-image transforms, and the DataLoader with batched augmentation on the device.
 *
 * @module
 */
export { CIFAR10 } from './cifar10';
export type { CIFAR10Options } from './cifar10';
export { channelStats, randomSplit, StoredImageDataset, Subset } from './dataset';
export type { ChannelStats, Dataset, ImageStore, Sample, StoreRows, StoredParts } from './dataset';
export { CIFAR10_MEAN, CIFAR10_STD, DataLoader } from './dataloader';
export type { AugmentOptions, Batch, DataLoaderOptions, Sampler } from './dataloader';
export { downloadCIFAR10, safeExtract } from './download';
export type { DownloadOptions } from './download';
export { ARCHIVE_NAME, BASE_FOLDER, CIFAR10_CLASSES, DEFAULT_MD5, DEFAULT_URL, IMAGE_BYTES, RECORD_BYTES } from './layout';
export { ImageFolder } from './image_folder';
export type { FolderSample, ImageFolderOptions, SkippedImage } from './image_folder';
export { Generator } from './random';
export { checkImage, Compose, Normalize, RandomCrop, RandomHorizontalFlip, ToTensor } from './transforms';
export type { Image, RandomCropOptions, RandomFlipOptions, Transform, TransformLike } from './transforms';
export { DistributedSampler } from './distributed_sampler';
export type { DistributedSamplerOptions } from './distributed_sampler';
