// Runs the Python reference scripts in test/python/ and exchanges tensors with
// them through files in PyTorch's own format: inputs written with torchbridge's
// save() (read by torch.load), outputs written with torch.save (read by load()).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { load, save, Value } from '../../src/serialize';
import { Tensor } from '../../src/tensor';

function findRoot(): string {
  let dir = __dirname;
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'test', 'python'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`cannot find the repository root above ${__dirname}`);
    dir = up;
  }
}

/** The repository root (the folder with package.json), from src/ or dist/. */
export const repoRoot = findRoot();

/** The path of a reference script in test/python/. */
export function pythonScript(name: string): string {
  return path.join(repoRoot, 'test', 'python', name);
}

/** The folder holding the torch package the addon was built against, for PYTHONPATH (see scripts/paths.js). */
export function torchPythonPath(): string | null {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const paths = require(path.join(repoRoot, 'scripts', 'paths.js')) as { torchPythonPath(buildDir: string): string | null };
  return paths.torchPythonPath(path.join(repoRoot, 'build'));
}

/**
 * Runs `python3 script args...` (env PYTHON overrides the interpreter) with the
 * torch the addon was built against first on PYTHONPATH (scripts/install.js may
 * have pip-installed it into the user cache). Returns stdout; throws with stderr.
 */
export function runPython(scriptPath: string, args: string[] = [], input?: Buffer | string): string {
  const python = process.env.PYTHON || 'python3';
  const env = { ...process.env };
  env.PYTHONPATH = [torchPythonPath(), env.PYTHONPATH].filter(Boolean).join(path.delimiter);
  env.PYTHONDONTWRITEBYTECODE = '1';
  const r = spawnSync(python, [scriptPath, ...args], {
    env,
    input,
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  if (r.error) throw new Error(`runPython: cannot run ${python} ${scriptPath}: ${r.error.message}`);
  if (r.status !== 0) {
    const why = r.signal ? `signal ${r.signal}` : `exit code ${r.status}`;
    throw new Error(`runPython: ${python} ${path.basename(scriptPath)} ${args.join(' ')} failed (${why}):\n${r.stderr}`);
  }
  return r.stdout;
}

/**
 * Fails loudly when `script check` can't run: without the Python package it
 * imports, every comparison against it would be meaningless (.ci/run installs them).
 */
export function requirePythonPackages(script: string, what: string, pipArgs: string): void {
  try {
    runPython(pythonScript(script), ['check']);
  } catch (e) {
    const name = pipArgs.split(' ')[0];
    throw new Error(`${what} needs Python's ${name} package (python3 -m pip install ${pipArgs}; .ci/run does): ${(e as Error).message}`);
  }
}

/** A fresh temporary folder; remove it with fs.rmSync(dir, {recursive: true, force: true}). */
export function tempDir(prefix = 'torchbridge-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export interface Exchange {
  /** What the script saved with torch.save, loaded with torchbridge's load(). */
  outputs: Value;
  /** The script's stdout. */
  stdout: string;
}

/**
 * Saves `inputs` to a temporary in.pt, runs `script in.pt out.pt ...args` and
 * loads out.pt. The script reads its inputs with torch.load and writes its
 * outputs with torch.save. The temporary folder is removed afterwards.
 */
export async function exchange(script: string, inputs: Value, args: string[] = []): Promise<Exchange> {
  const dir = tempDir();
  try {
    const inFile = path.join(dir, 'in.pt');
    const outFile = path.join(dir, 'out.pt');
    await save(inputs, inFile);
    const stdout = runPython(pythonScript(script), [inFile, outFile, ...args]);
    const outputs = fs.existsSync(outFile) ? await load(outFile) : null;
    return { outputs, stdout };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Narrows a loaded value to a plain object (throws otherwise). */
export function asRecord(v: Value, what = 'value'): Record<string, Value> {
  if (v === null || typeof v !== 'object' || Array.isArray(v) || v instanceof Tensor) {
    throw new TypeError(`expected ${what} to be an object`);
  }
  return v as Record<string, Value>;
}

/** Narrows a loaded value to a Tensor (throws otherwise). */
export function asTensorValue(v: Value | undefined, what = 'value'): Tensor {
  if (!(v instanceof Tensor)) throw new TypeError(`expected ${what} to be a Tensor`);
  return v;
}

/** Disposes every tensor inside a loaded value. */
export { disposeValue as disposeAll } from '../../src/serialize';
