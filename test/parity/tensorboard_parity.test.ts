// SummaryWriter against TensorBoard's own reader: EventAccumulator reads back
// the scalars (exactly, as float32), histograms (min, max, num, sum, and every
// value in the bucket that holds it) and images (PNG decoded by Pillow, pixel
// for pixel). Controls: a record with a wrong CRC is dropped by the reader.
import test from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { manualSeed } from '../../src/runtime';
import { defaultHistogramEdges, histogram, maskedCrc32c, SummaryWriter } from '../../src/tensorboard';
import { randn, Tensor, tensor } from '../../src/tensor';
import { spawnSync } from 'node:child_process';
import { pythonScript, repoRoot, requirePythonPackages, runPython, tempDir } from '../helpers/python';

const dir = tempDir('torchbridge-tensorboard-');
const reader = (args: string[]) => runPython(pythonScript('tensorboard_ref.py'), args);

test.before(() => requirePythonPackages('tensorboard_ref.py', 'tensorboard parity', 'tensorboard protobuf'));
test.after.always(() => fs.rmSync(dir, { recursive: true, force: true }));

interface Read {
  fileVersion: number;
  tags: { scalars: string[]; histograms: string[]; images: string[] };
  scalars: Record<string, { step: number; value: number | string; wallTime: number }[]>;
  histograms: Record<string, { step: number; min: number; max: number; num: number; sum: number; sumSquares: number; bucketLimit: number[]; bucket: number[] }[]>;
  images: Record<string, { step: number; width: number; height: number; mode: string; size: number[]; pixels: number[] }[]>;
}

const read = (logdir: string) => JSON.parse(reader(['read', logdir])) as Read;

test('EventAccumulator reads back scalars, histograms and images', (t) => {
  const logdir = path.join(dir, 'all');
  const w = new SummaryWriter(logdir);
  const losses = [0.1, 1 / 3, -2.5e-8, 12345.678, 3.4e38];
  losses.forEach((x, i) => w.addScalar('train/loss', x, i * 10));
  w.addScalar('train/lr', tensor([0.05]), 7, 1700000000.25);
  w.addScalar('odd/nan', NaN, 1);

  manualSeed(0);
  const normal = randn([1000]);
  const values = Array.from(normal.data() as Float32Array);
  w.addHistogram('weights', normal, 3);
  w.addHistogram('ints', tensor(BigInt64Array.from([-3n, 0n, 0n, 5n, 1000000n])), 4);
  w.addHistogram('plain', [2.5, 2.5, -1e-13, 1e25], 5);

  // CHW float RGB in [0, 1] (one value above, one below, to be clipped), gray uint8, RGBA uint8.
  const rgbValues = Float32Array.from({ length: 3 * 4 * 5 }, (_, i) => i / 59);
  rgbValues[7] = 1.5;
  rgbValues[8] = -0.25;
  const rgb = tensor(rgbValues, [3, 4, 5]);
  w.addImage('images/rgb', rgb, 2);
  w.addImage('images/gray', tensor(Uint8Array.from([0, 10, 20, 200, 250, 255]), [1, 2, 3]), 2);
  const rgba = tensor(Uint8Array.from({ length: 4 * 2 * 2 }, (_, i) => i * 16), [4, 2, 2]);
  w.addImage('images/rgba', rgba, 9);
  w.close();
  w.close(); // idempotent

  const r = read(logdir);
  t.is(r.fileVersion, 2, 'EventAccumulator parses the first record\'s "brain.Event:2" into 2');
  const first = splitRecords(fs.readFileSync(w.file))[0];
  t.true(fs.readFileSync(w.file).subarray(first.start, first.end).includes('brain.Event:2'));
  t.deepEqual(r.tags, { scalars: ['odd/nan', 'train/loss', 'train/lr'], histograms: ['ints', 'plain', 'weights'], images: ['images/gray', 'images/rgb', 'images/rgba'] });

  t.deepEqual(r.scalars['train/loss'].map((e) => [e.step, e.value]), losses.map((x, i) => [i * 10, Math.fround(x)]), 'float32, exactly');
  t.deepEqual(r.scalars['train/lr'].map((e) => [e.step, e.value, e.wallTime]), [[7, Math.fround(0.05), 1700000000.25]]);
  t.deepEqual(r.scalars['odd/nan'].map((e) => e.value), ['nan']);
  const now = Date.now() / 1000;
  t.true(r.scalars['train/loss'].every((e) => Math.abs(e.wallTime - now) < 600), 'wall time is now, in seconds');

  const [h] = r.histograms.weights;
  t.is(h.step, 3);
  t.is(h.num, 1000);
  t.is(h.min, Math.min(...values));
  t.is(h.max, Math.max(...values));
  t.is(h.sum, values.reduce((a, b) => a + b, 0));
  t.is(h.sumSquares, values.reduce((a, b) => a + b * b, 0));
  t.deepEqual(bucketCounts(h.bucketLimit, values), h.bucket, 'each value sits in the bucket that holds it');
  const edges = new Set(defaultHistogramEdges());
  t.true(h.bucketLimit.every((x) => edges.has(x)), 'bucket limits are TensorFlow\'s default edges');
  const [ints] = r.histograms.ints;
  t.deepEqual([ints.min, ints.max, ints.num, ints.sum], [-3, 1000000, 5, 1000002]);
  t.deepEqual(bucketCounts(ints.bucketLimit, [-3, 0, 0, 5, 1000000]), ints.bucket);
  const [plain] = r.histograms.plain;
  t.deepEqual([plain.min, plain.max, plain.num, plain.step], [-1e-13, 1e25, 4, 5]);
  t.deepEqual(bucketCounts(plain.bucketLimit, [2.5, 2.5, -1e-13, 1e25]), plain.bucket);

  const [img] = r.images['images/rgb'];
  t.deepEqual([img.step, img.width, img.height, img.mode, img.size], [2, 5, 4, 'RGB', [5, 4]]);
  const expected = [];
  for (let i = 0; i < 20; i++) for (let c = 0; c < 3; c++) expected.push(Math.trunc(Math.min(255, Math.max(0, rgbValues[c * 20 + i] * 255))));
  t.deepEqual(img.pixels, expected, 'HWC, scaled by 255, clipped and truncated');
  t.is(img.pixels[7 * 3], 255);
  t.is(img.pixels[8 * 3], 0);
  const [gray] = r.images['images/gray'];
  t.deepEqual([gray.width, gray.height, gray.mode, gray.pixels], [3, 2, 'L', [0, 10, 20, 200, 250, 255]]);
  const [four] = r.images['images/rgba'];
  t.deepEqual([four.step, four.mode, four.pixels.slice(0, 8)], [9, 'RGBA', [0, 64, 128, 192, 16, 80, 144, 208]]);
  normal.dispose();
  rgb.dispose();
  rgba.dispose();
});

