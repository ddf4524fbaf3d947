// Collectives across processes on c10d, libtorch's own distributed engine (binding/distributed.cc).
// One default process group per process, as torch.distributed has; its store path is the one
// Python's init_process_group builds, so torchbridge and Python ranks can share a job.
import { addon, DistributedInfo, RawProcessGroup } from '../native';
import { asTensor, Tensor } from '../tensor';
import * as v from '../validate';

export type { DistributedInfo };

/** A c10d backend: gloo (CPU tensors), nccl (CUDA), hccl (Ascend NPU through torch_npu). */
export type Backend = 'gloo' | 'nccl' | 'hccl';
/** How {@link allReduce} combines the ranks' tensors, as `torch.distributed.ReduceOp`. */
export type ReduceOp = 'sum' | 'avg' | 'min' | 'max' | 'product';

const backendNames: readonly Backend[] = ['gloo', 'nccl', 'hccl'];
const reduceOps: readonly ReduceOp[] = ['sum', 'avg', 'min', 'max', 'product'];
const floatingDtypes: readonly string[] = ['float32', 'float64', 'float16', 'bfloat16'];

/** Options of {@link initProcessGroup}; each defaults to torchrun's environment variable. */
export interface InitProcessGroupOptions {
  /** The c10d backend. Default: hccl in an npu build, nccl in a cuda build with a GPU, else gloo. */
  backend?: Backend;
  /** This process's rank, 0..worldSize-1. Default: $RANK. */
  rank?: number;
  /** How many processes take part. Default: $WORLD_SIZE. */
  worldSize?: number;
  /** This process's rank on its machine (to pick a device). Default: $LOCAL_RANK, else rank. */
  localRank?: number;
  /** The address of rank 0, which hosts the TCPStore. Default: $MASTER_ADDR. */
  masterAddr?: string;
  /** The TCPStore's port on masterAddr. Default: $MASTER_PORT. */
  masterPort?: number;
  /**
   * How long to wait for the other ranks, when joining and in each collective, in milliseconds.
   * Default: 1800000 (30 minutes), as PyTorch's default for gloo.
   */
  timeoutMs?: number;
}

interface Group {
  pg: RawProcessGroup;
  backend: Backend;
  rank: number;
  worldSize: number;
  localRank: number;
}

let group: Group | null = null;
let joining = false;

/**
 * What this build of the addon has for distributed work: whether it was built, its backends, why not
 * (for example gloo's headers missing at build time), and where gloo's headers came from.
 */
export function info(): DistributedInfo {
  return addon.distributed.info();
}

/** Whether `backend` (default gloo) is built into this torchbridge, as `torch.distributed.is_available()`. */
export function isAvailable(backend: Backend = 'gloo'): boolean {
  return info().backends.includes(v.oneOf(backend, 'backend', backendNames));
}

// An option, else its torchrun environment variable, as an integer.
function fromEnv(value: unknown, name: string, envName: string, min: number): number | undefined {
  if (value !== undefined) return v.integer(value, name, min);
  const text = process.env[envName];
  if (text === undefined || text === '') return undefined;
  if (!/^\d+$/.test(text.trim())) throw v.invalid(min === 1 ? 'positive integer' : 'non-negative integer', `$${envName}`, text);
  return v.integer(Number(text), `$${envName}`, min);
}

function required<T>(value: T | undefined, name: string, envName: string): T {
  if (value === undefined) {
    throw new TypeError(`initProcessGroup: ${name} is required: pass options.${name} or set ${envName} (as torchrun does)`);
  }
  return value;
}

function defaultBackend(): Backend {
  const b = addon.backends();
  if (b.compiled.npu) return 'hccl';
  if (b.compiled.cuda && b.available.cuda) return 'nccl';
  return 'gloo';
}

// The Error for a backend this build lacks, with what to do about it.
function notBuilt(backend: Backend): Error {
  const i = info();
  if (backend === 'gloo') {
    return new Error(`initProcessGroup: the gloo backend is not built into this torchbridge: ${i.reason ?? 'unknown reason'}. ` +
      'Install gloo\'s headers (Debian/Ubuntu: apt-get install libgloo-dev, or set GLOO_INCLUDE_DIR) and run npm run build:native');
  }
  const what = backend === 'nccl' ? 'CUDA' : 'Ascend NPU';
  return new Error(`initProcessGroup: the ${backend} backend is not built into torchbridge (${what} collectives are not wired yet; ` +
    `built: ${i.backends.length ? i.backends.join(', ') : 'none'}). Use backend: 'gloo' for CPU tensors`);
}

/**
 * Joins the default process group, as `torch.distributed.init_process_group(backend, init_method='env://')`:
 * rank 0 hosts a c10d TCPStore at masterAddr:masterPort, every rank connects to it, and the backend
 * meets the other ranks through it. Resolves once all worldSize ranks have joined; rejects after
 * timeoutMs otherwise. Python ranks that call init_process_group with the same address join the same
 * group. Under torchrun (TORCHELASTIC_USE_AGENT_STORE=True) the agent hosts the store, as in Python.
 */
