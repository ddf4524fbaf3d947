// The raw addon, typed in one place. Public code goes through src/tensor.ts and
// friends, which validate arguments before anything reaches C++.
import * as path from 'node:path';
import { isMainThread } from 'node:worker_threads';
import { packageRoot } from './paths';

/** A tensor element type, by torch's name (`torch.float32` is 'float32'). */
export type DType = 'float32' | 'float64' | 'float16' | 'bfloat16' | 'int64' | 'int32' | 'uint8' | 'bool';
export type TypedData = Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array | Uint16Array;

export interface RawTensor {
  shape(): number[];
  strides(): number[];
  dtype(): DType;
  device(): string;
  isDisposed(): boolean;
  dispose(): void;
  data(): Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array;
  item(): number;
  to(device: string | null, dtype: DType | null, memoryFormat: 'channels_last' | 'contiguous' | null): RawTensor;
  requiresGrad(): boolean;
  setRequiresGrad(flag: boolean): void;
  grad(): RawTensor | null;
  backward(gradient: RawTensor | null, retainGraph: boolean): void;
  unary(op: string): RawTensor;
  binary(op: string, other: RawTensor | number | boolean, alpha?: number): RawTensor;
  reduce(op: string, dims: number[] | null, keepdim: boolean): RawTensor;
  shaped(op: string, sizes: number[]): RawTensor;
  clamp(min: number | null, max: number | null): RawTensor;
  maxDim(dim: number, keepdim: boolean): [RawTensor, RawTensor];
  indexSelect(dim: number, index: RawTensor): RawTensor;
  narrow(dim: number, start: number, length: number): RawTensor;
  inPlace(op: string, a?: number | RawTensor, b?: number): void;
  setData(other: RawTensor): void;
}

export interface RawTensorStatic {
  fromData(data: TypedData, shape: number[], dtype: DType, device: string): RawTensor;
  fill(kind: 'zeros' | 'ones' | 'empty' | 'full', shape: number[], dtype: DType, device: string, value?: number): RawTensor;
  random(kind: 'randn' | 'rand' | 'randint' | 'randperm', shape: number[], dtype: DType, device: string, a?: number, b?: number, seed?: number): RawTensor;
  arange(start: number, end: number, step: number, dtype: DType, device: string): RawTensor;
  cat(tensors: RawTensor[], dim: number): RawTensor;
  stack(tensors: RawTensor[], dim: number): RawTensor;
}

export interface RawSGD {
  /** fused false: the per-tensor loop even where ATen's fused kernel applies. */
  step(start: number, end: number, lr: number, momentum: number, dampening: number, weightDecay: number,
    nesterov: boolean, maximize: boolean, fused: boolean): void;
  zeroGrad(setToNone: boolean): void;
  buffer(index: number): RawTensor | null;
  setBuffer(index: number, value: RawTensor | null): void;
  dispose(): void;
}

export interface RawAdam {
  step(start: number, end: number, lr: number, beta1: number, beta2: number, eps: number, weightDecay: number,
    amsgrad: boolean, maximize: boolean, decoupled: boolean): void;
  zeroGrad(setToNone: boolean): void;
  state(index: number): { step: number; exp_avg: RawTensor; exp_avg_sq: RawTensor; max_exp_avg_sq?: RawTensor } | null;
  setState(index: number, step: number | null, expAvg?: RawTensor, expAvgSq?: RawTensor, maxExpAvgSq?: RawTensor | null): void;
  dispose(): void;
}

/**
 * The layer ops, by name, with their arguments after the input x, as native code
 * takes them: addon.functional.<op>(x, ...args) runs one now, and a forward-plan
 * step {op, args} runs it in forwardAsync. One list, so both take the same arguments.
 */
export interface RawLayerArgs {
  conv2d: [weight: RawTensor, bias: RawTensor | null, stride: number[], padding: number[], dilation: number[], groups: number];
  linear: [weight: RawTensor, bias: RawTensor | null];
  /** Forward plans only (the direct call is Tensor.relu / relu_). */
  relu: [inplace: boolean];
  /** Forward plans only (the direct call is Tensor.flatten). */
  flatten: [startDim: number, endDim: number];
  /** route 'aten': ATen's max_pool2d_with_indices on x as it is, skipping the channels_last route. */
  maxPool2d: [kernel: number[], stride: number[], padding: number[], dilation: number[], ceilMode: boolean, route?: 'auto' | 'aten'];
  avgPool2d: [kernel: number[], stride: number[], padding: number[], ceilMode: boolean, countIncludePad: boolean];
  adaptiveAvgPool2d: [outputSize: number[]];
  dropout: [p: number, train: boolean, inplace: boolean];
  localResponseNorm: [size: number, alpha: number, beta: number, k: number];
  /** inputDims: x must have that many dimensions (BatchNorm2d: 4). */
  batchNorm: [runningMean: RawTensor | null, runningVar: RawTensor | null, weight: RawTensor | null, bias: RawTensor | null,
    training: boolean, momentum: number, eps: number, inputDims?: number];
}