/** How many of `values` fall in each bucket: [previous limit, limit), the first from -infinity. */
function bucketCounts(limits: number[], values: number[]): number[] {
  return limits.map((limit, i) => values.filter((x) => x < limit && (i === 0 || x >= limits[i - 1])).length);
}

test('control: a record with a wrong CRC is dropped by TensorBoard\'s reader', (t) => {
  const logdir = path.join(dir, 'crc');
  const w = new SummaryWriter(logdir);
  for (let step = 0; step < 3; step++) w.addScalar('a', step + 0.5, step);
  w.close();
  const whole = fs.readFileSync(w.file);
  const records = splitRecords(whole);
  t.is(records.length, 4, 'file_version and three scalars');
  t.deepEqual(read(logdir).scalars.a.map((e) => e.step), [0, 1, 2], 'the intact file reads whole');

  const lastCrc = records[3].end - 1;
  const broken = Buffer.from(whole);
  broken[lastCrc] ^= 0xff; // the data CRC of step 2
  fs.writeFileSync(w.file, broken);
  t.deepEqual(read(logdir).scalars.a.map((e) => e.step), [0, 1], 'a wrong data CRC drops the record');

  const flipped = Buffer.from(whole);
  flipped[records[2].start + 12 + 5] ^= 0x01; // a byte inside the data of step 1, CRC left as it was
  fs.writeFileSync(w.file, flipped);
  t.deepEqual(read(logdir).scalars.a.map((e) => e.step), [0], 'changed data no longer matches its CRC: dropped from there on');
});

/** The byte ranges of a file's TFRecords, checking both CRCs of each. */
function splitRecords(b: Buffer): { start: number; end: number }[] {
  const out = [];
  for (let at = 0; at < b.length;) {
    const n = Number(b.readBigUInt64LE(at));
    if (b.readUInt32LE(at + 8) !== maskedCrc32c(b.subarray(at, at + 8))) throw new Error(`bad length CRC at ${at}`);
    if (b.readUInt32LE(at + 12 + n) !== maskedCrc32c(b.subarray(at + 12, at + 12 + n))) throw new Error(`bad data CRC at ${at}`);
    out.push({ start: at, end: at + 16 + n });
    at += 16 + n;
  }
  return out;
}

test('CRC32C and TensorFlow\'s masking match their published values', (t) => {
  // CRC-32C("123456789") is 0xe3069283; masked: rotate right 15, add 0xa282ead8.
  const c = 0xe3069283;
  t.is(maskedCrc32c(Buffer.from('123456789')), ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0);
  t.is(maskedCrc32c(Buffer.alloc(0)), 0xa282ead8);
});

