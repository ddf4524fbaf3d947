#!/usr/bin/env node
// Finds libtorch and builds the native addon. Run by `npm install` and by
// `npm run build:native -- --device cpu|cuda|npu [--build-dir DIR]`.
//
// libtorch comes from, in this order:
//   1. LIBTORCH or TORCH_INSTALL_PREFIX: a libtorch folder (official archive, a pip torch's torch/ folder)
//   2. the torch package of the python3 on PATH
//   3. `pip install torch==<pinned>` into the per-user cache
//      (~/.cache/torchbridge/libtorch-<version>-<cpu|cuda>), shared by every app and clone
//
// A built addon is cached there too, by a hash of its sources and build inputs,
// so a second app on the machine copies it instead of compiling again.
'use strict';

const { spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { cacheDir } = require('./paths');

const root = path.resolve(__dirname, '..');
const pkg = require('../package.json');
const torchVersion = pkg.torchbridge.torchVersion;
const python = process.env.PYTHON || 'python3';

class InstallError extends Error {
  constructor(message, solutions) {
    super(message);
    this.solutions = solutions;
  }
}

function parseArgs(argv) {
  const args = {
    device: process.env.TORCHBRIDGE_DEVICE || 'cpu',
    force: false,
    // Another folder keeps the default addon in build/ untouched (tests build npu and cuda variants there).
    buildDir: process.env.TORCHBRIDGE_BUILD_DIR || 'build',
  };
  const usage = 'Usage: npm run build:native -- --device cpu|cuda|npu [--build-dir DIR]';
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--force') args.force = true;
    else if (a === '--device') args.device = argv[++i];
    else if (a.startsWith('--device=')) args.device = a.slice('--device='.length);
    else if (a === '--build-dir') args.buildDir = argv[++i];
    else if (a.startsWith('--build-dir=')) args.buildDir = a.slice('--build-dir='.length);
    else throw new InstallError(`Unknown argument '${a}'`, [usage]);
  }
  if (!args.buildDir) throw new InstallError('Expected a folder for --build-dir', [usage]);
  args.buildDir = path.resolve(root, args.buildDir);
  if (!['cpu', 'cuda', 'npu'].includes(args.device)) {
    throw new InstallError(`Expected one of cpu, cuda, npu for --device but received '${args.device}'`, [
      'Usage: npm run build:native -- --device cpu|cuda|npu',
    ]);
  }
  return args;
}

function run(cmd, args, opts = {}) {
  return spawnSync(cmd, args, { encoding: 'utf8', ...opts });
}

// Asks a python interpreter (optionally with extra PYTHONPATH) about its torch.
function pythonTorch(extraPath) {
  const env = { ...process.env };
  if (extraPath) env.PYTHONPATH = [extraPath, env.PYTHONPATH].filter(Boolean).join(path.delimiter);
  const r = run(python, ['-c', [
    'import json, os, torch',
    'print(json.dumps({"prefix": os.path.dirname(torch.__file__), "version": torch.__version__,',
    ' "cuda": torch.version.cuda}))',
  ].join('\n')], { env });
  if (r.status !== 0) return null;
  try {
    return JSON.parse(r.stdout.trim().split('\n').pop());
  } catch {
    return null;
  }
}

function isLibtorch(dir) {
  return dir && fs.existsSync(path.join(dir, 'share', 'cmake', 'Torch', 'TorchConfig.cmake'));
}

