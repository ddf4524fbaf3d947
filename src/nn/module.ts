// Module: the base of every layer and model, as torch.nn.Module.
//
// Subclasses declare fields and a forward(). Fields holding a Parameter, a
// buffer (registerBuffer) or a Module are found by name, in declaration order,
// so state-dict keys equal Python's: a field `conv1` holding a Sequential whose
// first child is a Conv2d gives `conv1.0.weight`.
import { checkDevice } from '../device';
import { addon } from '../native';
import { asTensor, keep, noGrad, Tensor } from '../tensor';
import * as v from '../validate';
import { ForwardPlan, PlanStep, rawSteps } from './plan';
import { addIndent } from './repr';

/**
 * A tensor that a {@link Module} trains, as `torch.nn.Parameter`: assigning one to a module's field
 * registers it, so it appears in parameters() and the state dict. Requires grad by default.
 */
export class Parameter extends Tensor {
  /**
   * @param data - the initial values; its native tensor is taken over and `data` is disposed.
   * @param requiresGrad - whether the optimizer trains it (true by default).
   */
  constructor(data: Tensor, requiresGrad = true) {
    super(data.raw.unary('detach'));
    keep(this);
    data.dispose();
    if (requiresGrad) this.requiresGrad = true;
  }
}

const buffers = new WeakSet<Tensor>();

/**
 * What {@link Module.loadStateDict} did not match, as PyTorch's `_IncompatibleKeys`. Non-empty only
 * with `strict: false`.
 */
export interface LoadResult {
  /** Keys of the module that the dict lacks (left unchanged). */
  missingKeys: string[];
  /** Keys of the dict that the module lacks (ignored). */
  unexpectedKeys: string[];
}

/** The prototype (or the object itself) that defines `key` for `m`. */
function definer(m: Module, key: 'forward' | 'forwardPlan'): object | null {
  let o: object | null = m;
  while (o !== null && !Object.prototype.hasOwnProperty.call(o, key)) o = Object.getPrototypeOf(o);
  return o;
}

/**
 * Whether m declares a forward plan: its class (or one above it) defines
 * forwardPlan(), and no class below that one overrides forward(), since the
 * inherited plan would silently skip the new forward's code.
 */
function declaresPlan(m: Module): boolean {
  const forward = definer(m, 'forward'), plan = definer(m, 'forwardPlan');
  if (plan === null || plan === Module.prototype) return false;
  return forward === plan || forward === null || !Object.prototype.isPrototypeOf.call(plan, forward);
}

/**
 * m's forward plan, or null when it has none (or a subclass's forward() makes an inherited plan
 * stale): what a model whose forward() is not a plain chain of its children builds its plan from.
 */
export function planOf(m: Module): ForwardPlan | null {
  return declaresPlan(m) ? m.forwardPlan() : null;
}

/** Why m has no plan: the dotted path (or '') and class of the module at fault. */
function missingPlan(m: Module, path: string): { path: string; name: string } | null {
  if (planOf(m) !== null) return null;
  if (declaresPlan(m)) {
    for (const [k, c] of m.namedChildren()) {
      const inner = missingPlan(c, path ? `${path}.${k}` : k);
      if (inner) return inner;
    }
  }
  return { path, name: m.constructor.name };
}

/**
 * The base of every layer and model, as `torch.nn.Module`.
 *
 * Subclass it, assign layers, {@link Parameter}s and buffers to fields (in the constructor or as
 * field initialisers) and implement {@link Module.forward}. Fields are found by name in declaration
 * order, so state-dict keys and `print` text equal Python's: a field `conv1` holding a Sequential
 * whose first child is a Conv2d gives the key `conv1.0.weight`.
 *
 * ```ts
 * class Net extends nn.Module {
 *   fc = new nn.Linear(784, 10);
 *   forward(x: Tensor): Tensor { return this.fc.forward(x.flatten(1)); }
 * }
 * ```
 *
 * Modules hold native memory: {@link Module.dispose} frees the parameters and buffers.
 */
export abstract class Module {
  /**
   * Whether the module is in training mode (dropout active, batch norm updating its statistics); see
   * {@link Module.train} and {@link Module.eval}.
   */
  training = true;

  /** Computes the output, as `forward()` in PyTorch. Call it directly: `net.forward(x)`. The caller owns the result. */
  abstract forward(...inputs: Tensor[]): Tensor;

  /**
   * forward() as native layer ops in order, for {@link Module.forwardAsync}; null (the default)
   * when forward() is TypeScript of its own. The built-in layers, Sequential and AlexNetModel have
   * one. A module whose forward() is {@link Module.forwardChildren} declares
   * `forwardPlan() { return this.planChildren(); }`. The plan reads the module as it is now: its
   * parameters, and `training` for dropout and batch norm.
   */
  forwardPlan(): ForwardPlan | null {
    return null;
  }

