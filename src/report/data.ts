// Reads run directories (written by `torchbridge train --run-dir`) into what the
// report page shows. Every problem is an Error naming the folder or file (and
// the line of metrics.jsonl) and saying what was expected.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MetricsRecord, parseMetricsLine, runFiles, ValidationSummary } from '../train/rundir';

/** One run, as the report shows it. */
export interface RunData {
  /** A short name for legends: the folder's name, made unique among the runs. */
  name: string;
  /** The run directory, absolute. */
  dir: string;
  /** config.json's resolved config; null when the file is missing. */
  config: Record<string, unknown> | null;
  /** config.json's versions (torchbridge, libtorch, node). */
  versions: Record<string, unknown> | null;
  /** Every record of metrics.jsonl, in order. */
  metrics: MetricsRecord[];
  /** validation.json, with each misclassified image's PNG as a data: URL; null when the run wrote none (stopped early). */
  validation: (ValidationSummary & { imageUrls: string[] }) | null;
}

function readJson(file: string): unknown {
  const text = fs.readFileSync(file, 'utf8');
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: not JSON (${(e as Error).message})`);
  }
}

/** metrics.jsonl's records; blank lines are skipped. */
export function readMetrics(file: string): MetricsRecord[] {
  return fs.readFileSync(file, 'utf8').split('\n').flatMap((line, i) => (line.trim() === '' ? [] : [parseMetricsLine(line, file, i + 1)]));
}

function checkValidation(v: unknown, file: string): ValidationSummary {
  const s = v as ValidationSummary;
  const bad = (what: string) => new Error(`${file}: expected ${what}`);
  if (s === null || typeof s !== 'object') throw bad('a JSON object');
  if (!Array.isArray(s.classes) || !s.classes.every((c) => typeof c === 'string')) throw bad('classes to be a list of names');
  const k = s.classes.length;
  if (!Array.isArray(s.confusion) || s.confusion.length !== k || !s.confusion.every((row) => Array.isArray(row) && row.length === k && row.every(Number.isInteger))) {
    throw bad(`confusion to be a ${k}x${k} matrix of counts`);
  }
  if (!Array.isArray(s.misclassified)) throw bad('misclassified to be a list');
  return s;
}

/**
 * One run directory's files. Throws when the folder or its metrics.jsonl is
 * missing, or when a file is malformed.
 */
export function readRun(dir: string): Omit<RunData, 'name'> {
  const abs = path.resolve(dir);
  if (!fs.existsSync(abs)) throw new Error(`Run directory ${abs} does not exist; expected a folder written by \`torchbridge train --run-dir\``);
  if (!fs.statSync(abs).isDirectory()) throw new Error(`Run directory ${abs} is not a folder; expected a folder written by \`torchbridge train --run-dir\``);
  const metricsFile = path.join(abs, runFiles.metrics);
  if (!fs.existsSync(metricsFile)) throw new Error(`Run directory ${abs} has no ${runFiles.metrics}; expected a folder written by \`torchbridge train --run-dir\``);
  const metrics = readMetrics(metricsFile);
  const configFile = path.join(abs, runFiles.config);
  const cfg = fs.existsSync(configFile) ? (readJson(configFile) as { config?: Record<string, unknown>; versions?: Record<string, unknown> }) : null;
  const validationFile = path.join(abs, runFiles.validation);
  let validation: RunData['validation'] = null;
  if (fs.existsSync(validationFile)) {
    const s = checkValidation(readJson(validationFile), validationFile);
    const imageUrls = s.misclassified.map((m) => {
      const file = path.join(abs, m.image);
      if (!fs.existsSync(file)) throw new Error(`${validationFile} names ${m.image}, which is missing from ${abs}`);
      return `data:image/png;base64,${fs.readFileSync(file).toString('base64')}`;
    });
    validation = { ...s, imageUrls };
  }
  return { dir: abs, config: cfg?.config ?? null, versions: cfg?.versions ?? null, metrics, validation };
}

/** The runs in order, each named by its folder (with its parent's name too when two folders share a name). */
export function readRuns(dirs: string[]): RunData[] {
  if (dirs.length === 0) throw new Error('A report needs at least one run directory');
  const runs = dirs.map(readRun);
  const base = runs.map((r) => path.basename(r.dir));
  return runs.map((r, i) => ({
    ...r, name: base.filter((b) => b === base[i]).length > 1 ? path.join(path.basename(path.dirname(r.dir)), base[i]) : base[i],
  }));
}
