// The build's handling of gloo's headers (CMakeLists.txt), by configuring only: missing
// headers and headers that do not compile both leave the distributed module off, with the
// reason in the build's printout, instead of failing the build.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot, tempDir } from '../helpers/python';

function configure(glooDir: string): string {
  const { libtorch } = JSON.parse(fs.readFileSync(path.join(repoRoot, 'build', 'torchbridge-build.json'), 'utf8')) as { libtorch: string };
  const out = tempDir('torchbridge-configure-');
  try {
    const r = spawnSync(process.execPath, [require.resolve('cmake-js/bin/cmake-js'), 'configure', '-O', out,
      `--CDCMAKE_PREFIX_PATH=${path.join(libtorch, 'share', 'cmake')}`, '--CDTORCHBRIDGE_CUDA=OFF', '--CDTORCHBRIDGE_NPU=OFF',
      `--CDGLOO_INCLUDE_DIR=${glooDir}`], { cwd: repoRoot, encoding: 'utf8', timeout: 240_000 });
    if (r.status !== 0) throw new Error(`configure failed (${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
    const config = fs.readFileSync(path.join(out, 'generated', 'tb_distributed_config.h'), 'utf8');
    return `${/torchbridge-distributed: .*/.exec(r.stdout)?.[0]}\n${config}`;
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}

test('no gloo headers under GLOO_INCLUDE_DIR: configured without distributed, and the reason recorded', (t) => {
  const dir = tempDir('torchbridge-nogloo-');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const out = configure(dir);
  t.regex(out, /torchbridge-distributed: off: GLOO_INCLUDE_DIR=.* has no gloo\/config\.h/);
  t.regex(out, /#define TB_DISTRIBUTED_REASON ".*has no gloo\/config\.h"/);
  t.regex(out, /#define TB_GLOO_HEADERS ""/);
});

test('gloo headers that do not compile: the compile check turns distributed off instead of failing the build', (t) => {
  const dir = tempDir('torchbridge-badgloo-');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.mkdirSync(path.join(dir, 'gloo'));
  // Each header ProcessGroupGloo.hpp includes first, as a stand-in that cannot compile (system
  // headers would otherwise fill in for the ones missing here).
  for (const f of ['config.h', 'algorithm.h', 'context.h']) fs.writeFileSync(path.join(dir, 'gloo', f), '#error "not gloo"\n');
  const out = configure(dir);
  t.regex(out, /torchbridge-distributed: off: gloo's headers in .* do not compile with libtorch's ProcessGroupGloo\.hpp/);
  t.regex(out, /#define TB_GLOO_HEADERS ""/);
});
