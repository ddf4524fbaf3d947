// safetensors against Hugging Face's own package (safetensors.torch): Python's
// load_file reads what saveSafetensors writes and we read what save_file writes,
// every dtype bit for bit (each file is paired with a torch.save .pt of the same
// tensors, so both sides compare against libtorch's own bytes), the metadata
// map, and AlexNet's state dict. Hostile files each get their named Error; a
// control flips one byte and both comparisons must see it.
import test from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AlexNetModel } from '../../src/models/alexnet';
import { addon } from '../../src/native';
import { manualSeed } from '../../src/runtime';
import { bfloat16Bits, float16Bits, loadSafetensors, saveSafetensors } from '../../src/safetensors';
import { disposeValue, load, save } from '../../src/serialize';
import { arange, Tensor, tensor, tidy, zeros } from '../../src/tensor';
import { pythonScript, requirePythonPackages, runPython, tempDir } from '../helpers/python';

const dir = tempDir('torchbridge-safetensors-');
const ref = (args: string[]) => runPython(pythonScript('safetensors_ref.py'), args);

test.before(() => requirePythonPackages('safetensors_ref.py', 'safetensors parity', 'safetensors'));
test.after.always(() => fs.rmSync(dir, { recursive: true, force: true }));

interface PyRead {
  metadata: Record<string, string> | null;
  keys: string[];
  ptKeys: string[];
  keysInFile: string[];
  tensors: Record<string, { dtype: string; shape: number[]; sameBits: boolean }>;
}

/** The dtype zoo of safetensors_ref.py, built here: edge values of every dtype, a scalar, an empty tensor, a view. */
function zoo(): Record<string, Tensor> {
  const f32 = Float32Array.from([0, -0, 1.5, -2.25, 3.4028234663852886e38, 1.401298464324817e-45, Infinity, -Infinity, NaN]);
  return tidy(() => ({
    f32: tensor(f32, [3, 3]),
    f64: tensor(Float64Array.from([0.1, -1e-300, 5e-324, 1.7976931348623157e308, -Infinity, NaN])),
    f16: tensor(Float32Array.from([0, -0, 1, 65504, 2 ** -24, 1.099609375, -Infinity, NaN]), { dtype: 'float16' }),
    bf16: tensor(Float32Array.from([1.1015625, -3.3895313892515355e38, 2 ** -133, Infinity, NaN, -0]), { dtype: 'bfloat16' }),
    i64: tensor(BigInt64Array.from([2n ** 62n, -(2n ** 63n), 2n ** 63n - 1n, 0n, -1n])),
    i32: tensor(Int32Array.from([-(2 ** 31), 2 ** 31 - 1, 7])),
    u8: tensor(Uint8Array.from([0, 255, 7, 128])),
    bool: tensor([[1, 0], [0, 1]], { dtype: 'bool' }),
    scalar: tensor(Float32Array.from([2.5]), []),
    empty: zeros([0, 3]),
    cube: arange(24, undefined, 1, { dtype: 'float64' }).reshape([2, 3, 4]).div(7),
    transposed: tensor(Float32Array.from([1, 2, 3, 4, 5, 6]), [2, 3]).t(),
    grad: tensor(Float32Array.from([0.5, -0.5]), { requiresGrad: true }),
  }));
}

/** A tensor's bytes as the format stores them: float16/bfloat16 as their 16-bit patterns. */
function bits(t: Tensor): Buffer {
  const d = t.data();
  if (t.dtype === 'float16' || t.dtype === 'bfloat16') {
    // NaNs compare by value here (a JS number quiets them); the bit-pattern test checks their payloads.
    const f = t.dtype === 'float16' ? float16Bits : bfloat16Bits;
    return Buffer.from(Uint16Array.from(d as Float32Array, f).buffer);
  }
  return Buffer.from(d.buffer, d.byteOffset, d.byteLength);
}

/** Keys where two tensor maps differ in dtype, shape or bytes; and keys only one side has. */
function differences(a: Record<string, Tensor>, b: Record<string, Tensor>): string[] {
  const out: string[] = [];
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const x = a[k], y = b[k];
    if (!x || !y) out.push(`${k}: only on one side`);
    else if (x.dtype !== y.dtype || String(x.shape) !== String(y.shape) || !bits(x).equals(bits(y))) out.push(k);
  }
  return out;
}

