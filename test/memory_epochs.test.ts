// Training memory stays flat across epochs: RSS after epoch 3 is within 5% of
// RSS after epoch 1 (3 epochs on 2,000 images). Asserts on memory, not time.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { repoRoot } from './helpers/python';

test('RSS after epoch 3 is within 5% of RSS after epoch 1', (t) => {
  const data = path.resolve(repoRoot, '..', 'shared', 'datasets', 'cifar10-dev');
  const r = spawnSync(process.execPath, ['--expose-gc', path.join(__dirname, 'fixtures', 'train-rss.js'), data], { encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);
  const { rss } = JSON.parse(r.stdout.trim().split('\n').pop()!) as { rss: number[] };
  t.is(rss.length, 3);
  const mb = rss.map((b) => (b / 2 ** 20).toFixed(1));
  t.log(`RSS after each epoch: ${mb.join(', ')} MB`);
  t.true(Math.abs(rss[2] - rss[0]) / rss[0] < 0.05, `epoch 1 ${mb[0]} MB, epoch 3 ${mb[2]} MB`);
});
