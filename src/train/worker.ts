// The worker-thread side of Trainer: runs runTraining and forwards its output.
import { parentPort, workerData } from 'node:worker_threads';
import { RunConfig } from './config';
import { Reporter } from './reporter';
import { runTraining } from './run';
import type { WorkerMessage } from './trainer';

const port = parentPort;
if (!port) throw new Error('worker.ts runs only inside Trainer');
const { config, stopFlag } = workerData as { config: RunConfig; stopFlag: Int32Array };
const post = (m: WorkerMessage) => port.postMessage(m);

// Bar updates are batched: one message per 0.1 s is plenty for a redraw.
let pending = 0;
let last = 0;
const flush = () => {
  if (pending) post({ type: 'barUpdate', n: pending });
  pending = 0;
  last = Date.now();
};
const reporter: Reporter = {
  line: (text) => { flush(); post({ type: 'line', text }); },
  barStart: (total, desc) => post({ type: 'barStart', total, desc }),
  barUpdate: (n) => {
    pending += n;
    if (Date.now() - last > 100) flush();
  },
  barEnd: () => { flush(); post({ type: 'barEnd' }); },
};

runTraining(config, reporter, {
  shouldStop: () => Atomics.load(stopFlag, 0) === 1,
  onEpoch: (report) => post({ type: 'epoch', report }),
})
  .then((result) => post({ type: 'done', result }))
  .catch((e: Error) => post({ type: 'error', message: e.message, stack: e.stack }));
