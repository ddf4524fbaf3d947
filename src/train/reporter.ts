// Where a run's progress goes: lines and a progress bar. The console by default;
// Trainer forwards them from its worker thread.
import { ProgressBar } from '../progress';

/** Where progress goes: the console by default, a worker's message port in Trainer. */
export interface Reporter {
  /** One line of output, e.g. `[Epoch 1, Iteration 100] loss: 1.577`. */
  line(text: string): void;
  /** A progress bar of `total` steps starts. */
  barStart(total: number, desc: string): void;
  /** `n` more steps are done. */
  barUpdate(n: number): void;
  /** The bar is complete. */
  barEnd(): void;
}

/**
 * Lines on stdout (or `stream`) with a tqdm-style bar, as the reference prints them. `showBar`
 * false prints the lines only.
 */
export class ConsoleReporter implements Reporter {
  private bar: ProgressBar | null = null;
  constructor(private readonly stream: NodeJS.WritableStream = process.stdout, private readonly showBar = true) {}
  line(text: string): void {
    if (this.bar) this.bar.write(text);
    else this.stream.write(`${text}\n`);
  }
  barStart(total: number, desc: string): void {
    if (this.showBar) this.bar = new ProgressBar({ total, desc, stream: this.stream });
  }
  barUpdate(n: number): void {
    this.bar?.update(n);
  }
  barEnd(): void {
    this.bar?.close();
    this.bar = null;
  }
}

/** A reporter that prints nothing: for tests and benchmarks. */
export const silentReporter: Reporter = { line() {}, barStart() {}, barUpdate() {}, barEnd() {} };
