// `npm run docs:report-png`: regenerates docs/report.png, the README's picture
// of `torchbridge report`, from two real short runs on the dev data (about 10
// minutes on two busy CPU cores). The page is shot in headless chromium and shrunk
// to a palette PNG to stay small.
//
//   npm run docs:report-png -- [--keep]   (--keep leaves the run dirs and the page in the printed folder)
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { launchChromium } from '../helpers/browser';
import { devData } from '../helpers/data';
import { repoRoot, tempDir } from '../helpers/python';

const cli = path.join(repoRoot, 'dist', 'src', 'cli.js');

function run(args: string[]): void {
  console.log(`torchbridge ${args.join(' ')}`);
  const r = spawnSync(process.execPath, [cli, ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error(`torchbridge ${args[0]} failed (${r.signal ?? r.status})`);
}

async function main(): Promise<void> {
  const dir = tempDir();
  const common = ['--data', devData, '--epochs', '2', '--limit-train', '2048', '--limit-test', '500', '--batch-size', '64', '--log-every', '4'];
  run(['train', ...common, '--run-dir', path.join(dir, 'lr-0.1')]);
  run(['train', ...common, '--lr', '0.02', '--run-dir', path.join(dir, 'lr-0.02')]);
  const page = path.join(dir, 'report.html');
  run(['report', path.join(dir, 'lr-0.1'), path.join(dir, 'lr-0.02'), '--out', page]);
  const browser = await launchChromium();
  try {
    const p = await browser.newPage({ viewport: { width: 1240, height: 900 } });
    await p.goto(`file://${page}`, { waitUntil: 'load' });
    const shot = await p.screenshot({ fullPage: true });
    const out = path.join(repoRoot, 'docs', 'report.png');
    fs.mkdirSync(path.dirname(out), { recursive: true });
    await sharp(shot).resize({ width: 800 }).png({ palette: true, colours: 64, compressionLevel: 9 }).toFile(out);
    console.log(`wrote ${out} (${(fs.statSync(out).size / 1024).toFixed(0)} KB)`);
  } finally {
    await browser.close();
    if (process.argv.includes('--keep')) console.log(`runs and page kept in ${dir}`);
    else fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: Error) => {
  console.error(e.message);
  process.exitCode = 1;
});