/** The name of a layer op. */
export type LayerOp = keyof RawLayerArgs;

/**
 * One step of a forward plan: a layer op and its arguments after the input, and
 * the dotted name of the module it belongs to ('' for the module itself), which
 * its errors name: "forwardAsync: conv2d (conv1.0): ...".
 */
export type RawPlanStep = { [K in LayerOp]: { op: K; args: RawLayerArgs[K]; module?: string } }[LayerOp];

/** The layer ops as direct calls (all but relu and flatten), and crossEntropy. */
export type RawFunctional = { [K in Exclude<LayerOp, 'relu' | 'flatten'>]: (x: RawTensor, ...args: RawLayerArgs[K]) => RawTensor } & {
  /** Sets this thread's batch shard for dropout (rows offset.. of a batch of total rows); no arguments clear it. */
  setBatchShard(offset?: number, total?: number): void;
  crossEntropy(logits: RawTensor, target: RawTensor, weight: RawTensor | null, reduction: string,
    ignoreIndex: number, labelSmoothing: number): RawTensor;
};

/** Which branch the speed-motivated native code paths took (binding/routes.cc), per thread. */
export interface RouteCounts {
  /** SGD steps through ATen's fused kernel. */
  sgdFused: number;
  /** SGD steps through the per-tensor loop (torch.optim.SGD's single-tensor path). */
  sgdPerTensor: number;
  /** maxPool2d calls re-laid out to channels_last and handed back NCHW. */
  maxPool2dChannelsLast: number;
  /** maxPool2d calls that ran at::max_pool2d on the input as it came. */
  maxPool2dPlain: number;
  /** maxPool2d calls forced onto at::max_pool2d_with_indices (route 'aten'). */
  maxPool2dAten: number;
}

/** What {@link backends} reports about the loaded addon and libtorch. */
export interface Backends {
  /** Devices this build of the addon supports (`npm run build:native -- --device ...`). */
  compiled: {
    /** Always true. */
    cpu: boolean;
    /** Built with CUDA. */
    cuda: boolean;
    /** Built against torch_npu. */
    npu: boolean;
  };
  /** Devices usable now: CUDA with a GPU present; npu once it has been initialised by a first use. */
  available: {
    /** Always true. */
    cpu: boolean;
    /** A CUDA device is present. */
    cuda: boolean;
    /** torch_npu is initialised. */
    npu: boolean;
  };
  /** CUDA devices visible; 0 without CUDA. */
  cudaDeviceCount: number;
  /**
   * How the npu build reaches torch_npu: 'libtorch_npu' (linked) or 'wheel' (imported through Python);
   * null without npu.
   */
  npuRoute: 'libtorch_npu' | 'wheel' | null;
  /** NPUs visible once 'npu' has been initialised (ASCEND_RT_VISIBLE_DEVICES applied); 0 before. */
  npuDeviceCount: number;
  /** The distributed module: built or not and why, its backends, where gloo's headers came from. */
  distributed: DistributedInfo;
  /** The libtorch version the addon was compiled against, e.g. '2.13.0'. */
  libtorch: string;
  /** Whether libtorch uses the C++11 std::string ABI (`_GLIBCXX_USE_CXX11_ABI`). */
  cxx11Abi: boolean;
  /** libtorch's intra-op CPU threads (see {@link setNumThreads}). */
  threads: number;
  /** libtorch's `at::get_parallel_info()` text: OpenMP, MKL and oneDNN threading. */
  parallelInfo: string;
}

/** What this build of the addon has for distributed work (binding/distributed.cc). */
export interface DistributedInfo {
  /** Whether the distributed module was built (gloo's headers were found and compiled). */
  built: boolean;
  /** The c10d backends built in: 'gloo' where built. */
  backends: string[];
  /** Why it was not built; null when it was. */
  reason: string | null;
  /** The folder gloo's headers came from at build time; null when none was used. */
  glooHeaders: string | null;
}

