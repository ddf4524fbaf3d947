// Data parallel training, as torch.nn.parallel.DistributedDataParallel: rank 0's weights
// everywhere at the start, then gradients averaged over the ranks after every backward.
// The averaging is binding/reducer.cc: hooks on the parameters start each bucket's
// all-reduce as soon as backward has produced its gradients, so communication overlaps the
// rest of backward, as PyTorch's reducer does.
import { addon, RawReducer } from '../native';
import { Module } from '../nn/module';
import type { ForwardPlan } from '../nn/plan';
import { Tensor } from '../tensor';
import * as v from '../validate';
import { processGroup } from './group';

const MiB = 1024 * 1024;

/** Options of {@link DistributedDataParallel.create}. */
export interface DistributedDataParallelOptions {
  /** The size of each all-reduce bucket in MiB, as PyTorch's `bucket_cap_mb`. Default 25. */
  bucketCapMb?: number;
}

/** How the last {@link DistributedDataParallel.synchronizeGradients} went. */
export interface GradientSyncStats {
  /** The all-reduce buckets the parameters are grouped in. */
  buckets: number;
  /** How many of them started during backward (the rest started in synchronizeGradients). */
  startedInBackward: number;
}

/**
 * Wraps a module for data parallel training over the default process group
 * ({@link distributed.initProcessGroup}), as `torch.nn.parallel.DistributedDataParallel`. Make it with
 * {@link DistributedDataParallel.create}, which broadcasts rank 0's parameters and buffers. Each
 * rank then runs forward on its own share of the batch and calls {@link DistributedDataParallel.backward}
 * (or `loss.backward()` followed by {@link DistributedDataParallel.synchronizeGradients}); after it,
 * every parameter's `.grad` holds the mean over the ranks, so an optimizer step keeps the ranks'
 * weights identical. Gradients are summed in buckets (the first 1 MiB, then `bucketCapMb`) whose
 * all-reduce starts during backward. State-dict keys get the `module.` prefix, as in PyTorch.
 */
export class DistributedDataParallel<M extends Module = Module> extends Module {
  /** The wrapped module. */
  readonly module: M;
  private readonly reducer: RawReducer;

  private constructor(module: M, reducer: RawReducer) {
    super();
    this.module = module;
    this.reducer = reducer;
  }

  /**
   * Broadcasts rank 0's parameters and buffers to every rank, then hooks the parameters that
   * require grad. Every rank calls it, with the same module architecture.
   */
  static async create<M extends Module>(module: M, options?: DistributedDataParallelOptions): Promise<DistributedDataParallel<M>> {
    if (!(module instanceof Module)) throw v.invalid('Module', 'module', module);
    const o = v.options(options, 'DistributedDataParallel', ['bucketCapMb']);
    const bucketCapMb = o.bucketCapMb === undefined ? 25 : v.positive(o.bucketCapMb, 'bucketCapMb');
    const pg = processGroup('DistributedDataParallel');
    const Reducer = addon.distributed.Reducer;
    if (!Reducer) throw new Error('DistributedDataParallel: the distributed module is not built into this torchbridge');
    // All started before any is awaited: they queue in this order on every rank.
    const state = [...module.parameters(), ...module.namedBuffers().map(([, b]) => b)];
    await Promise.all(state.map((t) => pg.broadcast(t.raw, 0)));
    const params = module.parameters().filter((p) => p.requiresGrad);
    const reducer = new Reducer(pg, params.map((p) => p.raw), Math.min(MiB, bucketCapMb * MiB), Math.round(bucketCapMb * MiB));
    return new DistributedDataParallel(module, reducer);
  }

  /** The wrapped module's forward. */
  forward(...inputs: Tensor[]): Tensor {
    return this.module.forward(...inputs);
  }

  /** The wrapped module's plan, for forwardAsync. */
  forwardPlan(): ForwardPlan | null {
    return this.module.forwardPlan();
  }

  /** `loss.backward()`, then {@link DistributedDataParallel.synchronizeGradients}. */
  async backward(loss: Tensor): Promise<void> {
    loss.backward();
    await this.synchronizeGradients();
  }

  /**
   * Resolves once every parameter's `.grad` is the mean of the ranks' gradients. Call it after each
   * backward, on every rank, before the optimizer step. A parameter that got no gradient on a rank
   * counts as zeros there. Rejects with c10d's error when a rank fails or the group's timeout passes.
   */
  async synchronizeGradients(): Promise<void> {
    await this.reducer.finish();
  }

  /**
   * {@link DistributedDataParallel.synchronizeGradients} that returns when done, blocking this thread:
   * for synchronous training loops such as `trainEpoch`, which block on every step anyway (run them
   * off the main thread, as `Trainer` does). Throws with c10d's error.
   */
  synchronizeGradientsBlocking(): void {
    this.reducer.finishBlocking();
  }

  /** How many all-reduce buckets there are, and how many of them the last backward started itself. */
  gradientSyncStats(): GradientSyncStats {
    return this.reducer.stats();
  }

  /** Removes the gradient hooks and returns the wrapped module, which stays in use (dispose() frees it). Idempotent. */
  unwrap(): M {
    this.reducer.destroy();
    return this.module;
  }

  /** Removes the gradient hooks and frees the wrapped module's parameters and buffers. */
  dispose(): void {
    this.reducer.destroy();
    super.dispose();
  }
}
