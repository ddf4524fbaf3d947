// Training must not freeze the Node event loop: Trainer.fit() runs in a worker
// thread, so a timer in the main thread keeps firing on time.
import test from 'ava';
import * as path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Trainer } from '../../src/train';
import { silentReporter } from '../../src/train';
import { devData as data } from '../helpers/data';


test('the event loop stays free while training: p99 delay under 50 ms', async (t) => {
  const trainer = new Trainer({ data, download: false, epochs: 1, trainLimit: 512, testLimit: 100, batchSize: 64 }, silentReporter);
  const h = monitorEventLoopDelay({ resolution: 5 });
  let ticks = 0;
  const timer = setInterval(() => (ticks += 1), 10);
  const epochs: number[] = [];
  trainer.on('epoch', (r) => epochs.push(r.epoch));
  const t0 = Date.now();
  h.enable();
  const result = await trainer.fit();
  h.disable();
  clearInterval(timer);
  const seconds = (Date.now() - t0) / 1000;
  t.false(result.stopped);
  t.deepEqual(epochs, [1]);
  t.is(result.epochs.length, 1);
  const p99 = h.percentile(99) / 1e6;
  t.log(`trained for ${seconds.toFixed(1)} s; timer fired ${ticks} times; event-loop delay p99 ${p99.toFixed(1)} ms, max ${(h.max / 1e6).toFixed(1)} ms`);
  t.true(seconds > 2, 'training took long enough for the measurement to mean something');
  t.true(p99 < 50, `p99 event-loop delay ${p99.toFixed(1)} ms`);
  // A 10 ms timer over the run: most of its ticks happened.
  t.true(ticks > (seconds * 100) / 3, `timer fired ${ticks} times in ${seconds.toFixed(1)} s`);
});

test('stop() ends a run after the current step with a checkpoint', async (t) => {
  const dir = path.join(require('node:os').tmpdir(), `torchbridge-stop-${process.pid}`);
  const trainer = new Trainer({ data, download: false, epochs: 2, trainLimit: 512, testLimit: 100, batchSize: 32, checkpointDir: dir }, silentReporter);
  setTimeout(() => trainer.stop(), 3000);
  const result = await trainer.fit();
  t.true(result.stopped);
  t.truthy(result.checkpointFile);
  t.regex(result.checkpointFile!, /checkpoint-\d{4}-\d{6}\.pt$/);
  require('node:fs').rmSync(dir, { recursive: true, force: true });
});
