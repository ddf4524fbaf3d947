// Builds what the npu tests run, once per route, under build-npu/<route>/: the
// stand-in torch_npu (test/npu/standin) and an npu build of the addon made by
// `npm run build:native -- --device npu --build-dir ...`. The cpu addon in build/
// is never touched. Both builds are incremental, so later test files reuse them.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from '../../helpers/python';

export type Route = 'libtorch_npu' | 'wheel';
export const routes: Route[] = ['libtorch_npu', 'wheel'];

export interface NpuBuild {
  route: Route;
  /** The npu addon (load it with TORCHBRIDGE_ADDON). */
  addon: string;
  /** Where the stand-in was installed: TORCH_NPU_INSTALL_DIR, or the folder holding torch_npu/. */
  standin: string;
  /** The environment a child process needs to load this build. */
  env: NodeJS.ProcessEnv;
  /** What install.js printed (it names the route it picked). */
  installLog: string;
}

/** The libtorch the cpu addon was built against (build/torchbridge-build.json). */
export function libtorchPrefix(): string {
  const stamp = path.join(repoRoot, 'build', 'torchbridge-build.json');
  return JSON.parse(fs.readFileSync(stamp, 'utf8')).libtorch as string;
}

function sh(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): string {
  const r = spawnSync(cmd, args, { cwd: repoRoot, env, encoding: 'utf8', maxBuffer: 64 << 20 });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}):\n${out.slice(-4000)}`);
  return out;
}

/** An environment without the user's torch_npu or CANN settings. */
export function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of ['TORCH_NPU_INSTALL_DIR', 'ASCEND_TOOLKIT_HOME', 'ASCEND_HOME_PATH', 'ASCEND_RT_VISIBLE_DEVICES',
    'TORCHBRIDGE_ADDON', 'TORCHBRIDGE_BUILD_DIR', 'TORCHBRIDGE_DEVICE', 'TORCHBRIDGE_TRANSFER_TO_NPU',
    'TORCHBRIDGE_PYTHON', 'TORCHBRIDGE_LIBPYTHON', 'LIBTORCH', 'TORCH_INSTALL_PREFIX']) {
    delete env[k];
  }
  return env;
}

const built = new Map<Route, NpuBuild>();

export function buildNpu(route: Route): NpuBuild {
  const done = built.get(route);
  if (done) return done;
  const torch = libtorchPrefix();
  const dir = path.join(repoRoot, 'build-npu', route);
  const standinBuild = path.join(dir, 'standin-build');
  const standin = path.join(dir, 'standin');
  sh('cmake', ['-S', path.join(repoRoot, 'test', 'npu', 'standin'), '-B', standinBuild, '-DCMAKE_BUILD_TYPE=Release',
    `-DCMAKE_PREFIX_PATH=${path.join(torch, 'share', 'cmake')}`, `-DSTANDIN_ROUTE=${route}`,
    `-DPython3_EXECUTABLE=${process.env.PYTHON || 'python3'}`]);
  sh('cmake', ['--build', standinBuild, '-j2']);
  sh('cmake', ['--install', standinBuild, '--prefix', standin]);

  const env = cleanEnv();
  if (route === 'libtorch_npu') {
    env.TORCH_NPU_INSTALL_DIR = standin;
  } else {
    // The wheel route needs a python whose torch is this libtorch: a pip torch's torch/ folder.
    if (!fs.existsSync(path.join(torch, '__init__.py'))) {
      throw new Error(`the wheel route's test needs libtorch from a pip torch, but ${torch} is not a torch package`);
    }
    env.PYTHONPATH = [standin, path.dirname(torch), process.env.PYTHONPATH].filter(Boolean).join(path.delimiter);
  }
  const addonDir = path.join(dir, 'addon');
  const installLog = sh(process.execPath, [path.join(repoRoot, 'scripts', 'install.js'), '--device', 'npu', '--build-dir', addonDir], env);
  const addon = path.join(addonDir, 'Release', 'torchbridge.node');
  const b: NpuBuild = { route, addon, standin, env: { ...env, TORCHBRIDGE_ADDON: addon }, installLog };
  built.set(route, b);
  return b;
}

/** The compiled child script that runs one npu check (test/npu/fixtures/child.ts). */
export const childScript = path.join(repoRoot, 'dist', 'test', 'npu', 'fixtures', 'child.js');

export interface ChildResult {
  status: number | null;
  stdout: string;
  stderr: string;
  /** The JSON the child printed on its last `RESULT ` line, if any. */
  result: any;
}

/** Runs `node child.js <check> args...` with a build's environment (plus extra). */
export function runChild(b: NpuBuild, check: string, args: string[] = [], extra: NodeJS.ProcessEnv = {}): ChildResult {
  const r = spawnSync(process.execPath, [childScript, check, ...args], {
    cwd: repoRoot, env: { ...b.env, ...extra }, encoding: 'utf8', timeout: 300_000, maxBuffer: 64 << 20,
  });
  const line = (r.stdout ?? '').split('\n').reverse().find((l) => l.startsWith('RESULT '));
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', result: line ? JSON.parse(line.slice(7)) : undefined };
}
