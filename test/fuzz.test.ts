// The fuzz test (test/fuzz/fuzz.ts): a fixed seed of random and invalid calls
// into the public API and the raw addon must end without a crash, and the
// harness must really notice one when the child process dies.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const fuzz = path.join(__dirname, 'fuzz', 'fuzz.js');

function run(args: string[]) {
  return spawnSync(process.execPath, [fuzz, ...args], { encoding: 'utf8', timeout: 300_000 });
}

test('2000 fuzzed calls end without a crash', (t) => {
  const r = run(['--calls', '2000', '--seed', '20251127']);
  t.is(r.status, 0, r.stdout + r.stderr);
  t.regex(r.stdout, /^fuzz: seed 20251127, 2000 calls$/m);
  t.regex(r.stdout, /^fuzz: 2000 calls, 0 crashes, seed 20251127$/m);
});

test('a child that aborts is reported as a crash, with its call and seed', (t) => {
  // --self-test-abort makes the child call process.abort() at that call.
  const r = run(['--calls', '50', '--seed', '7', '--self-test-abort', '5']);
  t.is(r.status, 1, r.stdout + r.stderr);
  t.regex(r.stdout, /^fuzz: CRASH \(signal SIGABRT\) at call 5: self-test: process\.abort\(\); replay with --seed 7$/m);
  t.regex(r.stdout, /^fuzz: 5 calls, 1 crashes, seed 7$/m);
});