function findLibtorch(device) {
  const tried = [];
  for (const name of ['LIBTORCH', 'TORCH_INSTALL_PREFIX']) {
    const dir = process.env[name];
    if (!dir) continue;
    if (isLibtorch(dir)) return { prefix: path.resolve(dir), source: `$${name}` };
    throw new InstallError(`${name}=${dir} is not a libtorch folder (no share/cmake/Torch/TorchConfig.cmake)`, [
      `Point ${name} at the unpacked libtorch archive, or at the torch/ folder of a pip install`,
      `Unset ${name} to use python3's torch or a local pip install`,
    ]);
  }
  tried.push('LIBTORCH / TORCH_INSTALL_PREFIX: not set');

  const sys = pythonTorch();
  if (sys && isLibtorch(sys.prefix)) return { prefix: sys.prefix, source: `${python} (torch ${sys.version})` };
  tried.push(`${python}: no torch package`);

  // One pip install per user, version and variant: every app and clone shares it.
  const variant = device === 'cuda' ? 'cuda' : 'cpu';
  const cached = path.join(cacheDir(), `libtorch-${torchVersion}-${variant}`);
  const have = fs.existsSync(cached) && pythonTorch(cached);
  if (have && isLibtorch(have.prefix)) return { prefix: have.prefix, source: `the cache, ${cached} (torch ${have.version})` };

  // Installed under a temporary name and renamed, so a failed or concurrent install never leaves half a torch.
  const staging = `${cached}.tmp-${process.pid}`;
  console.log(`torchbridge: installing torch==${torchVersion} into ${cached} with pip (once per user)`);
  fs.mkdirSync(path.dirname(cached), { recursive: true });
  const pip = run(python, ['-m', 'pip', 'install', '--quiet', '--retries', '0', '--timeout', '2',
    '--no-warn-script-location', '--target', staging, `torch==${torchVersion}`], { stdio: 'inherit' });
  if (pip.status === 0) {
    try {
      fs.renameSync(staging, cached);
    } catch (e) {
      if (!fs.existsSync(cached)) throw e; // another install finished first: use that one
    }
  }
  fs.rmSync(staging, { recursive: true, force: true });
  const fresh = pip.status === 0 && pythonTorch(cached);
  if (fresh && isLibtorch(fresh.prefix)) return { prefix: fresh.prefix, source: `the cache, ${cached} (torch ${fresh.version})` };
  tried.push(`pip install torch==${torchVersion}: failed`);

  throw new InstallError(`libtorch was not found (${tried.join('; ')})`, [
    `pip install torch==${torchVersion}, then run npm install again`,
    'Download libtorch from pytorch.org, unpack it and set LIBTORCH=/path/to/libtorch',
    'Set TORCH_INSTALL_PREFIX to the torch/ folder of an existing Python install',
  ]);
}

