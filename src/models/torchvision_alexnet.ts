// AlexNet for 224x224 ImageNet-sized inputs, twice: torchvision's layout (so its
// checkpoints load strictly and print(model) matches) and the 2012 paper's.
// Both are features -> [avgpool] -> flatten(1) -> classifier; the flatten is a
// call, not a child (as in torchvision), so forward() and forwardPlan() spell
// the chain out instead of using forwardChildren().
import {
  AdaptiveAvgPool2d, Conv2d, Dropout, Linear, LocalResponseNorm, MaxPool2d, ReLU, Sequential,
} from '../nn/layers';
import { Module, planOf } from '../nn/module';
import { ForwardPlan, layerStep, PlanStep } from '../nn/plan';
import { asTensor, Tensor } from '../tensor';
import * as v from '../validate';

/** Options of {@link TorchvisionAlexNet} and {@link PaperAlexNet}, with torchvision's names and defaults. */
export interface AlexNetOptions {
  /** Size of the last Linear layer's output: the number of classes (1000, ImageNet's). */
  numClasses?: number;
  /** Probability of each Dropout layer in the classifier (0.5). */
  dropout?: number;
}

function checkOptions(options: AlexNetOptions, what: string): { numClasses: number; dropout: number } {
  const o = v.options(options, `${what} options`, ['numClasses', 'dropout']);
  return {
    numClasses: v.integer(o.numClasses ?? 1000, 'numClasses', 1),
    dropout: v.number(o.dropout ?? 0.5, 'dropout', 0, 1),
  };
}

/** A child's plan with each step labelled by its dotted name; null when the child has none. */
function childPlan(name: string, child: Module): PlanStep[] | null {
  const plan = planOf(child);
  return plan && plan.map((s) => ({ ...s, module: s.module ? `${name}.${s.module}` : name }));
}

/** The plans of `parts` in order (a PlanStep stands for itself); null when one has none. */
function chainPlan(parts: ([string, Module] | PlanStep)[]): ForwardPlan | null {
  const out: PlanStep[] = [];
  for (const part of parts) {
    if (!Array.isArray(part)) {
      out.push(part);
      continue;
    }
    const steps = childPlan(...part);
    if (steps === null) return null;
    out.push(...steps);
  }
  return out;
}

/**
 * AlexNet as `torchvision.models.alexnet()` builds it (the "one weird trick" variant, 61,100,840
 * parameters with 1000 classes): `features` (five convolutions of 64-192-384-256-256 channels,
 * three 3x3 stride-2 max pools), `avgpool` (AdaptiveAvgPool2d to 6x6, so inputs of 63x63 and up
 * work) and `classifier` (Dropout, Linear(9216, 4096), ReLU, Dropout, Linear(4096, 4096), ReLU,
 * Linear(4096, numClasses)). Maps [N, 3, 224, 224] to [N, numClasses] logits.
 *
 * State-dict keys (`features.0.weight`, ..., `classifier.6.bias`) and `toString()` equal
 * torchvision's, so its checkpoints load with {@link Module.loadStateDict} (strict), e.g. from a
 * `.pth` read with {@link load}. Weights start as PyTorch's default initialisation (torchvision
 * adds none).
 *
 * Fine-tuning: freeze the layers with {@link Module.requiresGrad_} and replace the head by
 * assignment; optimizers skip parameters without a gradient, as PyTorch's do.
 *
 * ```ts
 * const net = new TorchvisionAlexNet();
 * net.loadStateDict(await load('alexnet-owt-7be5be79.pth') as Record<string, Tensor>);
 * net.features.requiresGrad_(false);
 * const old = net.classifier[6];
 * net.classifier[6] = new nn.Linear(4096, 10);
 * old.dispose();
 * const opt = new optim.SGD(net.parameters(), { lr: 0.01, momentum: 0.9 });
 * ```
 */
export class TorchvisionAlexNet extends Module {
  /** Convolutions, ReLUs and max pools: [N, 3, 224, 224] -> [N, 256, 6, 6]. */
  features: Sequential;
  /** AdaptiveAvgPool2d([6, 6]): any spatial size -> 6x6. */
  avgpool: AdaptiveAvgPool2d;
  /** Dropout and fully connected layers: [N, 9216] -> [N, numClasses]; the head is `classifier[6]`. */
  classifier: Sequential;

  /** Throws a TypeError for a numClasses that is not a positive integer or a dropout outside [0, 1]. */
  constructor(options: AlexNetOptions = {}) {
    super();
    const { numClasses, dropout } = checkOptions(options, 'TorchvisionAlexNet');
    this.features = new Sequential(
      new Conv2d(3, 64, 11, { stride: 4, padding: 2 }), new ReLU(true), new MaxPool2d(3, { stride: 2 }),
      new Conv2d(64, 192, 5, { padding: 2 }), new ReLU(true), new MaxPool2d(3, { stride: 2 }),
      new Conv2d(192, 384, 3, { padding: 1 }), new ReLU(true),
      new Conv2d(384, 256, 3, { padding: 1 }), new ReLU(true),
      new Conv2d(256, 256, 3, { padding: 1 }), new ReLU(true), new MaxPool2d(3, { stride: 2 }),
    );
    this.avgpool = new AdaptiveAvgPool2d([6, 6]);
    this.classifier = new Sequential(
      new Dropout(dropout), new Linear(256 * 6 * 6, 4096), new ReLU(true),
      new Dropout(dropout), new Linear(4096, 4096), new ReLU(true),
      new Linear(4096, numClasses),
    );
  }

