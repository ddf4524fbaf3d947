// distributed.launch: N local ranks with torchrun's environment; the first rank to
// fail stops the others (SIGTERM, then SIGKILL), and the Error names it.
import test from 'ava';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { launch } from '../../src/distributed/launch';
import { tempDir } from '../helpers/python';

const script = path.join(__dirname, '..', 'fixtures', 'launch-rank.js');

function collect(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

test('each rank gets torchrun\'s variables; rank 0\'s stdout and every rank\'s stderr come through, prefixed', async (t) => {
  const out = collect();
  const exits = await launch({ nproc: 3, script, args: ['ok', 'x y'], output: out.stream, env: { LAUNCH_TEST_EXTRA: 'e' } });
  t.deepEqual(exits.map((e) => [e.rank, e.code]), [[0, 0], [1, 0], [2, 0]]);
  const lines = out.text().split('\n');
  const json = lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  t.is(json.length, 1, 'only rank 0\'s stdout by default');
  t.like(json[0], { RANK: '0', LOCAL_RANK: '0', WORLD_SIZE: '3', LOCAL_WORLD_SIZE: '3', MASTER_ADDR: '127.0.0.1', EXTRA: 'e', args: ['x y'] });
  t.regex(json[0].MASTER_PORT as string, /^\d+$/);
  for (const r of [0, 1, 2]) t.true(lines.includes(`[rank ${r}] hello from ${r}`), out.text());
});

test('the second of two machines: its ranks come after the first machine\'s, in a world of both', async (t) => {
  const out = collect();
  const exits = await launch({ nproc: 2, nnodes: 2, nodeRank: 1, masterAddr: '10.0.0.5', masterPort: 29872, script, args: ['ok'], output: out.stream,
    quietOtherRanks: false });
  t.deepEqual(exits.map((e) => [e.rank, e.code]), [[2, 0], [3, 0]]);
  const json = out.text().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, string>);
  t.deepEqual(json.map((j) => [j.RANK, j.LOCAL_RANK, j.WORLD_SIZE, j.LOCAL_WORLD_SIZE, j.GROUP_RANK, j.MASTER_ADDR, j.MASTER_PORT]).sort(), [
    ['2', '0', '4', '2', '1', '10.0.0.5', '29872'], ['3', '1', '4', '2', '1', '10.0.0.5', '29872']]);
  for (const r of [2, 3]) t.true(out.text().includes(`[rank ${r}] hello from ${r}`), out.text());
});

test('quietOtherRanks false: every rank\'s stdout, each with its own rank and one port', async (t) => {
  const out = collect();
  await launch({ nproc: 2, script, args: ['ok'], output: out.stream, quietOtherRanks: false, masterPort: 29871 });
  const json = out.text().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, string>);
  t.deepEqual(json.map((j) => j.RANK).sort(), ['0', '1']);
  t.deepEqual([...new Set(json.map((j) => j.MASTER_PORT))], ['29871']);
});

test('a failing rank stops the others at once, and the Error names it', async (t) => {
  const t0 = Date.now();
  const e = await t.throwsAsync(launch({ nproc: 3, script, args: ['fail'], output: collect().stream, env: { LAUNCH_TEST_DIR: tempDir() } }));
  t.is(e!.message, 'launch: rank 1 of 3 failed (exit code 3); the other ranks were stopped');
  t.true(Date.now() - t0 < 20_000, 'the others did not run their minute');
});

test('successCodes: a rank ending with one of them stops nobody, and its code is reported', async (t) => {
  const exits = await launch({ nproc: 3, script, args: ['exit3'], output: collect().stream, successCodes: [0, 3] });
  t.deepEqual(exits.map((e) => [e.rank, e.code, e.signal]), [[0, 0, null], [1, 3, null], [2, 0, null]]);
  // Without it, exit code 3 is a failure that stops the others.
  const e = await t.throwsAsync(launch({ nproc: 3, script, args: ['exit3'], output: collect().stream }));
  t.is(e!.message, 'launch: rank 1 of 3 failed (exit code 3); the other ranks were stopped');
});

test('a rank that ignores SIGTERM is killed after the grace period', async (t) => {
  const out = collect();
  const t0 = Date.now();
  const e = await t.throwsAsync(launch({ nproc: 2, script, args: ['stubborn'], output: out.stream, killGraceMs: 500, env: { LAUNCH_TEST_DIR: tempDir() } }));
  t.regex(e!.message, /^launch: rank 1 of 2 failed \(exit code 3\)/);
  t.regex(out.text(), /rank 0 ignores SIGTERM/);
  t.true(Date.now() - t0 < 20_000);
});

test('bad options are named', async (t) => {
  t.is((await t.throwsAsync(launch({ nproc: 0, script })))!.message, 'Expected positive integer for nproc but received 0 of type number');
  t.is((await t.throwsAsync(launch({ nproc: 1, script, args: [1 as unknown as string] })))!.message,
    'Expected array of strings for args but received [1] of type array');
  t.is((await t.throwsAsync(launch({ nproc: 1, script, masterPort: 70000 })))!.message,
    'Expected integer between 1 and 65535 for masterPort but received 70000 of type number');
  t.is((await t.throwsAsync(launch({ nproc: 1, script, nnodes: 2, masterAddr: 'h' })))!.message,
    'launch: a job on several machines (nnodes > 1) needs masterAddr and masterPort, the same on every machine');
  t.is((await t.throwsAsync(launch({ nproc: 1, script, nnodes: 2, nodeRank: 2 })))!.message,
    'Expected integer between 0 and 1 for nodeRank but received 2 of type number');
});

test('a script that does not exist fails rank 0 with Node\'s exit code', async (t) => {
  const out = collect();
  const e = await t.throwsAsync(launch({ nproc: 2, script: path.join(__dirname, 'no-such-script.js'), output: out.stream }));
  t.regex(e!.message, /^launch: rank \d of 2 failed \(exit code 1\)/);
  t.regex(out.text(), /Cannot find module/);
});
