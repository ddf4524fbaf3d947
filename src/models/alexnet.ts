// The reference tutorial's AlexNet for 32x32 CIFAR-10, layer for layer. Field
// names (including `max_pool*` and `flaten1`) are the reference's, so state-dict
// keys and checkpoints are interchangeable with the Python model. forward() is
// the fields in declaration order, so the list below is the only layer list.
import { Conv2d, Dropout, Flatten, Linear, MaxPool2d, ReLU, Sequential } from '../nn/layers';
import { Module } from '../nn/module';
import type { ForwardPlan } from '../nn/plan';
import { Tensor } from '../tensor';
import * as v from '../validate';

/** Options of {@link AlexNetModel}. */
export interface AlexNetModelOptions {
  /** Outputs of the last layer, fc3: the number of classes (10, CIFAR-10's). */
  numClasses?: number;
}

/**
 * The reference tutorial's AlexNet for 32x32 CIFAR-10 images, layer for layer: five convolutions,
 * three max pools and three fully connected layers (67,004,746 parameters), mapping [N, 3, 32, 32]
 * inputs to [N, 10] logits ([N, numClasses] with that option: only fc3 changes). Field names, state-dict keys and `toString()` equal the Python model's,
 * so checkpoints interchange, and after the same {@link manualSeed} the initial weights are equal.
 */
export class AlexNetModel extends Module {
  /** Conv2d(3, 64, 4, stride 2) + ReLU: 3x32x32 -> 64x15x15. */
  conv1 = new Sequential(new Conv2d(3, 64, 4, { stride: 2 }), new ReLU(true));
  /** MaxPool2d(2, stride 1): -> 64x14x14. */
  max_pool1 = new MaxPool2d(2, { stride: 1 });
  /** Conv2d(64, 256, 3, padding 1) + ReLU: -> 256x14x14. */
  conv2 = new Sequential(new Conv2d(64, 256, 3, { padding: 1 }), new ReLU(true));
  /** MaxPool2d(2, stride 2): -> 256x7x7. */
  max_pool2 = new MaxPool2d(2, { stride: 2 });
  /** Conv2d(256, 384, 3, padding 1) + ReLU: -> 384x7x7. */
  conv3 = new Sequential(new Conv2d(256, 384, 3, { padding: 1 }), new ReLU(true));
  /** Conv2d(384, 384, 3, padding 1) + ReLU: -> 384x7x7. */
  conv4 = new Sequential(new Conv2d(384, 384, 3, { padding: 1 }), new ReLU(true));
  /** Conv2d(384, 256, 3, padding 1) + ReLU: -> 256x7x7. */
  conv5 = new Sequential(new Conv2d(384, 256, 3, { padding: 1 }), new ReLU(true));
  /** MaxPool2d(2, stride 1): -> 256x6x6. */
  max_pool3 = new MaxPool2d(2, { stride: 1 });
  /** Flatten (the reference's spelling): -> 9216. */
  flaten1 = new Flatten();
  /** Linear(9216, 4608) + ReLU + Dropout(0.5): -> 4608. */
  fc1 = new Sequential(new Linear(9216, 4608), new ReLU(true), new Dropout(0.5));
  /** Linear(4608, 4608) + ReLU + Dropout(0.5): -> 4608. */
  fc2 = new Sequential(new Linear(4608, 4608), new ReLU(true), new Dropout(0.5));
  /** Linear(4608, numClasses): -> 10 class logits by default. */
  fc3: Linear;

  /** Throws a TypeError for a numClasses that is not a positive integer. */
  constructor(options: AlexNetModelOptions = {}) {
    super();
    const o = v.options(options, 'AlexNetModel options', ['numClasses']);
    this.fc3 = new Linear(4608, o.numClasses === undefined ? 10 : v.integer(o.numClasses, 'numClasses', 1));
  }

  /** The fields above, in order, each on the previous one's output. */
  forward(x: Tensor): Tensor {
    return this.forwardChildren(x);
  }

  /** The same chain as native ops, for forwardAsync. */
  forwardPlan(): ForwardPlan | null {
    return this.planChildren();
  }
}