  /** torchvision's class name, so toString() equals print(model). */
  protected get name(): string {
    return 'AlexNet';
  }

  /** features -> avgpool -> flatten(1) -> classifier. The caller owns the result. */
  forward(x: Tensor): Tensor {
    const pooled = this.avgpool.forward(this.features.forward(asTensor(x, 'input')));
    return this.classifier.forward(pooled.flatten(1));
  }

  /** forward()'s chain as native ops, for forwardAsync; null when a child (a replaced head, say) has no plan. */
  forwardPlan(): ForwardPlan | null {
    return chainPlan([['features', this.features], ['avgpool', this.avgpool], layerStep.flatten(1), ['classifier', this.classifier]]);
  }
}

/**
 * AlexNet as Krizhevsky, Sutskever and Hinton's 2012 paper describes it, for 224x224 inputs:
 * five convolutions of 96-256-384-384-256 channels (11x11 stride 4, 5x5, then 3x3), local
 * response normalisation after the first two convolutions' ReLUs, overlapping 3x3 stride-2 max
 * pools after the two normalisations and the fifth convolution, then fully connected layers of
 * 4096-4096-numClasses with dropout on the outputs of the first two (62,378,344 parameters with
 * 1000 classes). Maps [N, 3, 224, 224] to [N, numClasses] logits; the first convolution pads by 2,
 * so that 224x224 gives the paper's 55x55 maps (the paper's own arithmetic needs 227).
 *
 * Choices the paper leaves open:
 * - One GPU: each layer is one ungrouped convolution, not the paper's two halves split across two
 *   GPUs (which made conv2, conv4 and conv5 see only their own GPU's half of the channels).
 *   A grouped variant (`groups: 2` on those three) has fewer weights; this one has the same maps
 *   and layer sizes and is what single-device re-implementations train.
 * - The paper's normalisation divides by (k + α Σ a²)^β with α = 1e-4 over n = 5 channels;
 *   `LocalResponseNorm` (as PyTorch's) uses α/n, so its alpha is 5 x 1e-4 = 5e-4.
 * - Weights start as PyTorch's default initialisation, not the paper's N(0, 0.01) with biases of 1.
 *
 * Fields and fine-tuning are as {@link TorchvisionAlexNet}'s: `features`, `classifier`, the head
 * `classifier[6]`.
 */
export class PaperAlexNet extends Module {
  /** Convolutions, ReLUs, normalisations and max pools: [N, 3, 224, 224] -> [N, 256, 6, 6]. */
  features: Sequential;
  /** Fully connected layers with dropout: [N, 9216] -> [N, numClasses]; the head is `classifier[6]`. */
  classifier: Sequential;

  /** Throws a TypeError for a numClasses that is not a positive integer or a dropout outside [0, 1]. */
  constructor(options: AlexNetOptions = {}) {
    super();
    const { numClasses, dropout } = checkOptions(options, 'PaperAlexNet');
    const lrn = () => new LocalResponseNorm(5, 5e-4, 0.75, 2);
    this.features = new Sequential(
      new Conv2d(3, 96, 11, { stride: 4, padding: 2 }), new ReLU(true), lrn(), new MaxPool2d(3, { stride: 2 }),
      new Conv2d(96, 256, 5, { padding: 2 }), new ReLU(true), lrn(), new MaxPool2d(3, { stride: 2 }),
      new Conv2d(256, 384, 3, { padding: 1 }), new ReLU(true),
      new Conv2d(384, 384, 3, { padding: 1 }), new ReLU(true),
      new Conv2d(384, 256, 3, { padding: 1 }), new ReLU(true), new MaxPool2d(3, { stride: 2 }),
    );
    this.classifier = new Sequential(
      new Linear(256 * 6 * 6, 4096), new ReLU(true), new Dropout(dropout),
      new Linear(4096, 4096), new ReLU(true), new Dropout(dropout),
      new Linear(4096, numClasses),
    );
  }

  /** features -> flatten(1) -> classifier. The caller owns the result. */
  forward(x: Tensor): Tensor {
    return this.classifier.forward(this.features.forward(asTensor(x, 'input')).flatten(1));
  }

  /** forward()'s chain as native ops, for forwardAsync; null when a child (a replaced head, say) has no plan. */
  forwardPlan(): ForwardPlan | null {
    return chainPlan([['features', this.features], layerStep.flatten(1), ['classifier', this.classifier]]);
  }
}