  /**
   * forward(x) computed in libtorch on a native worker thread: the JS thread stays free meanwhile,
   * and several calls may be in flight (they compute one at a time, each on all of
   * {@link setNumThreads}' threads). Resolves with a new Tensor (dispose it; it belongs to no
   * tidy()) equal to `noGrad(() => forward(x))`'s, bit for bit on the CPU: the same native ops and
   * kernels, under the caller's autocast and thread count.
   *
   * - Autograd is off: the result has no graph and never requires grad. Train with forward().
   * - `training` is honoured as forward() honours it: dropout drops (from the global generator) in
   *   training mode. Batch norm in training mode would update its running statistics from another
   *   thread, so it is refused: call eval().
   * - The module and x are read when the call is made: disposing them, or calling setData, while
   *   it is in flight does not affect it (it holds its own handles). Writing into their values in
   *   place meanwhile (an optimizer step, copy_) races with it.
   * - In-place layers (ReLU(true)) never write into x itself.
   * - Calls wait their turn on the JS side: only the one computing holds a thread of libuv's pool,
   *   so file I/O and sharp are not queued behind a backlog of forwards.
   * - Rejects with an Error when the module has no plan (a forward() of its own; see
   *   {@link Module.forwardPlan}), x is disposed, or libtorch fails:
   *   `forwardAsync: conv2d (conv1.0): <libtorch's message>`.
   */
  async forwardAsync(x: Tensor): Promise<Tensor> {
    const input = asTensor(x, 'input');
    const plan = planOf(this);
    if (plan === null) {
      const where = missingPlan(this, '') ?? { path: '', name: this.name };
      const what = where.path ? `its child ${where.path} (${where.name}) has a forward() of its own` : 'its forward() is TypeScript of its own';
      throw new Error(`forwardAsync: ${this.name} has no forward plan: ${what}; call forward(), or give the module a ` +
        'forwardPlan() (built-in layers, Sequential and modules whose forward() runs their children in order have one)');
    }
    return new Tensor(await addon.forwardAsync(input.raw, rawSteps(plan)));
  }

  /**
   * Runs the children in declaration order, each on the previous one's output: forward() for
   * Sequential and for models that are a chain of their fields.
   */
  protected forwardChildren(x: Tensor): Tensor {
    let y = x;
    for (const m of this.children()) y = m.forward(y);
    return y;
  }

  /**
   * The plan of {@link Module.forwardChildren}: the children's plans in order, each step labelled
   * with its child's dotted name. Null when a child has none.
   */
  protected planChildren(): ForwardPlan | null {
    const out: PlanStep[] = [];
    for (const [name, child] of this.namedChildren()) {
      const plan = planOf(child);
      if (plan === null) return null;
      for (const s of plan) out.push({ ...s, module: s.module ? `${name}.${s.module}` : name });
    }
    return out;
  }

  /** Registers a tensor that is state but not trained (BatchNorm's running stats). */
  protected registerBuffer(name: string, t: Tensor): void {
    keep(t);
    buffers.add(t);
    (this as unknown as Record<string, Tensor>)[name] = t;
  }

  /** Name in print(module): the class name. */
  protected get name(): string {
    return this.constructor.name;
  }

  /** The text inside the parentheses of print(module), as Python's extra_repr(). */
  extraRepr(): string {
    return '';
  }

  /** The direct submodules with their field names, in declaration order, as `named_children()`. */
  namedChildren(): [string, Module][] {
    return Object.entries(this).filter((e): e is [string, Module] => e[1] instanceof Module);
  }

  /** The direct submodules, in declaration order, as `children()`. */
  children(): Module[] {
    return this.namedChildren().map(([, m]) => m);
  }

  /** Own parameters and buffers first, then each child's, as PyTorch orders them. */
  private namedTensors(prefix: string, out: [string, Tensor, 'param' | 'buffer'][]): void {
    for (const [k, x] of Object.entries(this)) {
      if (x instanceof Parameter) out.push([prefix + k, x, 'param']);
    }
    for (const [k, x] of Object.entries(this)) {
      if (x instanceof Tensor && buffers.has(x)) out.push([prefix + k, x, 'buffer']);
    }
    for (const [k, m] of this.namedChildren()) m.namedTensors(`${prefix}${k}.`, out);
  }

  private allTensors(): [string, Tensor, 'param' | 'buffer'][] {
    const out: [string, Tensor, 'param' | 'buffer'][] = [];
    this.namedTensors('', out);
    return out;
  }

  /**
   * Every parameter of this module and its descendants with its dotted name, in PyTorch's order, as
   * `named_parameters()`.
   */
  namedParameters(): [string, Parameter][] {
    return this.allTensors().filter((e) => e[2] === 'param').map(([k, t]) => [k, t as Parameter]);
  }

  /**
   * Every parameter of this module and its descendants, in PyTorch's order, as `parameters()`: what an
   * optimizer takes.
   */
  parameters(): Parameter[] {
    return this.namedParameters().map(([, p]) => p);
  }

