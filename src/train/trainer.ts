// Trainer: runs a training run in a worker thread, so the Node event loop stays
// free while libtorch computes. Progress comes back as messages; stop() (or
// Ctrl-C in the CLI) asks the worker to checkpoint its last finished step and end.
import { EventEmitter } from 'node:events';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { resolveConfig, RunConfig } from './config';
import { ConsoleReporter, Reporter } from './reporter';
import { EpochReport, RunResult } from './run';

/** Messages from the worker (see worker.ts). */
export type WorkerMessage =
  | { type: 'line'; text: string }
  | { type: 'barStart'; total: number; desc: string }
  | { type: 'barUpdate'; n: number }
  | { type: 'barEnd' }
  | { type: 'epoch'; report: EpochReport }
  | { type: 'done'; result: RunResult }
  | { type: 'error'; message: string; stack?: string };

/** The events a {@link Trainer} emits, with their arguments. */
export interface TrainerEvents {
  /** After each epoch's evaluation. */
  epoch: [EpochReport];
  /** Every line of output. */
  line: [string];
}

/**
 * Runs {@link runTraining} in a worker thread, so the Node event loop stays free while libtorch
 * computes. Progress comes back as `line` and `epoch` events and through the reporter.
 *
 * ```ts
 * const trainer = new Trainer({ epochs: 1, device: 'cuda' });
 * trainer.on('epoch', (r) => console.log(r.accuracy));
 * const result = await trainer.fit();
 * ```
 */
export class Trainer extends EventEmitter<TrainerEvents> {
  /** The resolved config (checked in the constructor, which throws a TypeError for a bad one). */
  readonly config: RunConfig;
  private readonly stopFlag = new Int32Array(new SharedArrayBuffer(4));
  private worker: Worker | null = null;

  /** `reporter` receives lines and bar updates; the console by default, null for none. */
  constructor(config: Partial<RunConfig>, private readonly reporter: Reporter | null = new ConsoleReporter()) {
    super();
    this.config = resolveConfig(config);
  }

  /**
   * Trains in a worker thread; resolves when the run ends or stops, rejects with the run's error. One
   * run at a time.
   */
  fit(): Promise<RunResult> {
    if (this.worker) return Promise.reject(new Error('Trainer.fit() is already running'));
    const ts = __filename.endsWith('.ts');
    const file = path.join(__dirname, ts ? 'worker.ts' : 'worker.js');
    const worker = new Worker(file, {
      workerData: { config: this.config, stopFlag: this.stopFlag },
      execArgv: ts ? ['--require', 'ts-node/register'] : [],
    });
    this.worker = worker;
    return new Promise<RunResult>((resolve, reject) => {
      let settled = false;
      const finish = (fn: () => void) => {
        if (settled) return;
        settled = true;
        this.worker = null;
        fn();
      };
      worker.on('message', (m: WorkerMessage) => {
        const r = this.reporter;
        switch (m.type) {
          case 'line': r?.line(m.text); this.emit('line', m.text); break;
          case 'barStart': r?.barStart(m.total, m.desc); break;
          case 'barUpdate': r?.barUpdate(m.n); break;
          case 'barEnd': r?.barEnd(); break;
          case 'epoch': this.emit('epoch', m.report); break;
          case 'done': finish(() => resolve(m.result)); break;
          case 'error': {
            const e = new Error(m.message);
            if (m.stack) e.stack = m.stack;
            finish(() => reject(e));
            break;
          }
        }
      });
      worker.on('error', (e) => finish(() => reject(e)));
      worker.on('exit', (code) => finish(() => reject(new Error(`training worker exited with code ${code}`))));
    });
  }

  /** Asks the run to save a checkpoint after the current step and end; fit() then resolves with `stopped: true`. */
  stop(): void {
    Atomics.store(this.stopFlag, 0, 1);
  }
}
