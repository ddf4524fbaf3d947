// `torchbridge report`: run directories in, one self-contained HTML page out.
// data.ts reads the runs, page.ts writes the page.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../files';
import { readRuns } from './data';
import { renderPage } from './page';

/** uPlot's browser build and stylesheet, from the installed package. */
function uplotAssets(): { script: string; style: string } {
  const dist = path.dirname(require.resolve('uplot/dist/uPlot.iife.min.js'));
  return { script: fs.readFileSync(path.join(dist, 'uPlot.iife.min.js'), 'utf8'), style: fs.readFileSync(path.join(dist, 'uPlot.min.css'), 'utf8') };
}

/**
 * Writes one HTML page for the run directories (written by `torchbridge train
 * --run-dir`) to `out`, atomically: loss and accuracy curves (validation beside
 * training), the lr and momentum schedule, per-class accuracy, confusion
 * matrices, misclassified validation images and the config. Several runs are
 * overlaid, one colour each. The page needs no network. Throws an Error naming
 * the folder or file (and line) for a missing run directory or a malformed file.
 */
export async function writeReport(runDirs: string[], out: string): Promise<void> {
  const runs = readRuns(runDirs);
  await writeFileAtomic(out, renderPage(runs, uplotAssets()));
}
