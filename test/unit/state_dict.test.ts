// Module.loadStateDict: like PyTorch's strict mode, missing, unexpected and
// wrongly shaped entries are all listed, and the model is left unchanged.
import test from 'ava';
import { Conv2d, Linear, Sequential } from '../../src/nn/layers';
import { Tensor, zeros } from '../../src/tensor';
import { manualSeed } from '../../src/runtime';

function model() {
  manualSeed(0);
  return new Sequential(new Conv2d(3, 4, 3), new Linear(8, 2));
}

test('stateDict keys follow the field names, as Python\'s do', (t) => {
  const m = model();
  t.deepEqual(Object.keys(m.stateDict()), ['0.weight', '0.bias', '1.weight', '1.bias']);
});

test('strict load lists every missing, unexpected and mis-shaped key and changes nothing', (t) => {
  const m = model();
  const before = m.stateDict()['1.weight'].toArray();
  const bad: Record<string, Tensor> = {
    '0.weight': zeros([4, 3, 3, 3]),
    '0.bias': zeros([5]),
    '1.weight': zeros([2, 8]),
    'extra.weight': zeros([1]),
  };
  const e = t.throws(() => m.loadStateDict(bad));
  t.regex(e!.message, /^Error\(s\) in loading state_dict for Sequential:/);
  t.regex(e!.message, /Missing key\(s\) in state_dict: "1\.bias"\./);
  t.regex(e!.message, /Unexpected key\(s\) in state_dict: "extra\.weight"\./);
  t.regex(e!.message, /size mismatch for 0\.bias: copying a param with shape \[5\] from checkpoint, the shape in current model is \[4\]\./);
  t.deepEqual(m.stateDict()['1.weight'].toArray(), before, 'the model is unchanged');
});

test('non-strict load skips missing and unexpected keys but still refuses a wrong shape', (t) => {
  const m = model();
  const r = m.loadStateDict({ '1.bias': zeros([2]), 'extra': zeros([1]) }, { strict: false });
  t.deepEqual(r, { missingKeys: ['0.weight', '0.bias', '1.weight'], unexpectedKeys: ['extra'] });
  t.deepEqual(m.stateDict()['1.bias'].toArray(), [0, 0]);
  t.throws(() => m.loadStateDict({ '1.bias': zeros([3]) }, { strict: false }), { message: /size mismatch for 1\.bias/ });
});

test('a disposed module gives "Tensor already disposed", not a crash', (t) => {
  const m = model();
  m.dispose();
  t.throws(() => m.forward(zeros([1, 3, 4, 4])), { message: /Tensor already disposed/ });
});