const disposeAll = (m: Record<string, Tensor>) => Object.values(m).forEach((t) => t.dispose());

test('Python\'s load_file reads our file: every dtype bit for bit, and the metadata', async (t) => {
  const tensors = zoo();
  const sf = path.join(dir, 'ours.safetensors');
  const pt = path.join(dir, 'ours.pt');
  try {
    await saveSafetensors(tensors, sf, { metadata: { format: 'pt', note: 'ünïcode ✓', empty: '' } });
    await save(tensors, pt);
  } finally {
    disposeAll(tensors);
  }
  const py = JSON.parse(ref(['read', sf, pt])) as PyRead;
  t.deepEqual(py.metadata, { format: 'pt', note: 'ünïcode ✓', empty: '' });
  t.deepEqual(py.keys, py.ptKeys);
  t.is(py.keys.length, 13);
  const dtypes = Object.fromEntries(Object.entries(py.tensors).map(([k, x]) => [k, x.dtype]));
  t.deepEqual(dtypes, {
    f32: 'float32', f64: 'float64', f16: 'float16', bf16: 'bfloat16', i64: 'int64', i32: 'int32', u8: 'uint8', bool: 'bool',
    scalar: 'float32', empty: 'float32', cube: 'float64', transposed: 'float32', grad: 'float32',
  });
  t.deepEqual(py.tensors.scalar.shape, []);
  t.deepEqual(py.tensors.empty.shape, [0, 3]);
  t.deepEqual(py.tensors.transposed.shape, [3, 2]);
  t.deepEqual(Object.entries(py.tensors).filter(([, x]) => !x.sameBits).map(([k]) => k), [], 'every tensor equals the .pt one, bit for bit');
  // Our data is laid out by falling element size, so each tensor is aligned to its element size.
  const header = readHeader(sf);
  for (const [k, info] of Object.entries(header.entries)) {
    if (k === '__metadata__') continue;
    const { dtype, data_offsets: [begin] } = info as { dtype: string; data_offsets: number[] };
    t.is((8 + header.length + begin) % ({ F64: 8, I64: 8, F32: 4, I32: 4, F16: 2, BF16: 2 }[dtype] ?? 1), 0, `${k} is aligned`);
  }
});

test('we read Python\'s save_file: every dtype bit for bit, and the metadata', async (t) => {
  const sf = path.join(dir, 'py.safetensors');
  const pt = path.join(dir, 'py.pt');
  ref(['write', sf, pt]);
  const { tensors, metadata } = await loadSafetensors(sf);
  const expected = (await load(pt)) as Record<string, Tensor>;
  try {
    t.deepEqual(metadata, { format: 'pt', note: 'ünïcode ✓', empty: '' });
    t.deepEqual(Object.keys(tensors).sort(), Object.keys(expected).sort());
    t.deepEqual(differences(tensors, expected), []);
    t.is(tensors.bf16.dtype, 'bfloat16');
    t.deepEqual(tensors.i64.data(), BigInt64Array.from([2n ** 62n, -(2n ** 63n), 2n ** 63n - 1n, 0n, -1n]));
    t.deepEqual(tensors.scalar.shape, []);
    t.is(tensors.scalar.item(), 2.5);
    t.deepEqual(tensors.empty.shape, [0, 3]);
  } finally {
    disposeAll(tensors);
    disposeValue(expected);
  }
});

test('control: one flipped byte is seen by both comparisons', async (t) => {
  const tensors = zoo();
  const sf = path.join(dir, 'flipped.safetensors');
  const pt = path.join(dir, 'flipped.pt');
  try {
    await saveSafetensors(tensors, sf);
    await save(tensors, pt);
  } finally {
    disposeAll(tensors);
  }
  const header = readHeader(sf);
  const [begin] = (header.entries.cube as { data_offsets: number[] }).data_offsets;
  const bytes = fs.readFileSync(sf);
  bytes[8 + header.length + begin + 3] ^= 0x10;
  fs.writeFileSync(sf, bytes);
  const py = JSON.parse(ref(['read', sf, pt])) as PyRead;
  t.deepEqual(Object.entries(py.tensors).filter(([, x]) => !x.sameBits).map(([k]) => k), ['cube'], 'Python sees the flipped byte');
  const ours = await loadSafetensors(sf);
  const expected = (await load(pt)) as Record<string, Tensor>;
  try {
    t.deepEqual(differences(ours.tensors, expected), ['cube'], 'and so does our comparison');
  } finally {
    disposeAll(ours.tensors);
    disposeValue(expected);
  }
});

