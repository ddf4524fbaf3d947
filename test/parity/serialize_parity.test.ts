// save/load against Python: torch.load (weights_only) reads our files, and we
// read torch.save's, dtypes, views and key order included.
import test from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Linear } from '../../src/nn/layers';
import { load, save } from '../../src/serialize';
import { manualSeed } from '../../src/runtime';
import { Tensor, tensor } from '../../src/tensor';
import { pythonScript, runPython, tempDir } from '../helpers/python';

interface PyTensor { tensor: true; dtype: string; shape: number[]; values: (number | string | boolean)[]; contiguous: boolean; storage: number; stride: number[]; requires_grad: boolean }
interface PyDict { dict: string; items: [string, PyValue][] }
type PyValue = PyTensor | PyDict | { list: string; items: PyValue[] } | { float: number } | { int: string } | string | boolean | null;

test('Python\'s torch.load (weights_only, the default) reads our file', async (t) => {
  const dir = tempDir();
  try {
    const file = path.join(dir, 'ours.pt');
    const w = tensor([[1.5, -2], [3, 4.25]]);
    await save({
      w, t: w.t(), i64: tensor(new BigInt64Array([2n ** 62n, -1n])), i32: tensor([7, -8], { dtype: 'int32' }),
      u8: tensor([0, 255], { dtype: 'uint8' }), flag: tensor([1, 0], { dtype: 'bool' }), h: tensor([1.1], { dtype: 'float16' }),
      bf: tensor([1.1], { dtype: 'bfloat16' }), d: tensor([0.1], { dtype: 'float64' }), epoch: 3, lr: 0.05, name: 'alexnet',
      nested: { xs: [1, 2.5] },
    }, file);
    const py = JSON.parse(runPython(pythonScript('serialize_ref.py'), ['read', file])) as PyDict;
    t.is(py.dict, 'dict');
    const items = Object.fromEntries(py.items) as Record<string, PyValue>;
    t.deepEqual(py.items.map(([k]) => k), ['w', 't', 'i64', 'i32', 'u8', 'flag', 'h', 'bf', 'd', 'epoch', 'lr', 'name', 'nested'], 'keys in order');
    const T = (k: string) => items[k] as PyTensor;
    t.deepEqual([T('w').dtype, T('w').shape, T('w').values], ['float32', [2, 2], [1.5, -2, 3, 4.25]]);
    t.deepEqual([T('t').values, T('t').stride, T('t').contiguous], [[1.5, 3, -2, 4.25], [1, 2], false]);
    t.is(T('t').storage, T('w').storage, 'the view shares the storage, as in PyTorch');
    t.deepEqual([T('i64').dtype, T('i64').values], ['int64', [String(2n ** 62n), '-1']]);
    t.deepEqual([T('i32').dtype, T('i32').values], ['int32', ['7', '-8']]);
    t.deepEqual([T('u8').dtype, T('u8').values], ['uint8', ['0', '255']]);
    t.deepEqual([T('flag').dtype, T('flag').values], ['bool', [true, false]]);
    t.deepEqual([T('h').dtype, T('h').values], ['float16', [1.099609375]]);
    t.deepEqual([T('bf').dtype, T('bf').values], ['bfloat16', [1.1015625]]);
    t.deepEqual([T('d').dtype, T('d').values], ['float64', [0.1]]);
    t.false(T('w').requires_grad);
    t.deepEqual(items.epoch, { int: '3' }, 'integers stay ints');
    t.deepEqual(items.lr, { float: 0.05 });
    t.is(items.name, 'alexnet');
    t.deepEqual(items.nested, { dict: 'dict', items: [['xs', { list: 'list', items: [{ int: '1' }, { float: 2.5 }] }]] });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('we read Python\'s torch.save of an OrderedDict state_dict (nn.Linear(3, 2))', async (t) => {
  const dir = tempDir();
  try {
    const file = path.join(dir, 'linear.pt');
    const py = JSON.parse(runPython(pythonScript('serialize_ref.py'), ['write', file])) as PyDict;
    t.is(py.dict, 'OrderedDict');
    const sd = (await load(file)) as Record<string, Tensor>;
    t.deepEqual(Object.keys(sd), ['weight', 'bias'], 'keys in order');
    const ref = Object.fromEntries(py.items) as Record<string, PyTensor>;
    t.deepEqual(sd.weight.shape, [2, 3]);
    t.is(sd.weight.dtype, 'float32');
    t.deepEqual(sd.weight.toArray(), ref.weight.values as number[]);
    t.deepEqual(sd.bias.toArray(), ref.bias.values as number[]);
    // And it is exactly what a seeded torchbridge Linear(3, 2) holds.
    manualSeed(0);
    const ours = new Linear(3, 2);
    t.deepEqual(ours.weight.toArray(), sd.weight.toArray());
    ours.loadStateDict(sd);
    t.deepEqual(ours.bias!.toArray(), sd.bias.toArray());
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
