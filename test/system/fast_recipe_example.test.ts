// examples/fast_recipe.ts, as a user runs it: recipes.fast() in a hand-written
// loop trains one short epoch and prints its figures; a bad flag is refused by name.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { devData } from '../helpers/data';
import { repoRoot } from '../helpers/python';

const example = path.join(repoRoot, 'dist', 'examples', 'fast_recipe.js');

test('examples/fast_recipe.ts trains with recipes.fast() and prints each epoch', (t) => {
  const r = spawnSync(process.execPath, [example, '--data', devData, '--epochs', '1', '--limit', '256'], { encoding: 'utf8', timeout: 300_000 });
  t.is(r.status, 0, `${r.stdout}\n${r.stderr}`);
  t.regex(r.stdout, /^Epoch 1: loss \d\.\d{3}, validation accuracy \d+\.\d\d%$/m);
  t.regex(r.stdout, /^The fast recipe: 256 images, 4 steps an epoch of 64$/m, 'the fast recipe\'s batch');
});

test('examples/fast_recipe.ts refuses a bad flag by name', (t) => {
  const r = spawnSync(process.execPath, [example, '--data', devData, '--epochs', '0'], { encoding: 'utf8', timeout: 60_000 });
  t.is(r.status, 1);
  t.regex(r.stderr, /Expected positive integer for --epochs but received 0/);
});