test('AlexNet\'s state dict both ways: Python loads ours into the reference model, and ours loads Python\'s', async (t) => {
  manualSeed(3);
  const net = new AlexNetModel();
  const sf = path.join(dir, 'alexnet.safetensors');
  const pt = path.join(dir, 'alexnet.pt');
  try {
    const sd = net.stateDict();
    try {
      await saveSafetensors(sd, sf, { metadata: { model: 'AlexNetModel' } });
      await save(sd, pt);
    } finally {
      disposeAll(sd);
    }
    const pySf = path.join(dir, 'alexnet-py.safetensors');
    const pyPt = path.join(dir, 'alexnet-py.pt');
    const py = JSON.parse(ref(['alexnet', sf, pt, pySf, pyPt])) as { keys: string[]; ptKeys: string[]; differ: string[]; params: number };
    t.is(py.keys.length, 16);
    t.deepEqual(py.keys, py.ptKeys);
    t.deepEqual(py.differ, [], 'every tensor equals the .pt one, bit for bit');
    t.is(py.params, net.parameters().reduce((n, p) => n + p.numel, 0), 'load_state_dict(strict=True) in the reference model');

    const loaded = await loadSafetensors(pySf);
    const expected = (await load(pyPt)) as Record<string, Tensor>;
    try {
      t.deepEqual(differences(loaded.tensors, expected), []);
      net.loadStateDict(loaded.tensors); // the one line users write
      const after = net.stateDict();
      try {
        t.deepEqual(differences(after, expected), [], 'the module now holds Python\'s weights');
      } finally {
        disposeAll(after);
      }
    } finally {
      disposeAll(loaded.tensors);
      disposeValue(expected);
    }
  } finally {
    net.dispose();
  }
});

