// Training checkpoints: model, optimizer, scheduler, position and RNG states in
// one PyTorch-format file per save. Each save is written to a temporary file,
// flushed and renamed (see binding/serialize.cc), and only the newest `keep`
// files stay. Loading walks from the newest file back and reports every file it
// has to skip.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GradScalerState } from '../amp';
import { addon } from '../native';
import { Module } from '../nn/module';
import { loadSafetensors, saveSafetensors } from '../safetensors';
import { disposeValue, load, save, Value } from '../serialize';
import { Tensor } from '../tensor';
import type { WeightsFormat } from './config';
import { Recipe } from './recipe';
import { parseTrainedOn, TrainedOn, trainedOnValue } from './trained_on';

/** The `format` tag of a training checkpoint; files without it are not resumed from. */
export const CHECKPOINT_FORMAT = 'torchbridge-checkpoint-1';

/**
 * A resumable training checkpoint: a dict of state dicts in PyTorch's format (Python's torch.load
 * reads it), written by {@link saveCheckpoint}.
 */
export interface Checkpoint {
  /** {@link CHECKPOINT_FORMAT}. */
  format: string;
  /** Epoch (0-based) the run continues in. */
  epoch: number;
  /** Steps of that epoch already done. */
  step: number;
  /** Sum of this epoch's batch losses so far. */
  lossSum: number;
  /** This epoch's correct training predictions so far (absent from older checkpoints: 0). */
  correct?: number;
  /** The model's state dict. */
  model: Record<string, Tensor>;
  /** The optimizer's state dict. */
  optimizer: Value;
  /** The scheduler's state dict. */
  scheduler: Value;
  /** GradScaler's state dict (float16 runs), as Python checkpoints keep `scaler.state_dict()`. */
  scaler?: Value;
  /** libtorch's CPU generator (dropout) and the data loader's generator at the epoch's start. */
  rng: {
    /** libtorch's CPU generator state, a uint8 tensor. */
    torch: Tensor;
    /** The data loader generator's four words. */
    data: number[];
  };
  /** The run's {@link RunConfig}. */
  config: Value;
  /** Finished epochs' reports. */
  history: Value[];
  /** What the model is trained on (a {@link TrainedOn}); absent in older checkpoints, which are CIFAR-10's. */
  data?: Value;
}

/**
 * The `format` tag of a weights file that carries what the model was trained on: a dict
 * `{format, model: state_dict, data: TrainedOn}` (Python: `torch.load(f)['model']`). Runs on
 * CIFAR-10 save a plain state dict instead, as the reference does.
 */
export const WEIGHTS_FORMAT = 'torchbridge-weights-1';
/** The safetensors metadata key that holds a {@link TrainedOn} as JSON. */
export const TRAINED_ON_KEY = 'torchbridge.trained_on';

const NAME = /^checkpoint-(\d+)-(\d+)\.pt$/;

export function checkpointName(epoch: number, step: number): string {
  return `checkpoint-${String(epoch).padStart(4, '0')}-${String(step).padStart(6, '0')}.pt`;
}

/** Checkpoint files (`checkpoint-EEEE-SSSSSS.pt`) in `dir`, newest first; empty when `dir` does not exist. */
export function listCheckpoints(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir)
    .map((f) => ({ f, m: NAME.exec(f) }))
    .filter((e): e is { f: string; m: RegExpExecArray } => e.m !== null)
    .sort((a, b) => Number(b.m[1]) - Number(a.m[1]) || Number(b.m[2]) - Number(a.m[2]))
    .map((e) => path.join(dir, e.f));
}

/** Writes a checkpoint into `dir` atomically and deletes all but the newest `keep` (2). Resolves to the file's path. */
export async function saveCheckpoint(dir: string, ckpt: Checkpoint, keep = 2): Promise<string> {
  fs.mkdirSync(dir, { recursive: true });
  // A save killed half-way leaves only its temporary file; clear those.
  for (const f of fs.readdirSync(dir)) if (/^checkpoint-.*\.pt\.tmp-\d+$/.test(f)) fs.rmSync(path.join(dir, f), { force: true });
  const file = path.join(dir, checkpointName(ckpt.epoch, ckpt.step));
  await save(ckpt as unknown as Value, file);
  for (const old of listCheckpoints(dir).slice(keep)) fs.rmSync(old, { force: true });
  return file;
}