/** A c10d TCPStore and backend (binding/distributed.cc); every collective resolves when done, in place. */
export interface RawProcessGroup {
  connect(config: { host: string; port: number; rank: number; size: number; timeoutMs: number; isServer: boolean;
    useLibUV: boolean; prefix: string; groupName: string }): Promise<void>;
  allReduce(t: RawTensor, op: string): Promise<void>;
  /** allReduce that returns when done, blocking this thread; throws on failure. */
  allReduceBlocking(t: RawTensor, op: string): void;
  broadcast(t: RawTensor, root: number): Promise<void>;
  barrier(): Promise<void>;
  rank(): number;
  size(): number;
  destroy(): void;
}

/** DistributedDataParallel's gradient averaging (binding/reducer.cc): hooks that start bucket all-reduces during backward. */
export interface RawReducer {
  /** Starts the buckets backward did not, and resolves once every .grad holds the average over ranks. */
  finish(): Promise<void>;
  /** finish() that returns when done, blocking this thread; throws on failure. */
  finishBlocking(): void;
  stats(): { buckets: number; startedInBackward: number };
  destroy(): void;
}

export type Saveable = RawTensor | number | string | boolean | null | Saveable[] | { [key: string]: Saveable };

export interface Addon {
  Tensor: RawTensorStatic & (new () => never);
  SGD: new (params: RawTensor[]) => RawSGD;
  Adam: new (params: RawTensor[]) => RawAdam;
  functional: RawFunctional;
  /**
   * Runs the steps in order on x, on a libuv worker thread, with autograd off and
   * the caller's autocast state; resolves with the last step's output. Malformed
   * arguments throw at once; failures while computing reject ("forwardAsync: <op> (<module>): ...").
   */
  forwardAsync(x: RawTensor, steps: RawPlanStep[]): Promise<RawTensor>;
  augmentBatch(images: RawTensor, indices: Int32Array, tops: Int32Array, lefts: Int32Array, flips: Int32Array,
    mean: number[], std: number[], padding: number): RawTensor;
  save(path: string, value: Saveable): Promise<void>;
  load(path: string): Promise<Saveable>;
  backends(): Omit<Backends, 'distributed'>;
  initDevice(device: string): void;
  synchronize(device: string): void;
  cudaMemory(): { allocated?: number; reserved?: number; peak?: number };
  manualSeed(seed: number): void;
  getRngState(): RawTensor;
  setRngState(state: RawTensor): void;
  setNumThreads(n: number): void;
  getNumThreads(): number;
  setCpuLinearKernel(kernel: 'onednn' | 'blas'): void;
  getCpuLinearKernel(): 'onednn' | 'blas';
  autocastEnter(deviceType: string, dtype: DType): [boolean, DType];
  autocastExit(deviceType: string, wasEnabled: boolean, previousDtype: DType): void;
  ampUnscale(grads: RawTensor[], foundInf: RawTensor, invScale: RawTensor): void;
  ampUpdateScale(scale: RawTensor, growthTracker: RawTensor, foundInf: RawTensor,
    growthFactor: number, backoffFactor: number, growthInterval: number): void;
  setGradEnabled(flag: boolean): void;
  isGradEnabled(): boolean;
  routeCounts(): RouteCounts;
  /** ProcessGroup only where the distributed module was built. */
  distributed: {
    info(): DistributedInfo;
    ProcessGroup?: new () => RawProcessGroup;
    /** From here on, finalized process groups are left to end with the process (binding/distributed.cc, LetGo). */
    markProcessExiting?: () => void;
    Reducer?: new (pg: RawProcessGroup, params: RawTensor[], firstBucketBytes: number, bucketBytes: number) => RawReducer;
  };
}

// TORCHBRIDGE_ADDON names another build of the addon (e.g. an npu build made with
// `npm run build:native -- --device npu --build-dir build-npu`).
function load(): Addon {
  const file = process.env.TORCHBRIDGE_ADDON
    ? path.resolve(process.env.TORCHBRIDGE_ADDON)
    : path.join(packageRoot(), 'build', 'Release', 'torchbridge.node');
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    return require(file) as Addon;
  } catch (e) {
    const err = e as Error;
    throw new Error(
      `torchbridge: cannot load the native addon at ${file}: ${err.message}\n\nPossible solutions:\n` +
        '- Build it: npm run build:native -- --device cpu\n' +
        '- Reinstall: npm install (it finds libtorch and builds the addon)',
    );
  }
}

export const addon: Addon = load();

// Only the main thread's 'exit' is the process's; a worker's is its own.
if (isMainThread) process.once('exit', () => addon.distributed.markProcessExiting?.());
