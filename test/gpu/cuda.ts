// Shared by the test:gpu suite: the CUDA check every file runs first. Nothing is
// skipped: without CUDA every test fails with this message.
import { backends } from '../../src/device';
import * as fs from 'node:fs';
import { devData as devDataDir } from '../helpers/data';

export function requireCuda(): void {
  const b = backends();
  if (b.compiled.cuda && b.available.cuda && b.cudaDeviceCount > 0) return;
  throw new Error(
    `test:gpu needs CUDA, and this addon has none (compiled with CUDA: ${b.compiled.cuda}, CUDA available: ${b.available.cuda}, ` +
      `${b.cudaDeviceCount} device(s), libtorch ${b.libtorch}). Run it on a machine with an NVIDIA GPU, after ` +
      '`npm run build:native -- --device cuda` against a CUDA build of libtorch (e.g. pip\'s CUDA torch).',
  );
}

/** The dev split (TORCHBRIDGE_DATA overrides); throws when it is not there. */
export function devData(): string {
  const dir = devDataDir;
  if (!fs.existsSync(dir)) throw new Error(`test:gpu needs the CIFAR-10 dev split at ${dir} (or set TORCHBRIDGE_DATA)`);
  return dir;
}