// torch_npu comes in two forms, and each has its own route into the addon:
//   libtorch_npu: a C++ build made with Ascend's build_libtorch_npu.py. It exports
//                 torch_npu::init_npu, so the addon links it and calls that.
//   wheel:        `pip install torch_npu`. Its library has no init_npu and needs a host
//                 Python, so the addon loads that Python's libpython when 'npu' is first
//                 used, imports torch_npu, and drives the device through libtorch alone.
function exportsInitNpu(lib) {
  const r = run('nm', ['-DC', '--defined-only', lib]);
  return r.status === 0 && /torch_npu::init_npu\(/.test(r.stdout);
}

// What a python interpreter says about itself and its torch_npu, without importing
// torch_npu (the real one needs CANN's libraries to import).
function pythonForWheel() {
  const r = run(python, ['-c', [
    'import importlib.util, json, os, sys, sysconfig',
    's = importlib.util.find_spec("torch_npu")',
    'lib = sysconfig.get_config_var("INSTSONAME") or ""',
    'print(json.dumps({"executable": sys.executable, "version": sys.version.split()[0],',
    ' "shared": bool(sysconfig.get_config_var("Py_ENABLE_SHARED")),',
    ' "libpython": os.path.join(sysconfig.get_config_var("LIBDIR") or "", lib) if lib else "",',
    ' "torchNpu": os.path.dirname(s.origin) if s and s.origin else None}))',
  ].join('\n')]);
  if (r.status !== 0) return null;
  try {
    return JSON.parse(r.stdout.trim().split('\n').pop());
  } catch {
    return null;
  }
}

const npuSolutions = [
  'Install CANN and source its set_env.sh (sets ASCEND_TOOLKIT_HOME)',
  'pip install torch_npu matching your torch version into the python3 on PATH (or set PYTHON), for the wheel route',
  'Or set TORCH_NPU_INSTALL_DIR to a libtorch_npu built with build_libtorch_npu.py (it holds lib/libtorch_npu.so and include/), for the libtorch_npu route',
  'Build for another device: npm run build:native -- --device cpu',
];

function wheelRoute(dir, torch) {
  const py = pythonForWheel();
  if (!py) throw new InstallError(`the wheel route needs the python that has torch_npu, but ${python} did not run`, npuSolutions);
  if (!py.shared || !fs.existsSync(py.libpython)) {
    throw new InstallError(`the wheel route loads libpython into Node, but ${py.executable} (Python ${py.version}) has no shared libpython` +
      (py.libpython ? ` (${py.libpython} is missing)` : ''), [
      'Use a Python built with --enable-shared (Debian\'s python3, conda and pyenv with PYTHON_CONFIGURE_OPTS=--enable-shared are)',
      'Point PYTHON at such an interpreter that has torch and torch_npu',
    ]);
  }
  // One process, one libtorch: the addon must use the torch that torch_npu was built for.
  const torchOfPython = pythonTorch();
  if (!torchOfPython || path.resolve(torchOfPython.prefix) !== path.resolve(torch.prefix)) {
    throw new InstallError(`the wheel route needs the libtorch of ${py.executable}'s torch, but the build found ${torch.prefix} (${torch.source})`, [
      'Unset LIBTORCH and TORCH_INSTALL_PREFIX, so that the build uses the torch that torch_npu belongs to',
      `Install torch and torch_npu into ${py.executable}`,
    ]);
  }
  return { route: 'wheel', dir, python: py.executable, libpython: py.libpython };
}

function findTorchNpu(torch) {
  const dir = process.env.TORCH_NPU_INSTALL_DIR;
  if (dir) {
    const lib = path.join(dir, 'lib', 'libtorch_npu.so');
    if (!fs.existsSync(lib)) {
      throw new InstallError(`TORCH_NPU_INSTALL_DIR=${dir} has no lib/libtorch_npu.so`, npuSolutions);
    }
    if (exportsInitNpu(lib)) {
      if (!fs.existsSync(path.join(dir, 'include', 'torch_npu', 'csrc', 'libs', 'init_npu.h'))) {
        throw new InstallError(`TORCH_NPU_INSTALL_DIR=${dir} has libtorch_npu.so but not include/torch_npu/csrc/libs/init_npu.h`, npuSolutions);
      }
      return { route: 'libtorch_npu', dir };
    }
    if (fs.existsSync(path.join(dir, '__init__.py'))) return wheelRoute(dir, torch);
    throw new InstallError(`${lib} does not export torch_npu::init_npu, and ${dir} is not the torch_npu Python package`, npuSolutions);
  }
  const py = pythonForWheel();
  if (py && py.torchNpu && fs.existsSync(path.join(py.torchNpu, 'lib', 'libtorch_npu.so'))) return wheelRoute(py.torchNpu, torch);
  const cann = Boolean(process.env.ASCEND_TOOLKIT_HOME || process.env.ASCEND_HOME_PATH);
  throw new InstallError(`--device npu needs torch_npu${cann ? ', which was' : ' and the CANN environment, which were'} not found ` +
    `(TORCH_NPU_INSTALL_DIR is not set; ${python} has no torch_npu package)`, npuSolutions);
}

// gloo's headers for the distributed module (CMakeLists.txt checks that they compile). The wheel has
// c10d's headers and libtorch has gloo compiled in, but gloo's own headers come from elsewhere.
// npu builds leave distributed off (torch_npu's hccl is not wired yet).
function findGloo(device) {
  if (device === 'npu') return null;
  const env = process.env.GLOO_INCLUDE_DIR;
  const candidates = env ? [[env, '$GLOO_INCLUDE_DIR']] : [['/usr/include', null], ['/usr/local/include', null]];
  for (const [dir, source] of candidates) {
    const header = path.join(dir, 'gloo', 'config.h');
    if (!fs.existsSync(header)) continue;
    let from = source;
    if (!from) {
      const owner = run('dpkg-query', ['-S', header]);
      const pkgName = owner.status === 0 ? owner.stdout.split(':')[0].trim() : '';
      const version = pkgName ? run('dpkg-query', ['-W', '-f=${Version}', pkgName]) : null;
      from = pkgName ? `Debian package ${pkgName} ${version && version.status === 0 ? version.stdout.trim() : ''}`.trim() : 'the system';
    }
    const { size, mtimeMs } = fs.statSync(header);
    return { dir: path.resolve(dir), source: from, header: { size, mtimeMs } };
  }
  return null;
}

function build(args) {
  const torch = findLibtorch(args.device);
  const hasCuda = fs.existsSync(path.join(torch.prefix, 'lib', 'libtorch_cuda.so'));
  if (args.device === 'cuda' && !hasCuda) {
    throw new InstallError(`--device cuda needs a CUDA build of libtorch, but ${torch.prefix} (${torch.source}) is CPU-only`, [
      'pip install a CUDA build of torch (e.g. from the cu12x wheel index) and run again',
      'Set LIBTORCH to an unpacked CUDA libtorch archive',
    ]);
  }
  const npu = args.device === 'npu' ? findTorchNpu(torch) : null;
  const gloo = findGloo(args.device);
  const config = { device: args.device, libtorch: torch.prefix, npu, gloo, node: process.version };
  const buildDir = args.buildDir;
  const addonPath = path.join(buildDir, 'Release', 'torchbridge.node');
  const stampPath = path.join(buildDir, 'torchbridge-build.json');

  // A changed device or libtorch needs a clean configure; otherwise build incrementally.
  let clean = args.force || !fs.existsSync(stampPath);
  if (!clean) clean = fs.readFileSync(stampPath, 'utf8') !== JSON.stringify(config, null, 2);

  const cachedAddon = path.join(cacheDir(), 'addons', addonKey(config), 'torchbridge.node');
  if (!args.force && fs.existsSync(cachedAddon)) {
    copyAtomic(cachedAddon, addonPath);
    const now = new Date();
    fs.utimesSync(path.dirname(cachedAddon), now, now); // recently used: pruned last
    fs.writeFileSync(stampPath, JSON.stringify(config, null, 2));
    console.log(`torchbridge: using the addon built before from these sources for ${args.device} against libtorch from ${torch.source}`);
    console.log(`torchbridge: copied ${cachedAddon} (npm run build:native compiles it again)`);
    console.log(`torchbridge: distributed: ${gloo ? `compiled with gloo headers from ${gloo.dir} (${gloo.source}) if they passed the check; backends().distributed says` : 'off (no gloo headers; see README "Distributed (c10d)")'}`);
    return;
  }

  console.log(`torchbridge: building the addon for ${args.device} against libtorch from ${torch.source}`);
  const defs = [
    `--CDCMAKE_PREFIX_PATH=${path.join(torch.prefix, 'share', 'cmake')}`,
    `--CDTORCHBRIDGE_CUDA=${args.device === 'cuda' ? 'ON' : 'OFF'}`,
    `--CDTORCHBRIDGE_NPU=${args.device === 'npu' ? 'ON' : 'OFF'}`,
  ];
  if (gloo) {
    console.log(`torchbridge: distributed: gloo headers from ${gloo.dir} (${gloo.source})`);
    defs.push(`--CDGLOO_INCLUDE_DIR=${gloo.dir}`);
  }
  if (npu) {
    console.log(`torchbridge: npu route: ${npu.route} (torch_npu at ${npu.dir}${npu.python ? `, python ${npu.python}` : ''})`);
    if (!process.env.ASCEND_TOOLKIT_HOME && !process.env.ASCEND_HOME_PATH) {
      console.log('torchbridge: note: CANN\'s environment is not set; torch_npu needs it at run time (source set_env.sh)');
    }
    defs.push(`--CDTORCHBRIDGE_NPU_ROUTE=${npu.route}`, `--CDTORCH_NPU_INSTALL_DIR=${npu.dir}`);
    if (npu.route === 'wheel') defs.push(`--CDTORCHBRIDGE_PYTHON=${npu.python}`, `--CDTORCHBRIDGE_LIBPYTHON=${npu.libpython}`);
  }
  fs.mkdirSync(buildDir, { recursive: true });
  const logPath = path.join(buildDir, 'build.log');
  const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
  const verb = clean ? 'rebuild' : 'compile';
  const r = run(process.execPath, [cmakeJs, verb, '-O', buildDir, ...defs], { cwd: root });
  fs.writeFileSync(logPath, `${r.stdout}\n${r.stderr}`);
  if (r.status !== 0 || !fs.existsSync(addonPath)) {
    const errors = `${r.stdout}\n${r.stderr}`.split('\n').filter((l) => /error|Error|not found/.test(l)).slice(0, 8);
    throw new InstallError(`the native build failed${errors.length ? ':\n  ' + errors.join('\n  ') : ''}\n  Full log: ${logPath}`, [
      'Install a C++17 compiler, cmake >= 3.18 and make or ninja (Debian: apt-get install g++ cmake ninja-build)',
      'Check that libtorch matches this platform and compiler ABI',
    ]);
  }
  fs.writeFileSync(stampPath, JSON.stringify(config, null, 2));
  // CMakeLists.txt's verdict on the distributed module: built, or off and why.
  const verdict = /torchbridge-distributed: (.*)/.exec(r.stdout);
  if (verdict) console.log(`torchbridge: distributed: ${verdict[1]}`);
  try {
    copyAtomic(addonPath, cachedAddon);
    pruneAddonCache(path.dirname(path.dirname(cachedAddon)), 10);
  } catch (e) {
    console.log(`torchbridge: note: could not cache the addon in ${cachedAddon}: ${e.message}`);
  }
  console.log(`torchbridge: built ${addonPath.startsWith(root + path.sep) ? path.relative(root, addonPath) : addonPath}`);
  if (path.resolve(buildDir) !== path.join(root, 'build')) {
    console.log(`torchbridge: load it with TORCHBRIDGE_ADDON=${addonPath}`);
  }
}

// A key for one build: the addon's sources, the build inputs, and the libraries it links.
function addonKey(config) {
  const h = crypto.createHash('sha256');
  const stat = (f) => (fs.existsSync(f) ? (({ size, mtimeMs }) => ({ size, mtimeMs }))(fs.statSync(f)) : null);
  const { node, ...inputs } = config; // an N-API addon runs on any Node with its API version
  h.update(JSON.stringify({
    torchbridge: pkg.version, inputs, platform: process.platform, arch: process.arch,
    nodeAddonApi: require('node-addon-api/package.json').version,
    libtorch: stat(path.join(config.libtorch, 'lib', 'libtorch_cpu.so')),
    torchNpu: config.npu ? stat(path.join(config.npu.dir, 'lib', 'libtorch_npu.so')) : null,
  }));
  const sources = ['CMakeLists.txt', ...fs.readdirSync(path.join(root, 'binding')).sort().map((f) => path.join('binding', f))];
  for (const f of sources) h.update(`${f}\0`).update(fs.readFileSync(path.join(root, f)));
  return h.digest('hex').slice(0, 20);
}

// Keeps the newest `keep` cached builds (each build of changed sources adds one).
function pruneAddonCache(dir, keep) {
  const entries = fs.readdirSync(dir).map((name) => ({ name, time: fs.statSync(path.join(dir, name)).mtimeMs }));
  entries.sort((a, b) => b.time - a.time);
  for (const { name } of entries.slice(keep)) fs.rmSync(path.join(dir, name), { recursive: true, force: true });
}

// Copies to a temporary name, then renames: a reader never sees half a file.
function copyAtomic(from, to) {
  fs.mkdirSync(path.dirname(to), { recursive: true });
  const tmp = `${to}.tmp-${process.pid}`;
  fs.copyFileSync(from, tmp);
  fs.renameSync(tmp, to);
}

// The TypeScript sources ship compiled in a published package; in a clone, compile them.
function compileTypeScript() {
  let tsc;
  try {
    tsc = require.resolve('typescript/bin/tsc');
  } catch {
    return;
  }
  if (!fs.existsSync(path.join(root, 'tsconfig.json'))) return;
  const r = run(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.json')], { cwd: root });
  if (r.status !== 0) {
    throw new InstallError(`compiling the TypeScript sources failed:\n${(r.stdout + r.stderr).split('\n').slice(0, 10).join('\n')}`, [
      'Run npx tsc -p . to see every error',
    ]);
  }
}

try {
  build(parseArgs(process.argv.slice(2)));
  compileTypeScript();
} catch (e) {
  if (!(e instanceof InstallError)) throw e;
  console.error(`\ntorchbridge: ${e.message}\n\nPossible solutions:\n${e.solutions.map((s) => `- ${s}`).join('\n')}\n`);
  process.exit(1);
}