test('Python\'s int8 and int16 tensors are refused by name: Tensor has no such dtype', async (t) => {
  const sf = path.join(dir, 'ints.safetensors');
  ref(['write-unsupported', sf]);
  const e = await t.throwsAsync(loadSafetensors(sf));
  t.regex(e!.message, /^loadSafetensors: .*ints\.safetensors: tensor 'i(8|16)' has dtype I(8|16), which torchbridge's Tensor cannot hold; supported: F64, F32, F16, BF16, I64, I32, U8, BOOL$/);
});

test('every float16 and bfloat16 bit pattern survives load and save unchanged', async (t) => {
  const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
  for (const [format, dtype] of [['F16', 'float16'], ['BF16', 'bfloat16']] as const) {
    const file = path.join(dir, `all-${format}.safetensors`);
    fs.writeFileSync(file, build({ x: { dtype: format, shape: [65536], data_offsets: [0, 131072] } }, Buffer.from(all.buffer)));
    const { tensors } = await loadSafetensors(file);
    t.is(tensors.x.dtype, dtype);
    const again = path.join(dir, `again-${format}.safetensors`);
    try {
      await saveSafetensors(tensors, again);
    } finally {
      disposeAll(tensors);
    }
    const written = fs.readFileSync(again).subarray(8 + readHeader(again).length);
    const out = new Uint16Array(written.buffer.slice(written.byteOffset, written.byteOffset + written.byteLength));
    // One exception, in libtorch and not here: its float16 -> float32 conversion (inside Tensor.data())
    // quiets signalling NaNs, so those 1022 patterns come back with the quiet bit set, payload kept.
    const signalling = (h: number) => format === 'F16' && (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0 && (h & 0x200) === 0;
    const wrong = [...all].filter((h, i) => out[i] !== (signalling(h) ? h | 0x200 : h));
    t.deepEqual(wrong.slice(0, 5).map((h) => `0x${h.toString(16)} -> 0x${out[h].toString(16)}`), [], `${format}: every pattern, NaN payloads included`);
    t.is(all.filter(signalling).length, format === 'F16' ? 1022 : 0);
  }
  // And the conversion itself rounds to nearest even where a float32 falls between two halves.
  t.is(float16Bits(1 + 2 ** -11), 0x3c00, 'a tie rounds to the even neighbour');
  t.is(float16Bits(1 + 3 * 2 ** -11), 0x3c02);
  t.is(float16Bits(65520), 0x7c00, 'past the largest half: infinity');
  t.is(bfloat16Bits(1 + 2 ** -8), 0x3f80);
  t.is(bfloat16Bits(1 + 3 * 2 ** -8), 0x3f82);
});

test('a tensor named __proto__ is an own key and touches no prototype', async (t) => {
  const file = path.join(dir, 'proto.safetensors');
  fs.writeFileSync(file, build('{"__proto__": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}}', Buffer.from([9])));
  const { tensors } = await loadSafetensors(file);
  try {
    t.true(Object.prototype.hasOwnProperty.call(tensors, '__proto__'));
    t.is(Object.getPrototypeOf(tensors), Object.prototype);
    t.deepEqual(Object.getOwnPropertyDescriptor(tensors, '__proto__')!.value.toArray(), [9]);
  } finally {
    disposeAll(tensors);
  }
});

// ---- hostile files --------------------------------------------------------------

/** A file from a header (an object, or raw JSON text) and data bytes; lengthOverride lies about the header's length. */
function build(header: Record<string, unknown> | string | Buffer, data: Buffer = Buffer.alloc(0), lengthOverride?: bigint): Buffer {
  const text = Buffer.isBuffer(header) ? header : Buffer.from(typeof header === 'string' ? header : JSON.stringify(header), 'utf8');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(lengthOverride ?? BigInt(text.length));
  return Buffer.concat([prefix, text, data]);
}

/** A file's header: its length and its entries. */
function readHeader(file: string): { length: number; entries: Record<string, unknown> } {
  const b = fs.readFileSync(file);
  const n = Number(b.readBigUInt64LE(0));
  return { length: n, entries: JSON.parse(b.subarray(8, 8 + n).toString('utf8')) as Record<string, unknown> };
}

const f32 = (shape: number[], begin: number, end: number) => ({ dtype: 'F32', shape, data_offsets: [begin, end] });
const hostile: [string, Buffer, RegExp][] = [
  ['a file shorter than the length field', Buffer.from([1, 2, 3, 4]), /the file has 4 bytes; expected at least 8 \(the header length\)$/],
  ['a header length beyond the file', build('{}', Buffer.alloc(0), 1000n), /the header length is 1000 bytes, but only 2 bytes follow the 8-byte length$/],
  ['a header length of 2^63', build('{}', Buffer.alloc(0), 2n ** 63n), /the header length is 9223372036854775808 bytes, but only 2 bytes follow/],
  ['JSON cut short', build('{"a": {"dtype": "F32",'), /the header is not valid JSON: it ends too early$/],
  ['JSON with a stray character', build('{"a": 1 x}'), /the header is not valid JSON: unexpected "x" at character 8$/],
  ['JSON that is not an object', build('[1, 2]'), /the header starts with "\["; expected '\{' \(a JSON object\)$/],
  ['a header that is not UTF-8', build(Buffer.from([0x7b, 0xff, 0x7d])), /the header is not valid UTF-8$/],
  ['a header nested too deep', build(`{"a":${'['.repeat(50)}${']'.repeat(50)}}`), /the header nests deeper than a safetensors header can$/],
  ['a tensor named twice', build('{"a": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}, "a": {"dtype": "U8", "shape": [1], "data_offsets": [1, 2]}}', Buffer.alloc(2)),
    /the header has the key "a" twice; each key must appear once$/],
  ['a field given twice', build('{"a": {"dtype": "U8", "dtype": "F32", "shape": [1], "data_offsets": [0, 1]}}', Buffer.alloc(1)),
    /the header has the key "dtype" twice/],
  ['an entry that is not an object', build({ a: [1, 2] }), /tensor 'a': expected an object with dtype, shape and data_offsets, but found an array$/],
  ['an entry without data_offsets', build({ a: { dtype: 'F32', shape: [1] } }, Buffer.alloc(4)), /tensor 'a' has no 'data_offsets'$/],
  ['an unknown dtype', build({ a: { dtype: 'F33', shape: [1], data_offsets: [0, 4] } }, Buffer.alloc(4)),
    /tensor 'a' has the unknown dtype 'F33'; expected one of F64, F32, F16, BF16, I64, I32, U8, BOOL$/],
  ['a dtype Tensor cannot hold', build({ a: { dtype: 'U16', shape: [2], data_offsets: [0, 4] } }, Buffer.alloc(4)),
    /tensor 'a' has dtype U16, which torchbridge's Tensor cannot hold/],
  ['a negative dimension', build({ a: f32([-1], 0, 4) }, Buffer.alloc(4)), /tensor 'a': expected a shape of non-negative integers, but found \[-1\]$/],
  ['a fractional dimension', build({ a: f32([1.5], 0, 4) }, Buffer.alloc(4)), /tensor 'a': expected a shape of non-negative integers, but found \[1\.5\]$/],
  ['offsets that are not two integers', build({ a: { dtype: 'F32', shape: [1], data_offsets: [0] } }, Buffer.alloc(4)),
    /tensor 'a': expected data_offsets \[begin, end\] of two non-negative integers$/],
  ['offsets that end before they begin', build({ a: f32([0], 4, 0) }, Buffer.alloc(4)), /tensor 'a': data_offsets \[4, 0\] end before they begin$/],
  ['offsets past the data', build({ a: f32([4], 0, 16) }, Buffer.alloc(8)), /tensor 'a': data_offsets \[0, 16\] run past the data, which has 8 bytes$/],
  ['a byte count that does not match shape and dtype', build({ a: f32([2], 0, 4) }, Buffer.alloc(4)),
    /tensor 'a': shape \[2\] of F32 needs 8 bytes, but data_offsets \[0, 4\] hold 4$/],
  ['a giant shape over 8 bytes', build({ a: f32([2 ** 40, 2 ** 40], 0, 8) }, Buffer.alloc(8)),
    /tensor 'a': shape \[1099511627776, 1099511627776\] of F32 needs 4835703278458516698824704 bytes, but data_offsets \[0, 8\] hold 8$/],
  ['overlapping tensors', build({ a: f32([2], 0, 8), b: f32([2], 4, 12) }, Buffer.alloc(12)),
    /tensor 'b' \(bytes 4 to 12\) overlaps tensor 'a' \(bytes 0 to 8\)$/],
  ['two tensors over the same bytes', build({ a: f32([2], 0, 8), b: f32([2], 0, 8) }, Buffer.alloc(8)), /tensor '[ab]' \(bytes 0 to 8\) overlaps tensor '[ab]'/],
  ['a gap between tensors', build({ a: f32([1], 0, 4), b: f32([1], 8, 12) }, Buffer.alloc(12)),
    /bytes 4 to 8 of the data belong to no tensor; expected tensor 'b' to begin at 4$/],
  ['bytes after the last tensor', build({ a: f32([1], 0, 4) }, Buffer.alloc(12)),
    /the last 8 bytes of the file belong to no tensor; expected the data to end at byte 4$/],
  ['metadata that is not a map of strings', build({ __metadata__: { epoch: 5 } }), /'__metadata__' must map strings to strings, but 'epoch' holds the number 5$/],
  ['a bool that is neither 0 nor 1', build({ a: { dtype: 'BOOL', shape: [3], data_offsets: [0, 3] } }, Buffer.from([1, 0, 2])),
    /tensor 'a' \(BOOL\) holds the byte 2 at element 2; expected 0 or 1$/],
];

for (const [name, bytes, why] of hostile) {
  test(`hostile file: ${name}`, async (t) => {
    const file = path.join(dir, `hostile-${name.replace(/\W+/g, '-')}.safetensors`);
    fs.writeFileSync(file, bytes);
    const e = await t.throwsAsync(loadSafetensors(file));
    t.true(e!.message.startsWith(`loadSafetensors: ${file}: `), e!.message);
    t.regex(e!.message, why);
  });
}

test('a missing file is named', async (t) => {
  const e = await t.throwsAsync(loadSafetensors(path.join(dir, 'nope.safetensors')));
  t.regex(e!.message, /^loadSafetensors: cannot open .*nope\.safetensors: ENOENT/);
});

test('an empty map and a header padded with spaces load (both are valid)', async (t) => {
  const file = path.join(dir, 'padded.safetensors');
  fs.writeFileSync(file, build('{"a": {"dtype": "I32", "shape": [], "data_offsets": [0, 4]}}    ', Buffer.from(Int32Array.from([-7]).buffer)));
  const { tensors, metadata } = await loadSafetensors(file);
  t.deepEqual(metadata, {});
  t.deepEqual(tensors.a.shape, []);
  t.is(tensors.a.item(), -7);
  tensors.a.dispose();
  const none = path.join(dir, 'none.safetensors');
  await saveSafetensors({}, none);
  t.deepEqual(await loadSafetensors(none), { tensors: {}, metadata: {} });
});

// ---- saving: arguments and atomic writes ------------------------------------------

test('saveSafetensors checks its arguments before touching the file', async (t) => {
  const own = path.join(dir, 'arguments'); // its own folder: the other tests' saves run at the same time
  fs.mkdirSync(own);
  const file = path.join(own, 'kept.safetensors');
  const a = tensor([1, 2]);
  await saveSafetensors({ a }, file);
  const before = fs.readFileSync(file);
  const gone = tensor([3]);
  gone.dispose();
  const cases: [() => Promise<void>, RegExp][] = [
    [() => saveSafetensors({ a }, file, { metadata: { epoch: 5 as unknown as string } }), /^Expected string for metadata\['epoch'\] but received 5 of type number$/],
    [() => saveSafetensors({ a }, file, { format: 'pt' } as never), /^Unknown option 'format' in options; expected one of metadata$/],
    [() => saveSafetensors({ a, b: [1] as unknown as Tensor }, file), /^Expected Tensor for tensors\['b'\] but received \[1\] of type array$/],
    [() => saveSafetensors({ a, gone }, file), /^saveSafetensors: tensors\['gone'\] is already disposed$/],
    [() => saveSafetensors({ __metadata__: a }, file), /^saveSafetensors: '__metadata__' is reserved for the metadata map and cannot name a tensor$/],
    [() => saveSafetensors({ a }, ''), /^Expected non-empty string for file but received '' of type string$/],
    [() => saveSafetensors(new Map([['a', a]]) as never, file), /^Expected plain object of tensors for tensors but received \{\} of type object$/],
    [() => saveSafetensors([a] as never, file), /^Expected plain object of tensors for tensors but received .* of type array$/],
  ];
  for (const [call, why] of cases) t.regex((await t.throwsAsync(call()))!.message, why);
  t.deepEqual(fs.readFileSync(file), before, 'the file is as it was');
  const bad = path.join(own, 'no-such-dir', 'x.safetensors');
  t.regex((await t.throwsAsync(saveSafetensors({ a }, bad)))!.message, /^saveSafetensors: cannot write .*no-such-dir\/x\.safetensors: ENOENT/);
  t.deepEqual(fs.readdirSync(own), ['kept.safetensors'], 'no temporary file is left behind');
  a.dispose();
});

test('loadSafetensors checks its options, and puts tensors on the device asked for', async (t) => {
  const file = path.join(dir, 'dev.safetensors');
  const a = tensor([1, 2]);
  await saveSafetensors({ a }, file);
  a.dispose();
  t.regex((await t.throwsAsync(loadSafetensors(file, { device: 'gpu' })))!.message, /device/);
  t.regex((await t.throwsAsync(loadSafetensors(file, { dtype: 'float32' } as never)))!.message, /^Unknown option 'dtype' in options; expected one of device$/);
  const { tensors } = await loadSafetensors(file, { device: 'cpu' });
  t.is(tensors.a.device, 'cpu');
  t.deepEqual(tensors.a.toArray(), [1, 2]);
  tensors.a.dispose();
});

test('raw half tensors from the addon keep their bit patterns through data()', (t) => {
  // bits() above relies on data() giving float16 exactly as float32; check that on the raw addon.
  const raw = addon.Tensor.fromData(Uint16Array.from([0x3c00, 0x0001, 0xfbff]), [3], 'float16', 'cpu');
  const x = new Tensor(raw);
  t.deepEqual(Array.from(x.data() as Float32Array), [1, 2 ** -24, -65504]);
  x.dispose();
});