  /**
   * Every buffer (state that is not trained, e.g. batch norm's running statistics) with its dotted
   * name, as `named_buffers()`.
   */
  namedBuffers(): [string, Tensor][] {
    return this.allTensors().filter((e) => e[2] === 'buffer').map(([k, t]) => [k, t]);
  }

  /**
   * Sets requiresGrad on every parameter of this module and its descendants, as `requires_grad_()`:
   * `false` freezes them for fine-tuning (backward leaves their grad null, so optimizers, which skip
   * parameters without a gradient as PyTorch's do, leave them unchanged). Returns this module.
   */
  requiresGrad_(requiresGrad = true): this {
    const flag = v.boolean(requiresGrad, 'requiresGrad');
    for (const p of this.parameters()) p.requiresGrad = flag;
    return this;
  }

  /** Sets training mode on this module and every descendant, as `train(mode)`. Returns this module. */
  train(mode = true): this {
    this.training = v.boolean(mode, 'mode');
    for (const c of this.children()) c.train(mode);
    return this;
  }

  /**
   * Sets evaluation mode (dropout off, batch norm using its running statistics), as `eval()`; the same
   * as `train(false)`. Returns this module.
   */
  eval(): this {
    return this.train(false);
  }

  /**
   * Moves every parameter and buffer to `device` in place, as Python's `module.to(device)`: the
   * Parameter objects stay the same, so optimizers made before still hold them. Returns this module.
   * Throws when the device is not built in or not present.
   */
  to(device: string): this {
    const d = checkDevice(device);
    noGrad(() => {
      for (const [, t] of this.allTensors()) {
        const moved = t.to(d);
        t.setData(moved);
        moved.dispose();
      }
    });
    return this;
  }

  /**
   * Parameters and buffers by dotted name, as `state_dict()`; {@link save} writes it for Python's
   * `load_state_dict`. The tensors are new handles sharing storage with the module (like Python's
   * detached state_dict tensors): dispose them when done; the module keeps its own.
   */
  stateDict(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const [k, t] of this.allTensors()) out[k] = t.detach();
    return out;
  }

  /**
   * Copies values in, as `load_state_dict()`, from a state dict of ours or Python's. With strict
   * (the default), missing or unexpected keys are an error; a shape mismatch always is. On error
   * nothing is changed and the Error lists every problem, as PyTorch's does. The dict's tensors
   * stay the caller's.
   */
  loadStateDict(dict: Record<string, Tensor>, options: { strict?: boolean } = {}): LoadResult {
    v.object(dict, 'stateDict');
    const o = v.options(options, 'options', ['strict']);
    const strict = o.strict === undefined ? true : v.boolean(o.strict, 'strict');
    const own = new Map(this.allTensors().map(([k, t]) => [k, t]));
    const missingKeys = [...own.keys()].filter((k) => !(k in dict));
    const unexpectedKeys = Object.keys(dict).filter((k) => !own.has(k));
    const problems: string[] = [];
    for (const [k, t] of own) {
      if (!(k in dict)) continue;
      const src = dict[k];
      if (!(src instanceof Tensor) || src.isDisposed) {
        problems.push(`\tvalue for ${k} is not a live Tensor.`);
        continue;
      }
      const a = src.shape, b = t.shape;
      if (a.length !== b.length || a.some((x, i) => x !== b[i])) {
        problems.push(`\tsize mismatch for ${k}: copying a param with shape [${a}] from checkpoint, the shape in current model is [${b}].`);
      }
    }
    if (strict) {
      if (unexpectedKeys.length) problems.unshift(`\tUnexpected key(s) in state_dict: ${unexpectedKeys.map((k) => `"${k}"`).join(', ')}.`);
      if (missingKeys.length) problems.unshift(`\tMissing key(s) in state_dict: ${missingKeys.map((k) => `"${k}"`).join(', ')}.`);
    }
    if (problems.length) {
      throw new Error(`Error(s) in loading state_dict for ${this.name}:\n${problems.join('\n')}`);
    }
    noGrad(() => {
      for (const [k, t] of own) if (k in dict) t.copy_(dict[k]);
    });
    return { missingKeys, unexpectedKeys };
  }

  /** Frees every parameter and buffer now. */
  dispose(): void {
    for (const [, t] of this.allTensors()) t.dispose();
  }

  /** The same text as Python's print(module). */
  toString(): string {
    const extra = this.extraRepr();
    const extraLines = extra ? extra.split('\n') : [];
    const childLines = this.namedChildren().map(([k, m]) => `(${k}): ${addIndent(m.toString(), 2)}`);
    const lines = [...extraLines, ...childLines];
    let s = `${this.name}(`;
    if (lines.length) {
      s += extraLines.length === 1 && childLines.length === 0 ? extraLines[0] : `\n  ${lines.join('\n  ')}\n`;
    }
    return `${s})`;
  }
}
