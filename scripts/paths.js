// Where torchbridge keeps what is shared by every app and clone of one user:
// pip-installed libtorch and downloaded datasets. The install script and the
// library (src/paths.ts) both read it from here.
'use strict';

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

/** TORCHBRIDGE_CACHE, else $XDG_CACHE_HOME/torchbridge, else ~/.cache/torchbridge. */
function cacheDir() {
  if (process.env.TORCHBRIDGE_CACHE) return path.resolve(process.env.TORCHBRIDGE_CACHE);
  return path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'torchbridge');
}

/**
 * The folder to put on PYTHONPATH so that python3 imports the torch the addon in
 * `buildDir` was built against (a pip install's torch/ folder), or null.
 */
function torchPythonPath(buildDir) {
  try {
    const { libtorch } = JSON.parse(fs.readFileSync(path.join(buildDir, 'torchbridge-build.json'), 'utf8'));
    return path.basename(libtorch) === 'torch' ? path.dirname(libtorch) : null;
  } catch {
    return null;
  }
}

module.exports = { cacheDir, torchPythonPath };
