// Where the tests find the CIFAR-10 development copy: $TORCHBRIDGE_DATA (a folder
// holding cifar-10-batches-bin/) when set, else ../shared/datasets/cifar10-dev
// next to the repository (or shared/datasets/cifar10-dev inside it, where that
// exists instead). Every test and fixture that reads the data takes it from here.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from './python';

function find(): string {
  const fromEnv = process.env.TORCHBRIDGE_DATA;
  if (fromEnv) return path.resolve(fromEnv);
  const beside = path.resolve(repoRoot, '..', 'shared', 'datasets', 'cifar10-dev');
  const inside = path.resolve(repoRoot, 'shared', 'datasets', 'cifar10-dev');
  const has = (p: string) => fs.existsSync(path.join(p, 'cifar-10-batches-bin', 'test_batch.bin'));
  return !has(beside) && has(inside) ? inside : beside;
}

/** The dev data folder (holding cifar-10-batches-bin/). */
export const devData = find();
