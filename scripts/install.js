#!/usr/bin/env node
// Finds libtorch and builds the native addon. Run by `npm install` and by
// `npm run build:native -- --device cpu|cuda|npu`.
//
// libtorch comes from, in this order:
//   1. LIBTORCH or TORCH_INSTALL_PREFIX: a libtorch folder (official archive, a pip torch's torch/ folder)
//   2. the torch package of the python3 on PATH
//   3. `pip install torch==<pinned>` into .torch/ inside the project (git-ignored)
'use strict';

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const buildDir = path.join(root, 'build');
const addonPath = path.join(buildDir, 'Release', 'torchbridge.node');
const stampPath = path.join(buildDir, 'torchbridge-build.json');
const localTorch = path.join(root, '.torch');
const torchVersion = require('../package.json').torchbridge.torchVersion;
const python = process.env.PYTHON || 'python3';

class InstallError extends Error {
  constructor(message, solutions) {
    super(message);
    this.solutions = solutions;
  }
}

function parseArgs(argv) {
  const args = { device: process.env.TORCHBRIDGE_DEVICE || 'cpu', force: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--force') args.force = true;
    else if (a === '--device') args.device = argv[++i];
    else if (a.startsWith('--device=')) args.device = a.slice('--device='.length);
    else throw new InstallError(`Unknown argument '${a}'`, ['Usage: npm run build:native -- --device cpu|cuda|npu']);
  }
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

function findLibtorch() {
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

  const local = pythonTorch(localTorch);
  if (local && isLibtorch(local.prefix)) return { prefix: local.prefix, source: `.torch (torch ${local.version})` };

  console.log(`torchbridge: installing torch==${torchVersion} into .torch/ with pip`);
  const pip = run(python, ['-m', 'pip', 'install', '--quiet', '--retries', '0', '--timeout', '2',
    '--no-warn-script-location', '--target', localTorch, `torch==${torchVersion}`], { stdio: 'inherit' });
  const fresh = pip.status === 0 && pythonTorch(localTorch);
  if (fresh && isLibtorch(fresh.prefix)) return { prefix: fresh.prefix, source: `.torch (torch ${fresh.version})` };
  tried.push(`pip install torch==${torchVersion}: failed`);

  throw new InstallError(`libtorch was not found (${tried.join('; ')})`, [
    `pip install torch==${torchVersion}, then run npm install again`,
    'Download libtorch from pytorch.org, unpack it and set LIBTORCH=/path/to/libtorch',
    'Set TORCH_INSTALL_PREFIX to the torch/ folder of an existing Python install',
  ]);
}

function findTorchNpu() {
  let dir = process.env.TORCH_NPU_INSTALL_DIR;
  if (!dir) {
    const r = run(python, ['-c', 'import os, torch_npu; print(os.path.dirname(torch_npu.__file__))']);
    if (r.status === 0) dir = r.stdout.trim().split('\n').pop();
  }
  const missing = [];
  if (!dir || !fs.existsSync(path.join(dir, 'lib', 'libtorch_npu.so'))) missing.push('torch_npu');
  if (!process.env.ASCEND_TOOLKIT_HOME && !process.env.ASCEND_HOME_PATH) missing.push('the CANN environment');
  if (missing.length) {
    throw new InstallError(`--device npu needs ${missing.join(' and ')}, which ${missing.length > 1 ? 'were' : 'was'} not found`, [
      'Install CANN and source its set_env.sh (sets ASCEND_TOOLKIT_HOME)',
      'pip install torch_npu matching your torch version, or set TORCH_NPU_INSTALL_DIR to its folder (it holds lib/libtorch_npu.so)',
      'Build for another device: npm run build:native -- --device cpu',
    ]);
  }
  return dir;
}

function build(args) {
  const torch = findLibtorch();
  const hasCuda = fs.existsSync(path.join(torch.prefix, 'lib', 'libtorch_cuda.so'));
  if (args.device === 'cuda' && !hasCuda) {
    throw new InstallError(`--device cuda needs a CUDA build of libtorch, but ${torch.prefix} (${torch.source}) is CPU-only`, [
      'pip install a CUDA build of torch (e.g. from the cu12x wheel index) and run again',
      'Set LIBTORCH to an unpacked CUDA libtorch archive',
    ]);
  }
  const npuDir = args.device === 'npu' ? findTorchNpu() : null;
  const config = { device: args.device, libtorch: torch.prefix, torchNpu: npuDir, node: process.version };

  // A changed device or libtorch needs a clean configure; otherwise build incrementally.
  let clean = args.force || !fs.existsSync(stampPath);
  if (!clean) clean = fs.readFileSync(stampPath, 'utf8') !== JSON.stringify(config, null, 2);

  console.log(`torchbridge: building the addon for ${args.device} against libtorch from ${torch.source}`);
  const defs = [
    `--CDCMAKE_PREFIX_PATH=${path.join(torch.prefix, 'share', 'cmake')}`,
    `--CDTORCHBRIDGE_CUDA=${args.device === 'cuda' ? 'ON' : 'OFF'}`,
    `--CDTORCHBRIDGE_NPU=${args.device === 'npu' ? 'ON' : 'OFF'}`,
  ];
  if (npuDir) defs.push(`--CDTORCH_NPU_INSTALL_DIR=${npuDir}`);
  fs.mkdirSync(buildDir, { recursive: true });
  const logPath = path.join(buildDir, 'build.log');
  const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
  const verb = clean ? 'rebuild' : 'compile';
  const r = run(process.execPath, [cmakeJs, verb, '-O', 'build', ...defs], { cwd: root });
  fs.writeFileSync(logPath, `${r.stdout}\n${r.stderr}`);
  if (r.status !== 0 || !fs.existsSync(addonPath)) {
    const errors = `${r.stdout}\n${r.stderr}`.split('\n').filter((l) => /error|Error|not found/.test(l)).slice(0, 8);
    throw new InstallError(`the native build failed${errors.length ? ':\n  ' + errors.join('\n  ') : ''}\n  Full log: ${logPath}`, [
      'Install a C++17 compiler, cmake >= 3.18 and make or ninja (Debian: apt-get install g++ cmake ninja-build)',
      'Check that libtorch matches this platform and compiler ABI',
    ]);
  }
  fs.writeFileSync(stampPath, JSON.stringify(config, null, 2));
  console.log(`torchbridge: built ${path.relative(root, addonPath)}`);
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
