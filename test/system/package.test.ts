// The package as another Node app gets it: `npm pack` of this clone, then two
// new apps outside the repository `npm install` the tarball. The first builds
// the addon from the shipped sources; the second finds torch and the built addon
// in the per-user cache, so neither downloads or copies torch. A TypeScript file
// compiled with `tsc --strict` imports 'torchbridge', trains AlexNet one step and
// saves a checkpoint.
//
// The cache here is a temporary TORCHBRIDGE_CACHE whose libtorch entry links to the
// torch this clone was built against, so the test needs no pip download; the
// download into an empty cache is what a clean clone's `npm install` does.
import test, { ExecutionContext } from 'ava';
import { spawnSync, SpawnSyncOptions } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { repoRoot, tempDir } from '../helpers/python';

const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string; torchbridge: { torchVersion: string } };
const stamp = JSON.parse(fs.readFileSync(path.join(repoRoot, 'build', 'torchbridge-build.json'), 'utf8')) as { libtorch: string };
const tsc = path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');

function sh(cmd: string, args: string[], options: SpawnSyncOptions) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, timeout: 15 * 60_000, ...options });
  return { status: r.status, out: `${r.stdout ?? ''}\n${r.stderr ?? ''}` };
}

/** Every file under dir whose name starts with libtorch (a copy of torch would have them). */
function libtorchFiles(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true, withFileTypes: true }) as fs.Dirent[])
    .filter((e) => e.isFile() && e.name.startsWith('libtorch'))
    .map((e) => path.join(e.parentPath, e.name));
}

const app = `
import { AlexNetModel, backends, load, manualSeed, optim, randint, randn, save, Tensor, tidy } from 'torchbridge';
import { crossEntropyLoss } from 'torchbridge/train';

async function main(): Promise<void> {
  manualSeed(0);
  const net = new AlexNetModel();
  const opt = new optim.SGD(net.parameters(), { lr: 0.01, momentum: 0.9 });
  const x = randn([4, 3, 32, 32]);
  const y = randint(0, 10, [4]);
  // The whole layer: a few entries can keep a zero gradient when dropout and ReLU zero their inputs.
  const w0 = net.fc3.weight.toArray();
  const loss = tidy(() => {
    const l = crossEntropyLoss(net.forward(x), y);
    l.backward();
    return l;
  });
  opt.step();
  const w1 = net.fc3.weight.toArray();
  await save({ model: net.stateDict(), step: 1 }, 'checkpoint.pt');
  const back = (await load('checkpoint.pt')) as { model: Record<string, Tensor>; step: number };
  console.log(JSON.stringify({
    loss: loss.item(), moved: w0.some((w, i) => w !== w1[i]), keys: Object.keys(back.model).length, step: back.step,
    libtorch: backends().libtorch,
  }));
}
main().catch((e: Error) => { console.error(e.message); process.exitCode = 1; });
`;

// Internals and the recipe are not part of the root API.
const wrong = `
import { ProgressBar } from 'torchbridge';
import { runTraining } from 'torchbridge';
console.log(ProgressBar, runTraining);
`;

// The tarball, its cache and the install logs, shared by the serial tests below: each of
// them gets ava's own timeout (the first app's install builds the addon, minutes on 2 cores).
let work = '';
let tarball: string | null = null;
let env: NodeJS.ProcessEnv = {};

