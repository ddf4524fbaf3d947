// The package's own folder, and the per-user cache (see scripts/paths.js).
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The nearest folder above this file with a package.json (src/ under ts-node, dist/src/ once compiled). */
export function packageRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) return path.resolve(__dirname, '..', '..');
    dir = up;
  }
  return dir;
}

/** The per-user cache: TORCHBRIDGE_CACHE, else $XDG_CACHE_HOME/torchbridge, else ~/.cache/torchbridge. */
export function cacheDir(): string {
  // One rule, shared with the install script, which runs before any TypeScript is compiled.
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  return (require(path.join(packageRoot(), 'scripts', 'paths.js')) as { cacheDir(): string }).cacheDir();
}
