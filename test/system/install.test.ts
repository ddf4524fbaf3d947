// scripts/install.js: a device that can't be built here stops with a short,
// actionable message ("Possible solutions"), not a compiler error, and leaves
// the existing addon alone.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { repoRoot } from '../helpers/python';

const script = path.join(repoRoot, 'scripts', 'install.js');
const addon = path.join(repoRoot, 'build', 'Release', 'torchbridge.node');

function install(args: string[], env: NodeJS.ProcessEnv = {}) {
  const clean = { ...process.env };
  delete clean.TORCH_NPU_INSTALL_DIR;
  delete clean.ASCEND_TOOLKIT_HOME;
  delete clean.ASCEND_HOME_PATH;
  delete clean.TORCHBRIDGE_BUILD_DIR;
  Object.assign(clean, env);
  return spawnSync(process.execPath, [script, ...args], { encoding: 'utf8', env: clean });
}

test('--device npu without torch_npu says what to install and which variable to set', (t) => {
  const before = fs.statSync(addon).mtimeMs;
  const r = install(['--device', 'npu']);
  t.is(r.status, 1);
  t.regex(r.stderr, /--device npu needs torch_npu and the CANN environment/);
  t.regex(r.stderr, /Possible solutions:/);
  t.regex(r.stderr, /TORCH_NPU_INSTALL_DIR/);
  t.regex(r.stderr, /ASCEND_TOOLKIT_HOME/);
  t.notRegex(r.stderr + r.stdout, /error:|CMake Error/, 'no compiler or CMake output');
  t.is(fs.statSync(addon).mtimeMs, before, 'the existing addon is untouched');
});

test('--device cuda builds into a folder of its own, or is refused on a CPU-only libtorch', (t) => {
  // On a machine whose libtorch has CUDA this is a real build: never into build/.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tb-cuda-build-'));
  try {
    const before = fs.statSync(addon).mtimeMs;
    const r = install(['--device', 'cuda', '--build-dir', dir]);
    t.is(fs.statSync(addon).mtimeMs, before, 'the cpu addon in build/ is untouched');
    const stamp = JSON.parse(fs.readFileSync(path.join(repoRoot, 'build', 'torchbridge-build.json'), 'utf8'));
    if (fs.existsSync(path.join(stamp.libtorch, 'lib', 'libtorch_cuda.so'))) {
      t.is(r.status, 0, r.stderr);
      t.true(fs.existsSync(path.join(dir, 'Release', 'torchbridge.node')));
    } else {
      t.is(r.status, 1);
      t.regex(r.stderr, /--device cuda needs a CUDA build of libtorch/);
      t.regex(r.stderr, /Possible solutions:/);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('TORCH_NPU_INSTALL_DIR without libtorch_npu.so is named, before anything is built', (t) => {
  const r = install(['--device', 'npu', '--build-dir', path.join(os.tmpdir(), 'tb-never-built')], { TORCH_NPU_INSTALL_DIR: path.join(repoRoot, 'src') });
  t.is(r.status, 1);
  t.regex(r.stderr, /TORCH_NPU_INSTALL_DIR=.*src has no lib\/libtorch_npu\.so/);
  t.regex(r.stderr, /Possible solutions:/);
  t.false(fs.existsSync(path.join(os.tmpdir(), 'tb-never-built')));
});

test('an unknown device or flag is refused', (t) => {
  const r = install(['--device', 'tpu']);
  t.is(r.status, 1);
  t.regex(r.stderr, /Expected one of cpu, cuda, npu for --device but received 'tpu'/);
  const f = install(['--fast']);
  t.is(f.status, 1);
  t.regex(f.stderr, /Unknown argument '--fast'/);
});

test('LIBTORCH pointing at a folder without libtorch is explained', (t) => {
  const r = install(['--device', 'cpu'], { LIBTORCH: path.join(repoRoot, 'src') });
  t.is(r.status, 1);
  t.regex(r.stderr, /LIBTORCH=.* is not a libtorch folder \(no share\/cmake\/Torch\/TorchConfig\.cmake\)/);
});

test("require('.').backends() shows cpu, npu as not built, and the libtorch version", (t) => {
  const r = spawnSync(process.execPath, ['-e', "console.log(JSON.stringify(require('.').backends()))"], { cwd: repoRoot, encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);
  const b = JSON.parse(r.stdout);
  t.true(b.compiled.cpu);
  t.true(b.available.cpu);
  t.false(b.compiled.npu);
  t.false(b.available.npu);
  t.regex(b.libtorch, /^\d+\.\d+\.\d+/);
});
