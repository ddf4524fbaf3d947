// `npm run test:gpu`: runs the ava suite in test/gpu/ (ava.gpu.config.cjs) and
// writes its output, after the machine and build it ran on, to
// bench/results/gpu-tests.txt. Exits with ava's status: without CUDA every test
// fails, with a message that says what is missing.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { repoRoot } from '../helpers/python';

const logPath = path.join(repoRoot, 'bench', 'results', 'gpu-tests.txt');
const log = fs.createWriteStream(logPath);
const both = (s: string | Buffer) => {
  process.stdout.write(s);
  log.write(s);
};

function header(): string {
  const lines = [`test:gpu, ${new Date().toISOString()}, ${os.hostname()}, node ${process.version}`];
  const smi = spawnSync('nvidia-smi', ['-L'], { encoding: 'utf8' });
  lines.push(smi.status === 0 ? smi.stdout.trim() : 'nvidia-smi: not available');
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const { backends } = require('../../src/device') as typeof import('../../src/device');
    const b = backends();
    lines.push(`addon: compiled ${JSON.stringify(b.compiled)}, available ${JSON.stringify(b.available)}, ` +
      `${b.cudaDeviceCount} CUDA device(s), libtorch ${b.libtorch}`);
  } catch (e) {
    lines.push(`addon: cannot load: ${(e as Error).message.split('\n')[0]}`);
  }
  return `${lines.join('\n')}\n\n`;
}

both(header());
const ava = path.join(repoRoot, 'node_modules', 'ava', 'entrypoints', 'cli.mjs');
const child = spawn(process.execPath, [ava, '--config', path.join(repoRoot, 'ava.gpu.config.cjs'), ...process.argv.slice(2)],
  { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
child.stdout.on('data', both);
child.stderr.on('data', (s) => {
  process.stderr.write(s);
  log.write(s);
});
child.on('close', (code, signal) => {
  const status = code ?? 1;
  log.end(`\nexit code ${status}${signal ? ` (signal ${signal})` : ''}\n`);
  console.log(`test:gpu: log written to ${path.relative(repoRoot, logPath)}`);
  process.exitCode = status;
});
