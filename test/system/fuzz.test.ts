// The fuzz test (test/fuzz/fuzz.ts): a fixed seed of random and invalid calls
// into the public API and the raw addon must end without a crash, every error
// must name its operation (or its argument), and the calls must really reach the
// library. The harness must notice a crash, an error that names nothing, and
// calls whose arguments fail to build: each has a control below.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const fuzz = path.join(__dirname, '..', 'fuzz', 'fuzz.js');

function run(args: string[]) {
  return spawnSync(process.execPath, [fuzz, ...args], { encoding: 'utf8', timeout: 300_000 });
}

test('2000 fuzzed calls end without a crash, and every error names its operation', (t) => {
  const r = run(['--calls', '2000', '--seed', '20251127']);
  t.is(r.status, 0, r.stdout + r.stderr);
  t.regex(r.stdout, /^fuzz: seed 20251127, 2000 calls$/m);
  t.regex(r.stdout, /^fuzz: 2000 calls, 0 crashes, seed 20251127$/m);
  const m = /^fuzz: (\d+) of 2000 calls threw, 0 errors without their operation's name, (\d+) calls whose arguments failed to build$/m.exec(r.stdout);
  if (!m) return t.fail(`no summary line with 0 unnamed errors:\n${r.stdout}`);
  // The mix reaches the library: neither (nearly) every call refused, nor none.
  const threw = Number(m[1]), unbuilt = Number(m[2]);
  t.true(threw >= 400 && threw <= 1600, `${threw} of 2000 calls threw`);
  t.true(unbuilt <= 40, `${unbuilt} calls' arguments failed to build`);
});

test('a child that aborts is reported as a crash, with its call and seed', (t) => {
  // --self-test-abort makes the child call process.abort() at that call.
  const r = run(['--calls', '50', '--seed', '7', '--self-test-abort', '5']);
  t.is(r.status, 1, r.stdout + r.stderr);
  t.regex(r.stdout, /^fuzz: CRASH \(signal SIGABRT\) at call 5: self-test: process\.abort\(\); replay with --seed 7$/m);
  t.regex(r.stdout, /^fuzz: 5 calls, 1 crashes, seed 7$/m);
});

test('control: an Error that names no operation fails the run, with its call and seed', (t) => {
  // --self-test-unnamed makes that call throw new Error('something went wrong').
  const r = run(['--calls', '50', '--seed', '7', '--self-test-unnamed', '5']);
  t.is(r.status, 1, r.stdout + r.stderr);
  t.regex(r.stdout, /^fuzz: ERROR WITHOUT ITS OPERATION'S NAME at call 5: self-test: an Error that names nothing threw Error: something went wrong; replay with --seed 7$/m);
  t.regex(r.stdout, /^fuzz: FAILED: 1 errors did not name their operation \(listed above\); replay with --seed 7$/m);
});

test('control: calls whose arguments fail to build fail the run', (t) => {
  // --self-test-unbuilt makes every call's arguments fail to build.
  const r = run(['--calls', '50', '--seed', '7', '--self-test-unbuilt']);
  t.is(r.status, 1, r.stdout + r.stderr);
  t.regex(r.stdout, /^fuzz: 0 of 50 calls threw, 0 errors without their operation's name, 50 calls whose arguments failed to build$/m);
  t.regex(r.stdout, /^fuzz: FAILED: 50 of 50 calls' arguments failed to build \(at most 1 allowed\); replay with --seed 7$/m);
});
