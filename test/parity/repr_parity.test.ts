// toString() of modules equals Python's print(module), character for character.
// test/python/repr_ref.py builds the same modules with torch.nn.
import test from 'ava';
import { AlexNetModel } from '../../src/models/alexnet';
import {
  AdaptiveAvgPool2d, AvgPool2d, BatchNorm2d, Conv2d, CrossEntropyLoss, Dropout, Flatten, Linear, LocalResponseNorm, MaxPool2d,
  ReLU, Sequential,
} from '../../src/nn/layers';
import { Module } from '../../src/nn/module';
import { pyFloat } from '../../src/nn/repr';
import { pythonScript, runPython } from '../helpers/python';

const cases: Record<string, () => Module> = {
  'every module type': () => new Sequential(
    new Conv2d(3, 16, 3),
    new Conv2d(16, 32, [3, 5], { stride: [2, 1], padding: [1, 2], dilation: [2, 1], groups: 4, bias: false }),
    new Conv2d(32, 32, 1, { padding: 1, dilation: 3 }),
    new ReLU(),
    new ReLU(true),
    new MaxPool2d(2),
    new MaxPool2d(3, { stride: 2, padding: 1, dilation: 2, ceilMode: true }),
    new MaxPool2d([3, 2], { stride: [2, 1] }),
    new AvgPool2d(2),
    new AvgPool2d([3, 3], { stride: 1, padding: 1 }),
    new AdaptiveAvgPool2d([6, 6]),
    new AdaptiveAvgPool2d(1),
    new Dropout(),
    new Dropout(0.25, true),
    new Flatten(),
    new Flatten(0, 2),
    new LocalResponseNorm(5, 0.0001, 0.75, 2.0),
    new LocalResponseNorm(3),
    new BatchNorm2d(16),
    new BatchNorm2d(8, { eps: 0.001, momentum: 0.01, affine: false, trackRunningStats: false }),
    new BatchNorm2d(4, { bias: false }),
    new Linear(9216, 4608),
    new Linear(10, 3, { bias: false }),
    new Sequential(new Conv2d(3, 8, 3, { padding: 1 }), new ReLU(true), new Sequential(new Linear(4, 2))),
    new Sequential(),
  ),
  'repeated identical layers': () => new Sequential(new ReLU(), new ReLU(), new Linear(2, 2), new Linear(2, 2)),
  'a single leaf': () => new Conv2d(64, 256, 3, { padding: 1 }),
  'an empty Sequential': () => new Sequential(),
  CrossEntropyLoss: () => new CrossEntropyLoss(),
  AlexNetModel: () => new AlexNetModel(),
};

let python: Record<string, string>;

test.before(() => {
  python = JSON.parse(runPython(pythonScript('repr_ref.py'))) as Record<string, string>;
});

test('the Python script and this test build the same cases', (t) => {
  t.deepEqual(Object.keys(python).sort(), Object.keys(cases).sort());
});

for (const [name, make] of Object.entries(cases)) {
  test(`${name}: toString() equals Python's print()`, (t) => {
    const m = make();
    try {
      const ours = m.toString();
      if (ours !== python[name]) {
        const a = ours.split('\n'), b = python[name].split('\n');
        const i = a.findIndex((line, j) => line !== b[j]);
        t.log(`first difference at line ${i + 1}:\n  ours:   ${JSON.stringify(a[i])}\n  python: ${JSON.stringify(b[i])}`);
      }
      t.is(ours, python[name]);
      t.is(String(m), python[name], 'String(module) is toString()');
    } finally {
      m.dispose();
    }
  });
}

test('String(new AlexNetModel()) is the reference tutorial\'s printed model', (t) => {
  const m = new AlexNetModel();
  const text = String(m);
  m.dispose();
  t.is(text, python.AlexNetModel);
  // A few lines as printed in the tutorial, so the reference itself is pinned.
  t.true(text.startsWith('AlexNetModel(\n  (conv1): Sequential(\n    (0): Conv2d(3, 64, kernel_size=(4, 4), stride=(2, 2))\n    (1): ReLU(inplace=True)\n  )\n'));
  t.true(text.includes('  (max_pool1): MaxPool2d(kernel_size=2, stride=1, padding=0, dilation=1, ceil_mode=False)\n'));
  t.true(text.includes('    (0): Linear(in_features=9216, out_features=4608, bias=True)\n    (1): ReLU(inplace=True)\n    (2): Dropout(p=0.5, inplace=False)\n'));
  t.true(text.endsWith('  (fc3): Linear(in_features=4608, out_features=10, bias=True)\n)'));
});

test('pyFloat formats like Python repr(float)', (t) => {
  const values = [0.5, 1, 2, 0.0001, 0.00001, 1e-5, 0.1, 0.75, 1e16, 1.5e16, 123456789.125, 1e-7, 2.5e-5, -0.25, 0, 1 / 3, 1e22, 5e-324];
  const py = JSON.parse(runPython(pythonScript('float_repr.py'), [], JSON.stringify(values))) as string[];
  t.deepEqual(values.map(pyFloat), py);
});
