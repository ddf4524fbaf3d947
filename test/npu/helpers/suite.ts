// The npu tests, registered once per route by libtorch_npu.test.ts and wheel.test.ts.
// Every check runs in a child process that loads that route's npu addon, on the
// stand-in torch_npu (test/npu/standin): no Ascend hardware is involved.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { repoRoot } from '../../helpers/python';
import { devData as dataRoot } from '../../helpers/data';
import { buildNpu, NpuBuild, Route, runChild } from './build';

export function npuSuite(route: Route): void {
  let b: NpuBuild;
  test.before(() => {
    b = buildNpu(route);
  });

  test(`${route}: install.js names the route it picked`, (t) => {
    t.regex(b.installLog, new RegExp(`npu route: ${route} \\(torch_npu at `));
    t.true(fs.existsSync(b.addon));
  });

  test(`${route}: backends() shows npu compiled, and available once used, with the route`, (t) => {
    const r = runChild(b, 'backends');
    t.is(r.status, 0, r.stderr);
    const { before, after } = r.result;
    t.true(before.compiled.npu);
    t.false(before.available.npu, 'nothing initialises npu before its first use');
    t.is(before.npuRoute, route);
    t.true(after.available.npu);
    t.is(after.npuRoute, route);
    t.is(after.npuDeviceCount, 2, 'the stand-in has 2 devices by default');
  });

  test(`${route}: tensors go cpu -> npu -> cpu unchanged, in every dtype`, (t) => {
    const r = runChild(b, 'roundtrip');
    t.is(r.status, 0, r.stderr);
    t.is(r.result.length, 6);
    for (const c of r.result) {
      t.true(c.same, `${c.dtype} came back changed`);
      t.is(c.device, 'npu:0');
    }
  });

  test(`${route}: AlexNetModel trains 3 steps on npu to the cpu run's weights (1e-6)`, (t) => {
    const r = runChild(b, 'alexnet', ['3']);
    t.is(r.status, 0, r.stderr);
    t.log(`max |npu - cpu| ${r.result.maxDiff}; weights moved up to ${r.result.moved}`);
    t.true(r.result.moved > 1e-4, 'the steps changed the weights');
    t.is(Object.keys(r.result.diffs).length, 16);
    t.true(r.result.maxDiff <= 1e-6, JSON.stringify(r.result.diffs));
  });

  test(`${route}: a checkpoint saved from npu loads on cpu, and the reverse`, (t) => {
    const r = runChild(b, 'checkpoint');
    t.is(r.status, 0, r.stderr);
    t.is(r.result.savedDevice, 'npu:0');
    t.is(r.result.npuToCpu, 0);
    t.is(r.result.cpuToNpu, 0);
    t.deepEqual(r.result.devices, ['npu:0']);
  });

  test(`${route}: an op torch_npu lacks is an Error that names it, and the process lives`, (t) => {
    const r = runChild(b, 'unsupported', [], { TORCHBRIDGE_STANDIN_NPU_DENY: 'sigmoid,sigmoid.out' });
    t.is(r.status, 0, r.stderr);
    t.regex(r.result.message, /^sigmoid: .*aten::sigmoid/);
    t.regex(r.result.message, /not implemented for the NPU|npu_ops\.txt/);
    t.deepEqual(r.result.alive, [6, 2, 4]);
  });

  test(`${route}: transfer_to_npu maps 'cuda' to 'npu', by env var or API, and says so once`, (t) => {
    const off = runChild(b, 'transfer');
    t.not(off.status, 0, 'without the switch, cuda is refused in an npu build');
    t.regex(off.stderr, /Device 'cuda' is not built into torchbridge/);
    for (const [args, env] of [[[], { TORCHBRIDGE_TRANSFER_TO_NPU: '1' }], [['api'], {}]] as const) {
      const r = runChild(b, 'transfer', [...args], env);
      t.is(r.status, 0, r.stderr);
      t.deepEqual(r.result, { a: 'npu:0', b: 'npu:0' });
      t.is(r.stderr.match(/transfer_to_npu is on: 'cuda' devices map to 'npu'/g)?.length, 1, r.stderr);
    }
  });

  test(`${route}: npu:0 and npu:1 work, npu:2 is a clear error, ASCEND_RT_VISIBLE_DEVICES is honoured`, (t) => {
    const r = runChild(b, 'devices', ['npu:0', 'npu:1', 'npu:2']);
    t.is(r.status, 0, r.stderr);
    t.is(r.result[0].on, 'npu:0');
    t.is(r.result[1].on, 'npu:1');
    t.regex(r.result[2].error, /npu:2 does not exist: 2 NPU device\(s\) visible/);
    const one = runChild(b, 'devices', ['npu:0', 'npu:1'], { ASCEND_RT_VISIBLE_DEVICES: '1' });
    t.is(one.status, 0, one.stderr);
    t.is(one.result[0].on, 'npu:0');
    t.regex(one.result[1].error, /npu:1 does not exist: 1 NPU device\(s\) visible \(ASCEND_RT_VISIBLE_DEVICES=1\)/);
  });

  test(`${route}: torchbridge train --device npu runs one epoch end to end`, (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tb-npu-cli-'));
    try {
      const r = spawnSync(process.execPath, [path.join(repoRoot, 'dist', 'src', 'cli.js'), 'train', '--device', 'npu',
        '--data', dataRoot, '--limit-train', '256', '--limit-test', '100', '--epochs', '1', '--checkpoint-dir', dir, '--no-download'],
      { cwd: repoRoot, env: b.env, encoding: 'utf8', timeout: 600_000 });
      t.is(r.status, 0, r.stderr + r.stdout);
      t.regex(r.stdout, /Test accuracy for AlexNet at epoch 1: \d+\.\d\d%/);
      t.true(fs.readdirSync(dir).some((f) => f.endsWith('.pt')), 'a checkpoint was written');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}