test.after.always(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

test.serial('npm pack: the compiled library, addon sources and install script; no tests, bench or CI files', (t) => {
  work = tempDir('torchbridge-package-');
  const packed = sh('npm', ['pack', '--pack-destination', work, '--silent'], { cwd: repoRoot });
  t.is(packed.status, 0, packed.out);
  const file = path.join(work, `torchbridge-${pkg.version}.tgz`);
  t.true(fs.existsSync(file), packed.out);
  const files = sh('tar', ['-tzf', file], {}).out.split('\n').filter(Boolean).map((f) => f.replace(/^package\//, ''));
  for (const f of ['package.json', 'LICENSE', 'README.md', 'CMakeLists.txt', 'scripts/install.js', 'scripts/paths.js', 'binding/addon.cc',
    'dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/train/index.js', 'dist/src/train/index.d.ts', 'dist/src/cli.js']) {
    t.true(files.includes(f), `the tarball holds ${f}`);
  }
  const stray = files.filter((f) => /^(test|bench|examples|\.ci|dist\/test|dist\/bench|dist\/examples|src)\//.test(f) || f.endsWith('.map') || f.startsWith('build/'));
  t.deepEqual(stray, [], 'no tests, bench, CI files, TypeScript sources or build output');

  // A cache with this clone's torch in it, as a first install would have left it.
  const cache = path.join(work, 'cache');
  fs.mkdirSync(cache);
  // The folder that holds torch/ and its Python dependencies (a pip --target install, or site-packages).
  fs.symlinkSync(path.dirname(stamp.libtorch), path.join(cache, `libtorch-${pkg.torchbridge.torchVersion}-cpu`));
  env = { ...process.env, TORCHBRIDGE_CACHE: cache, npm_config_foreground_scripts: 'true', npm_config_audit: 'false', npm_config_fund: 'false' };
  delete env.LIBTORCH;
  delete env.TORCH_INSTALL_PREFIX;
  delete env.TORCHBRIDGE_ADDON;
  delete env.TORCHBRIDGE_BUILD_DIR;
  tarball = file;
});

/** A new app outside the repository installs the tarball, compiles a strict TypeScript file, trains a step and saves. */
function installApp(t: ExecutionContext, name: string): string | null {
  if (tarball === null) {
    t.fail('npm pack did not finish (see the test above)');
    return null;
  }
  const dir = path.join(work, name);
  fs.mkdirSync(dir);
  t.is(sh('npm', ['init', '-y'], { cwd: dir, env }).status, 0);
  const installed = sh('npm', ['install', tarball], { cwd: dir, env });
  t.is(installed.status, 0, installed.out);
  t.notRegex(installed.out, /installing torch==/, 'no pip download of torch');
  t.deepEqual(libtorchFiles(dir), [], 'no copy of libtorch inside the app');
  const ldd = sh('ldd', [path.join(dir, 'node_modules', 'torchbridge', 'build', 'Release', 'torchbridge.node')], {}).out;
  const linked = /libtorch_cpu\.so => (\S+)/.exec(ldd)?.[1];
  t.truthy(linked, ldd);
  t.is(fs.realpathSync(linked!), fs.realpathSync(path.join(stamp.libtorch, 'lib', 'libtorch_cpu.so')), 'the addon links the one shared libtorch');

  // An app's TypeScript, strict, through the package's exports and types.
  fs.writeFileSync(path.join(dir, 'app.ts'), app);
  const tscArgs = ['--strict', '--module', 'node16', '--moduleResolution', 'node16', '--target', 'es2022',
    '--typeRoots', path.join(repoRoot, 'node_modules', '@types'), '--types', 'node'];
  const compiled = sh(process.execPath, [tsc, ...tscArgs, 'app.ts'], { cwd: dir });
  t.is(compiled.status, 0, compiled.out);
  const ran = sh(process.execPath, ['app.js'], { cwd: dir, env });
  t.is(ran.status, 0, ran.out);
  const result = JSON.parse(ran.out.trim().split('\n')[0]) as { loss: number; moved: boolean; keys: number; step: number; libtorch: string };
  t.true(Number.isFinite(result.loss) && result.loss > 0, `loss ${result.loss}`);
  t.true(result.moved, 'the SGD step changed the weights');
  t.is(result.keys, 16, 'the checkpoint holds the 16 tensors of the state dict');
  t.is(result.step, 1);
  t.true(fs.existsSync(path.join(dir, 'checkpoint.pt')));

  // Internals and the recipe are not exported from the root, to the compiler or to require().
  fs.writeFileSync(path.join(dir, 'wrong.ts'), wrong);
  const refused = sh(process.execPath, [tsc, ...tscArgs, '--noEmit', 'wrong.ts'], { cwd: dir });
  t.not(refused.status, 0);
  t.regex(refused.out, /has no exported member 'ProgressBar'/);
  t.regex(refused.out, /has no exported member 'runTraining'/);
  const deep = sh(process.execPath, ['-e', "require('torchbridge/dist/src/progress')"], { cwd: dir, env });
  t.regex(deep.out, /ERR_PACKAGE_PATH_NOT_EXPORTED/);
  return installed.out;
}

test.serial('a first app installs the tarball, building the addon from the shipped sources; tsc --strict, a step and a save', (t) => {
  const log = installApp(t, 'app1');
  if (log !== null) t.regex(log, /building the addon for cpu/, 'the first app compiles the shipped sources');
});

test.serial('a second app reuses that build from the per-user cache; tsc --strict, a step and a save', (t) => {
  const log = installApp(t, 'app2');
  if (log === null) return;
  t.regex(log, /using the addon built before/, 'the second app reuses that build');
  t.notRegex(log, /building the addon/);
});

test('the per-user cache moves with TORCHBRIDGE_CACHE and XDG_CACHE_HOME', (t) => {
  const run = (env: NodeJS.ProcessEnv) => {
    const clean = { ...process.env, ...env };
    for (const k of Object.keys(env)) if (env[k] === undefined) delete clean[k];
    return sh(process.execPath, ['-e', "console.log(require('./scripts/paths.js').cacheDir())"], { cwd: repoRoot, env: clean }).out.trim();
  };
  t.is(run({ TORCHBRIDGE_CACHE: '/tmp/tb-cache', XDG_CACHE_HOME: undefined }), '/tmp/tb-cache');
  t.is(run({ TORCHBRIDGE_CACHE: undefined, XDG_CACHE_HOME: '/tmp/xdg' }), '/tmp/xdg/torchbridge');
  t.is(run({ TORCHBRIDGE_CACHE: undefined, XDG_CACHE_HOME: undefined }), path.join(os.homedir(), '.cache', 'torchbridge'));
});
