// A real browser for the report tests: Debian's chromium, driven by
// playwright-core (no bundled browser download, no dependencies of its own).
// Missing chromium is an error that says how to install it, never a skip.
import * as fs from 'node:fs';
import { Browser, chromium, Page } from 'playwright-core';

/** $CHROMIUM, else Debian's /usr/bin/chromium. */
export const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';

/** Starts headless chromium; throws, saying how to install it, when it is missing. */
export async function launchChromium(): Promise<Browser> {
  if (!fs.existsSync(chromiumPath)) {
    throw new Error(`Chromium is not installed at ${chromiumPath}: the report tests open the page in a real browser. ` +
      'Install it with `apt-get install chromium` (Debian/Ubuntu), or point $CHROMIUM at a Chromium or Chrome binary.');
  }
  return chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'] });
}

/** What the report page showed once loaded. */
export interface PageFigures {
  /** Console errors and uncaught exceptions. */
  errors: string[];
  /** Requests for anything other than the file itself and data: URLs. */
  fetched: string[];
  /**
   * Per chart id: canvas count; the canvas's pixels in each run's colour (its
   * curves: axes and grid are grey), by run; and the legend's series labels.
   */
  charts: Record<string, { canvases: number; runPixels: number[]; legend: string[] }>;
  /** Per confusion matrix: its cell count and their sum. */
  confusions: { run: string; cells: number; sum: number }[];
  /** Misclassified images: how many, and how many decoded (naturalWidth > 0). */
  images: { total: number; loaded: number };
}

/** Opens `file` in `page` and measures what it drew. */
export async function inspectReport(page: Page, file: string): Promise<PageFigures> {
  const errors: string[] = [];
  const fetched: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('request', (r) => { if (!r.url().startsWith('data:') && r.url() !== page.url() && !r.url().endsWith(file)) fetched.push(r.url()); });
  await page.goto(`file://${file}`, { waitUntil: 'load' });
  // The page's own code runs in the browser; a string keeps DOM types out of this Node project.
  const figures = await page.evaluate(`(() => {
    const charts = {};
    const colors = JSON.parse(document.getElementById('report-data').textContent).colors
      .map((h) => [1, 3, 5].map((k) => parseInt(h.slice(k, k + 2), 16)));
    for (const el of document.querySelectorAll('.chart')) {
      const canvases = el.querySelectorAll('canvas');
      const runPixels = colors.map(() => 0);
      for (const c of canvases) {
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        for (let i = 0; i < d.length; i += 4) {
          if (d[i + 3] < 200) continue;
          colors.forEach((rgb, r) => { if (Math.abs(d[i] - rgb[0]) + Math.abs(d[i + 1] - rgb[1]) + Math.abs(d[i + 2] - rgb[2]) < 30) runPixels[r]++; });
        }
      }
      const legend = [...el.querySelectorAll('.u-legend .u-series th')].map((th) => th.textContent.trim()).filter((t) => t && t !== 'step');
      charts[el.id] = { canvases: canvases.length, runPixels, legend };
    }
    const confusions = [...document.querySelectorAll('figure.confusion')].map((f) => {
      const cells = [...f.querySelectorAll('td.cm-cell')];
      return { run: f.dataset.run, cells: cells.length, sum: cells.reduce((a, c) => a + Number(c.textContent), 0) };
    });
    const imgs = [...document.querySelectorAll('figure.mis img')];
    return { charts, confusions, images: { total: imgs.length, loaded: imgs.filter((i) => i.complete && i.naturalWidth > 0).length } };
  })()`) as Omit<PageFigures, 'errors' | 'fetched'>;
  return { errors, fetched, ...figures };
}
