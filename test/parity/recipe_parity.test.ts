// The training recipes (src/train/recipes.ts) against their Python twins
// (test/python/recipes.py): the same model, weights and batches, every step of
// each recipe's optimizer, schedule and loss, then the test images scored as the
// recipe scores them (the fast recipe: with their mirror images), and the settings
// the twins' loaders take (batch size, crop padding).
import test from 'ava';
import { Conv2d, Flatten, Linear, ReLU, Sequential } from '../../src/nn/layers';
import { manualSeed } from '../../src/runtime';
import { Value } from '../../src/serialize';
import { randint, randn, Tensor, tensor, tidy } from '../../src/tensor';
import { evaluate } from '../../src/train/loop';
import { recipeDefaults, recipeNames, recipes } from '../../src/train/recipes';
import { silentReporter } from '../../src/train/reporter';
import { assertClose } from '../helpers/compare';
import { asRecord, asTensorValue, disposeAll, exchange } from '../helpers/python';

const STEPS = 6;
const EPOCHS = 2;
const STEPS_PER_EPOCH = 3;
const tol = { rtol: 1e-5, atol: 1e-6 };

function model(): Sequential {
  return new Sequential(new Conv2d(3, 4, 3), new ReLU(), new Flatten(), new Linear(144, 10));
}

interface Ours {
  /** Batch size, lr, weight decay, crop padding. */
  defaults: number[];
  losses: Tensor;
  state: Record<string, Tensor>;
  groups: number[][];
  testLoss: number;
  correct: number;
  /** The same test scored without the mirror images: a control that the flip changes the figure. */
  plainLoss: number;
}

test('each recipe trains and tests as its Python twin, step for step', async (t) => {
  const inputs: Record<string, Value> = {};
  const ours: Record<string, Ours> = {};
  for (const name of recipeNames) {
    manualSeed(1);
    const m = model();
    const state = Object.fromEntries(Object.entries(m.stateDict()).map(([k, w]) => [k, w.detach().clone()]));
    const xs = Array.from({ length: STEPS }, () => randn([16, 3, 8, 8]));
    const ys = Array.from({ length: STEPS }, () => randint(0, 10, [16]));
    const xt = randn([64, 3, 8, 8]);
    const yt = randint(0, 10, [64]);
    inputs[name] = { state, xs, ys, xt, yt, epochs: EPOCHS, steps_per_epoch: STEPS_PER_EPOCH };

    const { optimizer, scheduler, criterion, augment, testTimeFlip } = recipes[name](m, { epochs: EPOCHS, stepsPerEpoch: STEPS_PER_EPOCH });
    const losses: number[] = [];
    m.train();
    for (let i = 0; i < STEPS; i++) {
      optimizer.zeroGrad();
      losses.push(tidy(() => {
        const loss = criterion(m.forward(xs[i]), ys[i]);
        loss.backward();
        return loss.item();
      }));
      optimizer.step();
      scheduler.step();
    }
    const score = (flip: boolean) => evaluate(m, [{ inputs: xt.clone(), targets: yt.clone() }] as never, criterion,
      { reporter: silentReporter, testTimeFlip: flip });
    const ev = score(testTimeFlip);
    const plain = score(false);
    ours[name] = {
      defaults: [recipeDefaults[name].batchSize, recipeDefaults[name].lr, recipeDefaults[name].weightDecay, augment.padding],
      losses: tensor(losses, { dtype: 'float32' }),
      state: Object.fromEntries(Object.entries(m.stateDict()).map(([k, w]) => [k, w.detach().clone()])),
      groups: optimizer.paramGroups.map((g) => [g.lr, g.momentum, g.weightDecay, g.params.length]),
      testLoss: ev.loss, correct: ev.correct, plainLoss: plain.loss,
    };
    optimizer.dispose();
    m.dispose();
  }

  const { outputs } = await exchange('recipe_ref.py', inputs);
  try {
    const theirs = asRecord(outputs);
    for (const name of recipeNames) {
      const py = asRecord(theirs[name], name);
      const us = ours[name];
      assertClose(t, us.losses, asTensorValue(py.losses), `${name}: the loss of each step`, tol);
      const pyState = asRecord(py.state, `${name} state`);
      for (const [k, w] of Object.entries(us.state)) assertClose(t, w, asTensorValue(pyState[k]), `${name}: ${k} after ${STEPS} steps`, tol);
      const groups = asTensorValue(py.groups).toArray();
      t.deepEqual(us.groups.flat().map((x) => Number(x.toPrecision(12))), groups.map((x) => Number(x.toPrecision(12))), `${name}: param groups (lr, momentum, weight decay, size)`);
      const pyLoss = asTensorValue(py.test_loss).item();
      t.true(Math.abs(us.testLoss - pyLoss) <= 1e-5 * Math.abs(pyLoss), `${name}: test loss ${us.testLoss} vs Python's ${pyLoss}`);
      t.is(us.correct, asTensorValue(py.correct).item(), `${name}: correct test images`);
      t.deepEqual(us.defaults, asTensorValue(py.defaults).toArray(), `${name}: batch size, lr, weight decay and crop padding`);
    }
    // The fast recipe's test-time flip is what Python's scoring matched: without it the figure differs.
    const fast = ours.fast;
    const pyFast = asTensorValue(asRecord(theirs.fast).test_loss).item();
    t.true(Math.abs(fast.plainLoss - pyFast) > 1e-3 * Math.abs(pyFast), `control: unflipped test loss ${fast.plainLoss} differs from ${pyFast}`);
    t.deepEqual(ours.fast.groups.map((g) => g[2]), [5e-4, 0], 'fast: decay on the weights (4-d and 2-d), none on the biases');
    t.deepEqual(ours.fast.groups.map((g) => g[3]), [2, 2]);
  } finally {
    disposeAll(outputs);
    for (const o of Object.values(ours)) {
      o.losses.dispose();
      for (const w of Object.values(o.state)) w.dispose();
    }
    disposeAll(inputs as Value);
  }
});

test('recipes refuse bad options by name', (t) => {
  const m = model();
  try {
    t.throws(() => recipes.fast(m, { epochs: 0, stepsPerEpoch: 3 }), { message: /epochs/ });
    t.throws(() => recipes.reference(m, { epochs: 1, stepsPerEpoch: 3, lr: -1 }), { message: /Expected .*lr.* -1/ });
    t.throws(() => recipes.fast(m, { epochs: 1, stepsPerEpoch: 3, momentum: 0.9 } as never), { message: /momentum/ });
    t.throws(() => recipes.fast({} as never, { epochs: 1, stepsPerEpoch: 3 }), { message: /model/ });
  } finally {
    m.dispose();
  }
});