export async function initProcessGroup(options?: InitProcessGroupOptions): Promise<void> {
  const o = v.options(options, 'initProcessGroup', ['backend', 'rank', 'worldSize', 'localRank', 'masterAddr', 'masterPort', 'timeoutMs']);
  if (group || joining) {
    throw new Error('initProcessGroup: the default process group is already initialised; call destroyProcessGroup() first');
  }
  const backend = o.backend === undefined ? defaultBackend() : v.oneOf(o.backend, 'backend', backendNames);
  const worldSize = required(fromEnv(o.worldSize, 'worldSize', 'WORLD_SIZE', 1), 'worldSize', 'WORLD_SIZE');
  const rank = required(fromEnv(o.rank, 'rank', 'RANK', 0), 'rank', 'RANK');
  if (rank >= worldSize) throw v.invalid(`integer between 0 and ${worldSize - 1} (worldSize ${worldSize})`, 'rank', rank);
  const localRank = fromEnv(o.localRank, 'localRank', 'LOCAL_RANK', 0) ?? rank;
  const masterAddr = required(o.masterAddr === undefined ? process.env.MASTER_ADDR || undefined : v.string(o.masterAddr, 'masterAddr'),
    'masterAddr', 'MASTER_ADDR');
  const masterPort = required(fromEnv(o.masterPort, 'masterPort', 'MASTER_PORT', 1), 'masterPort', 'MASTER_PORT');
  v.integer(masterPort, o.masterPort === undefined ? '$MASTER_PORT' : 'masterPort', 1, 65535);
  const timeoutMs = o.timeoutMs === undefined ? 1_800_000 : v.integer(o.timeoutMs, 'timeoutMs', 1);
  if (!isAvailable(backend)) throw notBuilt(backend);

  const agentStore = process.env.TORCHELASTIC_USE_AGENT_STORE === 'True';
  const pg = new addon.distributed.ProcessGroup!();
  joining = true;
  try {
    await pg.connect({
      host: masterAddr, port: masterPort, rank, size: worldSize, timeoutMs,
      isServer: rank === 0 && !agentStore,
      useLibUV: (process.env.USE_LIBUV ?? '1') === '1',
      // Python's init_process_group: PrefixStore('default_pg') around the rendezvous store, then the
      // default group's name ('0'), then the device ('cpu/') in front of the backend.
      prefix: 'default_pg',
      groupName: '0',
    });
  } finally {
    joining = false;
  }
  group = { pg, backend, rank, worldSize, localRank };
}

function current(op: string): Group {
  if (!group) throw new Error(`${op}: the default process group is not initialised; call distributed.initProcessGroup() first`);
  return group;
}

/** The default group's native process group, for DistributedDataParallel; throws naming `op` when there is none. */
export function processGroup(op: string): RawProcessGroup {
  return current(op).pg;
}

/**
 * Leaves the default process group and closes its store; does nothing when there is none. As
 * Python's destroy_process_group, it first waits for collectives already started (at most the
 * group's timeout). A group still alive when the process exits is not torn down: it ends with the
 * process, so exit does not wait for its collectives, and its peers see this rank go as it exits.
 */
export function destroyProcessGroup(): void {
  const g = group;
  group = null;
  g?.pg.destroy();
}

/** Whether the default process group is initialised, as `torch.distributed.is_initialized()`. */
export function isInitialized(): boolean {
  return group !== null;
}

/** This process's rank in the default group. Throws when there is none. */
export function getRank(): number {
  return current('getRank').rank;
}

/** How many processes the default group has. Throws when there is none. */
export function getWorldSize(): number {
  return current('getWorldSize').worldSize;
}

/** This process's rank on its machine ($LOCAL_RANK, else its rank). Throws when there is none. */
export function getLocalRank(): number {
  return current('getLocalRank').localRank;
}

/** The backend of the default group. Throws when there is none. */
export function getBackend(): Backend {
  return current('getBackend').backend;
}

/**
 * Combines `tensor` across all ranks, in place, as `torch.distributed.all_reduce`: every rank ends
 * with the sum (or the mean, min, max, product). 'avg' sums and divides by the world size, as DDP
 * does on gloo. Resolves when this rank's result is ready; rejects with c10d's message when a rank
 * fails or the group's timeout passes. Call it in the same order on every rank; leave the tensor
 * alone until the promise settles.
 */
export async function allReduce(tensor: Tensor, op: ReduceOp = 'sum'): Promise<void> {
  const { t, reduce } = reduceArgs(tensor, op);
  await current('allReduce').pg.allReduce(t.raw, reduce);
}

// allReduce's arguments, checked before anything is sent.
function reduceArgs(tensor: Tensor, op: ReduceOp): { t: Tensor; reduce: ReduceOp } {
  const t = asTensor(tensor, 'tensor');
  const reduce = v.oneOf(op, 'op', reduceOps);
  // Checked first: the division would otherwise fail after the sum had already been written.
  if (reduce === 'avg' && !floatingDtypes.includes(t.dtype)) {
    throw new TypeError(`allReduce: op 'avg' needs a floating-point tensor, but tensor is ${t.dtype}; use 'sum'`);
  }
  return { t, reduce };
}

/**
 * {@link allReduce} that returns when done, blocking this thread, for synchronous training loops
 * (which block on each step anyway); throws with c10d's message.
 */
export function allReduceBlocking(tensor: Tensor, op: ReduceOp = 'sum'): void {
  const { t, reduce } = reduceArgs(tensor, op);
  current('allReduce').pg.allReduceBlocking(t.raw, reduce);
}

/**
 * Copies `tensor` from rank `src` to every rank, in place, as `torch.distributed.broadcast`.
 * Every rank passes a tensor of the same shape and dtype.
 */
export async function broadcast(tensor: Tensor, src = 0): Promise<void> {
  const t = asTensor(tensor, 'tensor');
  const g = current('broadcast');
  const root = v.integer(src, 'src', 0, g.worldSize - 1);
  await g.pg.broadcast(t.raw, root);
}

/** Resolves once every rank has called it, as `torch.distributed.barrier`. */
export async function barrier(): Promise<void> {
  await current('barrier').pg.barrier();
}