function isCheckpoint(x: unknown): x is Checkpoint {
  const c = x as Checkpoint;
  return typeof c === 'object' && c !== null && c.format === CHECKPOINT_FORMAT && typeof c.epoch === 'number' &&
    typeof c.step === 'number' && typeof c.model === 'object' && c.rng?.torch instanceof Tensor;
}

/**
 * The newest checkpoint that loads. A corrupt or truncated file is reported
 * through `warn` and the previous one is used; null when none is usable.
 */
export async function loadLatestCheckpoint(dir: string, warn: (msg: string) => void): Promise<{
  /** The file it came from. */
  file: string;
  /** Its contents; the caller owns the tensors. */
  checkpoint: Checkpoint;
} | null> {
  for (const file of listCheckpoints(dir)) {
    try {
      const value = await load(file);
      if (!isCheckpoint(value)) throw new Error(`not a ${CHECKPOINT_FORMAT} file`);
      return { file, checkpoint: value };
    } catch (e) {
      warn(`Skipping checkpoint ${file}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  return null;
}

/** The state dict in a loaded weights file (a plain state dict, or a weights file's or training checkpoint's model) and its record. */
function weightsIn(loaded: Value, file: string): { weights: Record<string, Tensor>; trainedOn: TrainedOn | null } {
  const isDict = (x: unknown): x is Record<string, Value> =>
    x !== null && typeof x === 'object' && !Array.isArray(x) && !(x instanceof Tensor);
  const wrapped = isDict(loaded) && (loaded.format === CHECKPOINT_FORMAT || loaded.format === WEIGHTS_FORMAT) && 'model' in loaded;
  const weights = wrapped ? loaded.model : loaded;
  if (!isDict(weights)) {
    const what = weights instanceof Tensor ? 'a single tensor' : Array.isArray(weights) ? 'a list' : `a ${weights === null ? 'null' : typeof weights}`;
    throw new Error(
      `Checkpoint ${file} holds ${what}, not a state dict: expected a dict of tensors (as \`torchbridge train --checkpoint\` ` +
        'and torch.save(model.state_dict()) write) or a training checkpoint from --checkpoint-dir',
    );
  }
  return { weights: weights as Record<string, Tensor>, trainedOn: wrapped ? parseTrainedOn(loaded.data) : null };
}

/** "16 tensors (conv1.0.weight [64, 3, 4, 4] ... fc3.bias [10])": a model's state dict, in brief. */
function stateDictSummary(model: Module): string {
  const sd = model.stateDict();
  try {
    const entries = Object.entries(sd).map(([k, t]) => `${k} [${t.shape.join(', ')}]`);
    const shown = entries.length <= 2 ? entries.join(', ') : `${entries[0]} ... ${entries[entries.length - 1]}`;
    return `${entries.length} tensors (${shown})`;
  } finally {
    for (const t of Object.values(sd)) t.dispose();
  }
}

/** A weights file's contents: the state dict, what it was trained on (null when not recorded), and a release of both. */
interface ReadWeights {
  weights: Record<string, Tensor>;
  trainedOn: TrainedOn | null;
  release(): void;
}

async function readWeights(file: string, format: WeightsFormat): Promise<ReadWeights> {
  let loaded: Value;
  let trainedOn: TrainedOn | null = null;
  try {
    if (format === 'safetensors') {
      const st = await loadSafetensors(file);
      loaded = st.tensors as unknown as Value;
      const meta = st.metadata?.[TRAINED_ON_KEY];
      if (meta !== undefined) {
        try {
          trainedOn = parseTrainedOn(JSON.parse(meta));
        } catch {
          trainedOn = null;
        }
      }
    } else {
      loaded = await load(file);
    }
  } catch (e) {
    throw new Error(`Cannot load checkpoint ${file}: ${(e as Error).message}`);
  }
  try {
    const found = format === 'safetensors' ? { weights: loaded as Record<string, Tensor>, trainedOn } : weightsIn(loaded, file);
    return { ...found, release: () => disposeValue(loaded) };
  } catch (e) {
    disposeValue(loaded);
    throw e;
  }
}

/** A weights file read once: what it records, and its state dict to load into a model. */
export interface WeightsFile {
  /** What the model was trained on; null when the file records nothing (the reference's plain state dicts: CIFAR-10). */
  trainedOn: TrainedOn | null;
  /** Loads the state dict into `model`; the error names the file and what was expected, and leaves the model unchanged. */
  loadInto(model: Module): void;
  /** Frees the file's tensors (idempotent). */
  release(): void;
}

/**
 * Reads a weights file (any that `loadWeights` reads) once, so that a caller can build the
 * model its record names and then load it, without reading the file twice. Call release().
 */
export async function openWeights(file: string, format: WeightsFormat = file.endsWith('.safetensors') ? 'safetensors' : 'pt'): Promise<WeightsFile> {
  const { weights, trainedOn, release } = await readWeights(file, format);
  let released = false;
  return {
    trainedOn,
    loadInto(model: Module): void {
      try {
        model.loadStateDict(weights);
      } catch (e) {
        throw new Error(
          `Checkpoint ${file} does not hold ${model.constructor.name} weights: expected its ${stateDictSummary(model)}, ` +
            `as \`torchbridge train\` saves them. ${(e as Error).message}`,
        );
      }
    },
    release(): void {
      if (!released) release();
      released = true;
    },
  };
}

/**
 * What a weights file (any that `loadWeights` reads) records the model was trained on, or
 * null when it records nothing (the reference's plain state dicts: CIFAR-10).
 */
export async function readTrainedOn(file: string, format: WeightsFormat = file.endsWith('.safetensors') ? 'safetensors' : 'pt'): Promise<TrainedOn | null> {
  const w = await openWeights(file, format);
  w.release();
  return w.trainedOn;
}

/**
 * Loads a weights file into `model`: a plain state dict (what `torchbridge train
 * --checkpoint`, save(model.stateDict()) and Python's torch.save(model.state_dict())
 * write), a {@link WEIGHTS_FORMAT} file, a training checkpoint from --checkpoint-dir, or, with
 * format 'safetensors' (by default when the name ends in .safetensors), a safetensors file. Every
 * error names the file and says what was expected; on error the model is unchanged. Resolves to
 * what the file records the model was trained on, or null.
 */
export async function loadWeights(model: Module, file: string,
  format: WeightsFormat = file.endsWith('.safetensors') ? 'safetensors' : 'pt'): Promise<TrainedOn | null> {
  const w = await openWeights(file, format);
  try {
    w.loadInto(model);
    return w.trainedOn;
  } finally {
    w.release();
  }
}

/**
 * Writes a model's weights to `file`: a plain state dict (or plain safetensors) when `trainedOn`
 * is null, else with the record: a {@link WEIGHTS_FORMAT} dict, or the safetensors metadata key
 * {@link TRAINED_ON_KEY}. Atomic, as save() and saveSafetensors() are.
 */
export async function saveWeights(model: Module, file: string, format: WeightsFormat, trainedOn: TrainedOn | null): Promise<void> {
  const weights = model.stateDict();
  try {
    if (format === 'safetensors') {
      await saveSafetensors(weights, file, { metadata: { format: 'pt', ...(trainedOn ? { [TRAINED_ON_KEY]: JSON.stringify(trainedOn) } : {}) } });
    } else {
      await save(trainedOn ? { format: WEIGHTS_FORMAT, model: weights, data: trainedOnValue(trainedOn) } : weights, file);
    }
  } finally {
    for (const t of Object.values(weights)) t.dispose();
  }
}

/** Where a run stands, besides the recipe's own states. */
export interface RunPosition {
  epoch: number;
  step: number;
  lossSum: number;
  /** This epoch's correct training predictions so far. */
  correct: number;
  /** The data loader's generator at the epoch's start. */
  loaderState: number[];
  history: Value[];
}

/** Saves the recipe's states and the run's position into `dir`; returns the file. */
export async function saveRunCheckpoint(dir: string, r: Recipe, at: RunPosition, config: Value): Promise<string> {
  const ckpt: Checkpoint = {
    format: CHECKPOINT_FORMAT, epoch: at.epoch, step: at.step, lossSum: at.lossSum, correct: at.correct, model: r.model.stateDict(),
    optimizer: r.optimizer.stateDict() as unknown as Value, scheduler: r.scheduler.stateDict() as Value,
    ...(r.scaler ? { scaler: r.scaler.stateDict() as unknown as Value } : {}),
    rng: { torch: new Tensor(addon.getRngState()), data: at.loaderState }, config, history: at.history,
    data: trainedOnValue(r.trainedOn),
  };
  try {
    return await saveCheckpoint(dir, ckpt);
  } finally {
    disposeValue(ckpt as unknown as Value);
  }
}

/** Puts a loaded checkpoint's states into the recipe and libtorch's generator; frees the checkpoint. */
export function restoreRunCheckpoint(r: Recipe, k: Checkpoint): RunPosition {
  try {
    r.model.loadStateDict(k.model);
    r.optimizer.loadStateDict(k.optimizer as never);
    r.scheduler.loadStateDict(k.scheduler as Record<string, unknown>);
    if (r.scaler && k.scaler) r.scaler.loadStateDict(k.scaler as unknown as GradScalerState);
    addon.setRngState(k.rng.torch.raw);
    r.trainLoader.setState(k.rng.data);
    return { epoch: k.epoch, step: k.step, lossSum: k.lossSum, correct: k.correct ?? 0, loaderState: k.rng.data, history: k.history };
  } finally {
    disposeValue(k as unknown as Value);
  }
}

const MODEL_NAME = /^model-(\d+)\.safetensors$/;

/** The name of the weights file written after `epoch` finished epochs: model-0003.safetensors. */
export function modelWeightsName(epoch: number): string {
  return `model-${String(epoch).padStart(4, '0')}.safetensors`;
}

/**
 * Writes a model's weights as model-<epoch>.safetensors in `dir`, beside the
 * checkpoint of the same epoch, and prunes all but the newest `keep`, as
 * saveCheckpoint does. The metadata says format 'pt', which Hugging Face's
 * loaders look for. Only the weights: the checkpoint keeps the rest.
 */
export async function saveModelWeights(dir: string, model: Module, epoch: number, keep = 2, trainedOn: TrainedOn | null = null): Promise<string> {
  fs.mkdirSync(dir, { recursive: true });
  for (const f of fs.readdirSync(dir)) if (/^model-\d+\.safetensors\.tmp-[\d-]+$/.test(f)) fs.rmSync(path.join(dir, f), { force: true });
  const file = path.join(dir, modelWeightsName(epoch));
  const weights = model.stateDict();
  try {
    await saveSafetensors(weights, file, {
      metadata: { format: 'pt', epoch: String(epoch), ...(trainedOn ? { [TRAINED_ON_KEY]: JSON.stringify(trainedOn) } : {}) },
    });
  } finally {
    for (const t of Object.values(weights)) t.dispose();
  }
  const old = fs.readdirSync(dir)
    .map((f) => ({ f, m: MODEL_NAME.exec(f) }))
    .filter((e): e is { f: string; m: RegExpExecArray } => e.m !== null)
    .sort((a, b) => Number(b.m[1]) - Number(a.m[1]))
    .slice(keep);
  for (const e of old) fs.rmSync(path.join(dir, e.f), { force: true });
  return file;
}