test('histogram() follows TensorFlow\'s Histogram: upper-bound buckets, empty runs collapsed', (t) => {
  const h = histogram([0]);
  t.deepEqual(h.bucketLimit, [0, 1e-12, Number.MAX_VALUE], 'empties before, the bucket [0, 1e-12), empties after');
  t.deepEqual(h.bucket, [0, 1, 0]);
  const edges = defaultHistogramEdges();
  t.is(edges.length, 2 * 775 + 1);
  t.deepEqual([edges[0], edges[775], edges[776], edges[edges.length - 1]], [-Number.MAX_VALUE, 0, 1e-12, Number.MAX_VALUE]);
  const on = histogram([1e-12]); // a value on an edge goes to the bucket above it
  t.deepEqual(on.bucketLimit.slice(0, 2), [1e-12, edges[777]]);
  t.deepEqual(on.bucket.slice(0, 2), [0, 1]);
  t.throws(() => histogram([1, NaN]), { message: 'histogram: values[1] is NaN; expected finite values' });
  t.throws(() => histogram([]), { message: 'histogram: values is empty; expected at least one value' });
});

test('events wait in memory until maxQueue of them do, then go to the file', (t) => {
  const w = new SummaryWriter(path.join(dir, 'queue'), { maxQueue: 3 });
  const size = () => fs.statSync(w.file).size;
  const first = size();
  t.true(first > 0, 'the file_version record is written at once');
  w.addScalar('x', 1, 0);
  w.addScalar('x', 2, 1);
  t.is(size(), first, 'two events wait');
  w.addScalar('x', 3, 2);
  t.true(size() > first, 'the third flushes all three');
  const after = size();
  w.addScalar('x', 4, 3);
  w.flush();
  t.true(size() > after, 'flush() writes what waits');
  w.close();
  w.flush(); // a no-op once closed
  t.is(read(path.join(dir, 'queue')).scalars.x.length, 4);
});

test('a writer left open is flushed when the process exits', (t) => {
  const logdir = path.join(dir, 'exit');
  const lib = path.join(repoRoot, 'dist', 'src', 'tensorboard.js');
  const program = `const { SummaryWriter } = require(${JSON.stringify(lib)});
    const w = new SummaryWriter(${JSON.stringify(logdir)});
    w.addScalar('left/open', 42, 7);`;
  const r = spawnSync(process.execPath, ['-e', program], { encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);
  t.deepEqual(read(logdir).scalars['left/open'].map((e) => [e.step, e.value]), [[7, 42]]);
});

test('arguments are checked, sharp-style, and a closed writer refuses events', (t) => {
  const w = new SummaryWriter(path.join(dir, 'args'));
  const img = tensor(new Float32Array(2 * 4 * 4), [2, 4, 4]);
  t.throws(() => w.addScalar('loss', 1, -1), { message: 'Expected non-negative integer for step but received -1 of type number' });
  t.throws(() => w.addScalar('loss', 1, 1.5), { message: 'Expected non-negative integer for step but received 1.5 of type number' });
  t.throws(() => w.addScalar('', 1, 0), { message: 'Expected non-empty string for tag but received \'\' of type string' });
  t.throws(() => w.addScalar('loss', '1' as unknown as number, 0), { message: 'Expected number or one-element Tensor for value but received \'1\' of type string' });
  t.throws(() => w.addScalar('loss', 1, 0, NaN), { message: 'Expected finite number for wallTime but received NaN of type number' });
  t.throws(() => w.addHistogram('h', [1, 'x'] as unknown as number[], 0), { message: 'Expected number for values[1] but received \'x\' of type string' });
  t.throws(() => w.addHistogram('h', [Infinity], 0), { message: 'addHistogram(\'h\'): values[0] is Infinity; expected finite values' });
  t.throws(() => w.addImage('img', img, 0), { message: 'addImage: expected a CHW tensor with 1, 3 or 4 channels and a non-empty image for \'img\', but its shape is [2,4,4]' });
  t.throws(() => w.addImage('img', [1] as unknown as Tensor, 0), { message: 'Expected Tensor for img but received [1] of type array' });
  t.throws(() => new SummaryWriter(path.join(dir, 'args'), { maxQueue: 0 }), { message: 'Expected positive integer for maxQueue but received 0 of type number' });
  w.close();
  t.throws(() => w.addScalar('loss', 1, 0), { message: `addScalar: the SummaryWriter of ${w.file} is closed` });
  t.true(w.closed);
  img.dispose();
  const blocked = path.join(dir, 'a-file');
  fs.writeFileSync(blocked, '');
  t.throws(() => new SummaryWriter(blocked), { message: /^SummaryWriter: cannot create .*a-file\/events\.out\.tfevents\..*: EEXIST/ });
});
