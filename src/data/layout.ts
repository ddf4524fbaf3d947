// The CIFAR-10 binary layout that cifar-10-binary.tar.gz unpacks to, and the cheap
// (stat-only) checks shared by the loader and the downloader.
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The folder the archive unpacks to, under a dataset's root. */
export const BASE_FOLDER = 'cifar-10-batches-bin';
export const TRAIN_FILES = ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin'];
export const TEST_FILES = ['test_batch.bin'];
export const META_FILE = 'batches.meta.txt';
export const ALL_FILES = [...TRAIN_FILES, ...TEST_FILES, META_FILE];

/**
 * Bytes of one image in a binary batch. One record is a label byte, then 1024 red, 1024 green and
 * 1024 blue bytes (32x32 row-major each).
 */
export const IMAGE_BYTES = 3 * 32 * 32;
/** Bytes per record in a binary batch: the label byte and the image. */
export const RECORD_BYTES = 1 + IMAGE_BYTES;
export const NUM_CLASSES = 10;
/** CIFAR-10's class names by label, as batches.meta.txt lists them. */
export const CIFAR10_CLASSES: readonly string[] = Object.freeze([
  'airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck',
]);

/** The official archive's file name. */
export const ARCHIVE_NAME = 'cifar-10-binary.tar.gz';
/** Where the official archive is downloaded from. */
export const DEFAULT_URL = 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz';
/** MD5 of the official archive, checked after every download. */
export const DEFAULT_MD5 = 'c32a1d4ab5d03f1284b67883e8d87530';

/** What to tell a user whose files are missing: where they go and how to get them. */
export function placementHelp(root: string): string {
  const r = path.resolve(root);
  const dir = path.join(r, BASE_FOLDER);
  return (
    `Expected the CIFAR-10 binary files in ${dir}${path.sep} (${TRAIN_FILES.join(', ')}, ${TEST_FILES.join(', ')}, ${META_FILE}). ` +
    `Pass download: true to fetch them, or download ${DEFAULT_URL} yourself and unpack it in ${r} (tar -xzf ${ARCHIVE_NAME} -C ${r}).`
  );
}

/** What to tell a user whose download failed: how to put the files there by hand. */
export function manualHelp(root: string): string {
  const r = path.resolve(root);
  return (
    `Without network access, put the files there by hand: download ${DEFAULT_URL} on another machine, copy it here and unpack it ` +
    `in ${r} (tar -xzf ${ARCHIVE_NAME} -C ${r}), so that ${path.join(r, BASE_FOLDER)}${path.sep} holds ` +
    `${TRAIN_FILES.join(', ')}, ${TEST_FILES.join(', ')} and ${META_FILE}. A mirror can be set with TORCHBRIDGE_CIFAR10_URL or the url option.`
  );
}

/** Why a binary batch of this size cannot be valid, or null if it can. */
export function sizeProblem(size: number): string | null {
  if (size === 0) return 'is empty (0 bytes)';
  if (size % RECORD_BYTES !== 0) {
    const whole = Math.ceil(size / RECORD_BYTES);
    return (
      `is truncated: it has ${size} bytes, not a whole number of ${RECORD_BYTES}-byte records (1 label byte + ${IMAGE_BYTES} pixel bytes); ` +
      `expected ${whole * RECORD_BYTES} bytes for ${whole} records (an official batch holds 10000 records, ${10000 * RECORD_BYTES} bytes)`
    );
  }
  return null;
}

/**
 * Stat-only check of files in dir: one message per missing or badly sized file.
 * Labels are checked when the data is read.
 */
export function fileProblems(dir: string, files: readonly string[]): { missing: string[]; bad: string[] } {
  const missing: string[] = [];
  const bad: string[] = [];
  for (const name of files) {
    const file = path.join(dir, name);
    let st: fs.Stats;
    try {
      st = fs.statSync(file);
    } catch {
      missing.push(name);
      continue;
    }
    if (!st.isFile()) bad.push(`${file} is not a regular file`);
    else if (name === META_FILE) {
      if (st.size === 0) bad.push(`${file} is empty (0 bytes)`);
    } else {
      const problem = sizeProblem(st.size);
      if (problem) bad.push(`${file} ${problem}`);
    }
  }
  return { missing, bad };
}
