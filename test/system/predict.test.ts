// torchbridge predict and the Classifier API, checked against `torchbridge test`:
// CIFAR-10 test images written as PNG must get exactly the classes `test
// --predictions` gives for the same weights, and the API's probabilities must be
// bit for bit those of the DataLoader + model path. JPEG is lossy, so its rule
// is stated where it is checked. Bad images, wrong checkpoints and bad arguments
// must each give a clear error naming what is wrong.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { Classifier, ImageError, Prediction } from '../../src/classifier';
import { CIFAR10 } from '../../src/data/cifar10';
import { DataLoader } from '../../src/data/dataloader';
import { CIFAR10_CLASSES } from '../../src/data/layout';
import { AlexNetModel } from '../../src/models/alexnet';
import { Linear } from '../../src/nn/layers';
import { manualSeed } from '../../src/runtime';
import { saveSafetensors } from '../../src/safetensors';
import { disposeValue, load, save } from '../../src/serialize';
import { arange, noGrad, rand, Tensor, tidy, zeros } from '../../src/tensor';
import { devData } from '../helpers/data';
import { cifarFolder, decodePlain, encode, saveSeededWeights, testImages } from '../helpers/images';
import { repoRoot, tempDir } from '../helpers/python';

const cli = path.join(repoRoot, 'dist', 'src', 'cli.js');
const N = 40;

function run(args: string[]) {
  return spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 300_000 });
}

function jsonLines(text: string): any[] {
  return text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l));
}

let dir: string;
let weights: string;
let pixels: Uint8Array[];
let labels: number[];
let pngs: string[];
let jpegs: string[];
/** `torchbridge test --predictions` for the first N test images: the class of each. */
let testClasses: number[];

test.before(async () => {
  dir = tempDir('torchbridge-predict-');
  weights = path.join(dir, 'seeded.pt');
  await saveSeededWeights(weights);
  ({ pixels, labels } = await testImages(N));
  pngs = [];
  jpegs = [];
  for (let i = 0; i < N; i++) {
    const name = path.join(dir, `test-${String(i).padStart(2, '0')}`);
    fs.writeFileSync(`${name}.png`, await encode(pixels[i], 'png'));
    fs.writeFileSync(`${name}.jpg`, await encode(pixels[i], 'jpeg'));
    pngs.push(`${name}.png`);
    jpegs.push(`${name}.jpg`);
  }
  // One batch of N on both sides, so the two runs do the very same arithmetic.
  const out = path.join(dir, 'test.jsonl');
  const r = run(['test', '--data', devData, '--checkpoint', weights, '--limit-test', String(N), '--batch-size', String(N), '--predictions', out]);
  if (r.status !== 0) throw new Error(`torchbridge test failed: ${r.stderr}`);
  testClasses = jsonLines(fs.readFileSync(out, 'utf8')).map((l) => l.prediction);
});

test.after.always(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

function checkRanking(t: import('ava').ExecutionContext, predictions: Prediction[], topk: number): void {
  t.is(predictions.length, topk);
  predictions.forEach((p, i) => {
    t.is(p.label, CIFAR10_CLASSES[p.index]);
    t.true(p.probability >= 0 && p.probability <= 1);
    if (i > 0) t.true(p.probability <= predictions[i - 1].probability, 'best first');
  });
  t.is(new Set(predictions.map((p) => p.index)).size, topk, 'no class twice');
}

test.serial('test --predictions writes one line per image, with the dataset order, labels and names', (t) => {
  const lines = jsonLines(fs.readFileSync(path.join(dir, 'test.jsonl'), 'utf8'));
  t.deepEqual(lines.map((l) => l.index), Array.from({ length: N }, (_, i) => i));
  t.deepEqual(lines.map((l) => l.target), labels);
  for (const l of lines) t.is(l.label, CIFAR10_CLASSES[l.prediction]);
  t.deepEqual(fs.readdirSync(dir).filter((f) => f.includes('.tmp-')), [], 'no temporary file left');
  // The comparisons below mean something only if the class depends on the image.
  t.true(new Set(testClasses).size >= 3, `classes predicted: ${[...new Set(testClasses)]}`);
});

test.serial('predict --json on PNG copies of test images gives exactly the classes of `test`', (t) => {
  const r = run(['predict', '--json', '--checkpoint', weights, '--batch-size', String(N), ...pngs]);
  t.is(r.status, 0, r.stderr);
  const got = jsonLines(r.stdout);
  t.deepEqual(got.map((g) => g.file), pngs);
  t.deepEqual(got.map((g) => g.predictions[0].index), testClasses);
  for (const g of got) {
    t.deepEqual(Object.keys(g), ['file', 'predictions']);
    checkRanking(t, g.predictions, 5);
  }
});

test.serial('predict --recipe fast: the classes of `test --recipe fast`, which scores each image with its mirror image', (t) => {
  const out = path.join(dir, 'test-fast.jsonl');
  const te = run(['test', '--recipe', 'fast', '--data', devData, '--checkpoint', weights, '--limit-test', String(N), '--batch-size', String(N), '--predictions', out]);
  t.is(te.status, 0, te.stderr);
  const expected = jsonLines(fs.readFileSync(out, 'utf8')).map((l) => l.prediction);
  const r = run(['predict', '--recipe', 'fast', '--json', '--checkpoint', weights, '--batch-size', String(N), ...pngs]);
  t.is(r.status, 0, r.stderr);
  t.deepEqual(jsonLines(r.stdout).map((g) => g.predictions[0].index), expected);
  // Meaningful only if the mirror image changes some class.
  const changed = expected.filter((c, i) => c !== testClasses[i]).length;
  t.log(`${changed} of ${N} classes change with the mirror image`);
  t.true(changed > 0);
});

test.serial('JPEG: predict equals `test` on the decoded pixels, and mostly agrees with the lossless classes', async (t) => {
  // The rule: JPEG changes pixels, so the exact check runs `test` on the pixels the
  // JPEG files decode to (written as a CIFAR-10 test split). Against the original
  // pixels, quality 100 without chroma subsampling stays within a few levels, and
  // at least 90% of the classes must stay the same.
  const decoded = await Promise.all(jpegs.map((f) => decodePlain(fs.readFileSync(f))));
  let maxDiff = 0;
  decoded.forEach((d, i) => d.forEach((x, j) => { maxDiff = Math.max(maxDiff, Math.abs(x - pixels[i][j])); }));
  t.true(maxDiff > 0 && maxDiff <= 8, `largest pixel change ${maxDiff}`);
  const root = cifarFolder(path.join(dir, 'jpeg-data'), decoded, labels);
  const out = path.join(dir, 'jpeg.jsonl');
  const te = run(['test', '--data', root, '--checkpoint', weights, '--batch-size', String(N), '--predictions', out]);
  t.is(te.status, 0, te.stderr);
  const expected = jsonLines(fs.readFileSync(out, 'utf8')).map((l) => l.prediction);
  const r = run(['predict', '--json', '--checkpoint', weights, '--batch-size', String(N), ...jpegs]);
  t.is(r.status, 0, r.stderr);
  const got = jsonLines(r.stdout).map((g) => g.predictions[0].index);
  t.deepEqual(got, expected);
  const same = got.filter((c, i) => c === testClasses[i]).length;
  t.log(`largest pixel change ${maxDiff}; ${same} of ${N} JPEG classes equal the lossless ones`);
  t.true(same >= 0.9 * N, `${same} of ${N} JPEG classes equal the lossless ones`);
});

test.serial('every weights file a training run writes predicts exactly the same: safetensors, per-epoch and checkpoint', (t) => {
  const out = path.join(dir, 'run');
  const tr = run(['train', '--data', devData, '--epochs', '1', '--limit-train', '16', '--batch-size', '16', '--limit-test', '10',
    '--checkpoint', path.join(out, 'weights.safetensors'), '--checkpoint-dir', path.join(out, 'ck'), '--seed', '2']);
  t.is(tr.status, 0, tr.stderr);
  const images = pngs.slice(0, 5);
  const files = ['weights.safetensors', 'ck/model-0001.safetensors', 'ck/checkpoint-0001-000000.pt'];
  const outputs = files.map((f) => {
    const r = run(['predict', '--json', '--topk', '10', '--checkpoint', path.join(out, f), ...images]);
    t.is(r.status, 0, `${f}: ${r.stderr}`);
    return r.stdout;
  });
  t.is(jsonLines(outputs[0]).length, 5);
  t.is(outputs[1], outputs[0]);
  t.is(outputs[2], outputs[0]);
});

test.serial('human output: each file, then its top-k classes as label and percentage, matching --json', (t) => {
  const images = [pngs[0], jpegs[1], pngs[2]];
  const human = run(['predict', '--topk', '3', '--checkpoint', weights, ...images]);
  const json = run(['predict', '--topk', '3', '--json', '--checkpoint', weights, ...images]);
  t.is(human.status, 0, human.stderr);
  t.is(json.status, 0, json.stderr);
  const lines = human.stdout.trimEnd().split('\n');
  t.is(lines.length, 3 * 4);
  jsonLines(json.stdout).forEach((g, i) => {
    t.is(lines[4 * i], images[i]);
    g.predictions.forEach((p: Prediction, k: number) => {
      const m = /^ {2}(\S+) +(\d+\.\d\d)%$/.exec(lines[4 * i + 1 + k]);
      t.truthy(m, lines[4 * i + 1 + k]);
      t.is(m![1], p.label);
      t.is(m![2], (100 * p.probability).toFixed(2));
    });
  });
});

test.serial('bad images are named on stderr, the good ones still print, and the exit code is 1', async (t) => {
  const corrupt = path.join(dir, 'corrupt.png');
  fs.writeFileSync(corrupt, 'this is not an image');
  const truncated = path.join(dir, 'truncated.png');
  const whole = fs.readFileSync(pngs[1]);
  fs.writeFileSync(truncated, whole.subarray(0, whole.length >> 1));
  const gif = path.join(dir, 'image.gif');
  fs.writeFileSync(gif, await sharp(fs.readFileSync(pngs[2])).gif().toBuffer());
  const missing = path.join(dir, 'missing.png');
  const r = run(['predict', '--json', '--checkpoint', weights, pngs[0], corrupt, truncated, missing, gif, jpegs[3]]);
  t.is(r.status, 1);
  t.deepEqual(jsonLines(r.stdout).map((g) => g.file), [pngs[0], jpegs[3]]);
  const expectations: [string, RegExp][] = [
    [corrupt, /Cannot decode image .*corrupt\.png: .*; expected a PNG, JPEG or WebP image/],
    [truncated, /Cannot decode image .*truncated\.png: .*; expected a PNG, JPEG or WebP image/],
    [missing, /Cannot read image .*missing\.png: ENOENT/],
    [gif, /Cannot decode image .*image\.gif: it is a GIF image; expected a PNG, JPEG or WebP image/],
  ];
  for (const [file, re] of expectations) {
    const line = r.stderr.split('\n').find((l) => l.includes(file));
    t.truthy(line, `stderr names ${file}: ${r.stderr}`);
    t.regex(line!, re);
  }
  t.regex(r.stderr, /4 of 6 images could not be labelled/);
});

test.serial('a checkpoint of another model, or a corrupt one, is refused naming the file', async (t) => {
  const linear = path.join(dir, 'linear.pt');
  const lin = new Linear(3, 2);
  await save(lin.stateDict(), linear);
  lin.dispose();
  // AlexNet with a 100-class head: right keys, wrong shapes.
  const wide = path.join(dir, 'alexnet-100.pt');
  const model = new AlexNetModel();
  const sd = model.stateDict();
  sd['fc3.weight'].dispose();
  sd['fc3.bias'].dispose();
  sd['fc3.weight'] = zeros([100, 4608]);
  sd['fc3.bias'] = zeros([100]);
  await save(sd, wide);
  disposeValue(sd);
  model.dispose();
  const corrupt = path.join(dir, 'corrupt.pt');
  fs.writeFileSync(corrupt, 'not a checkpoint');
  const linearSafetensors = path.join(dir, 'linear.safetensors');
  const lin2 = new Linear(3, 2);
  await saveSafetensors(lin2.stateDict(), linearSafetensors);
  lin2.dispose();
  const corruptSafetensors = path.join(dir, 'corrupt.safetensors');
  fs.writeFileSync(corruptSafetensors, 'not safetensors either');
  const cases: [string, RegExp][] = [
    [linear, /Checkpoint .*linear\.pt does not hold AlexNetModel weights: expected its 16 tensors \(conv1\.0\.weight \[64, 3, 4, 4\] \.\.\. fc3\.bias \[10\]\).*Missing key\(s\)/s],
    [wide, /Checkpoint .*alexnet-100\.pt does not hold AlexNetModel weights.*size mismatch for fc3\.weight: copying a param with shape \[100,4608\]/s],
    [corrupt, /Cannot load checkpoint .*corrupt\.pt: load: .*zip archive/],
    [path.join(dir, 'absent.pt'), /Cannot load checkpoint .*absent\.pt: load: .*No such file/],
    [linearSafetensors, /Checkpoint .*linear\.safetensors does not hold AlexNetModel weights: .*Missing key\(s\)/s],
    [corruptSafetensors, /Cannot load checkpoint .*corrupt\.safetensors: loadSafetensors: /],
  ];
  for (const [file, re] of cases) {
    const e = await t.throwsAsync(Classifier.load(file));
    t.regex(e!.message, re);
  }
  // The CLI says the same (for the first three: each run costs seconds).
  for (const [file, re] of cases.slice(0, 3)) {
    const r = run(['predict', '--checkpoint', file, pngs[0]]);
    t.is(r.status, 1, file);
    t.regex(r.stderr, re);
    t.is(r.stdout, '');
  }
  // `test` loads weights the same way, so it names the file too.
  const te = run(['test', '--data', devData, '--checkpoint', linear, '--limit-test', '10']);
  t.is(te.status, 1);
  t.regex(te.stderr, /Checkpoint .*linear\.pt does not hold AlexNetModel weights/);
});

test.serial('predict usage errors exit 2 (before loading anything, but --topk above the classes the weights have)', (t) => {
  const cases: [string[], RegExp][] = [
    [['predict', '--checkpoint', weights], /predict needs at least one image file/],
    [['predict', pngs[0]], /predict needs --checkpoint <file>/],
    [['predict', pngs[0], '--checkpoint', weights, '--topk', '0'], /Expected positive integer for --topk but received '0'/],
    [['predict', pngs[0], '--checkpoint', weights, '--topk', '11'], /Expected integer between 1 and 10 for --topk but received '11'/],
    [['predict', pngs[0], '--checkpoint', weights, '--topk', 'all'], /Expected positive integer for --topk but received 'all'/],
    [['predict', pngs[0], '--checkpoint', weights, '--batch-size', '0'], /Expected positive integer for --batch-size but received '0'/],
    [['predict', pngs[0], '--checkpoint', weights, '--device', 'tpu'], /Expected device such as 'cpu'.* for --device but received 'tpu'/],
    [['predict', pngs[0], '--checkpoint', weights, '--epochs', '2'], /--epochs does not apply to predict/],
    [['predict', pngs[0], '--checkpoint', weights, '--recipe', 'quick'], /Expected one of 'reference', 'fast' for --recipe but received 'quick'/],
    [['test', '--checkpoint', weights, '--json'], /--json applies only to predict/],
    [['train', '--predictions', 'p.jsonl'], /--predictions applies only to test/],
  ];
  for (const [args, re] of cases) {
    const r = run(args);
    t.is(r.status, 2, args.join(' '));
    t.regex(r.stderr, re, args.join(' '));
  }
});

test.serial('Classifier: the DataLoader + model path\'s probabilities, bit for bit, for paths, Buffers and other formats', async (t) => {
  const clf = await Classifier.load(weights, { device: 'cpu' });
  const model = new AlexNetModel();
  const ds = await CIFAR10.create({ root: devData, train: false, limit: N });
  try {
    t.is(clf.device, 'cpu');
    t.deepEqual(clf.classes, CIFAR10_CLASSES);
    t.deepEqual(clf.inputSize, [3, 32, 32]);
    // The reference: the test DataLoader's batch through the model, softmax.
    const sd = (await load(weights)) as Record<string, Tensor>;
    model.loadStateDict(sd);
    disposeValue(sd);
    model.eval();
    const [batch] = [...new DataLoader(ds, { batchSize: N })];
    const probs = tidy(() => noGrad(() => model.forward(batch.inputs).softmax(1).toArray()));
    batch.inputs.dispose();
    batch.targets.dispose();

    const all = await clf.predictBatch(pngs, { topk: 10, batchSize: N });
    t.is(all.length, N);
    all.forEach((ranked, i) => {
      checkRanking(t, ranked, 10);
      for (const p of ranked) t.is(p.probability, probs[i * 10 + p.index], `image ${i}, class ${p.label}`);
      t.is(ranked[0].index, testClasses[i]);
    });

    // One image: a path, a Buffer, a Uint8Array, lossless WebP and RGBA PNG are the same image.
    const one = await clf.predict(pngs[4], { topk: 3 });
    checkRanking(t, one, 3);
    t.deepEqual(one.map((p) => p.index), all[4].slice(0, 3).map((p) => p.index));
    const bytes = fs.readFileSync(pngs[4]);
    t.deepEqual(await clf.predict(bytes, { topk: 3 }), one);
    t.deepEqual(await clf.predict(new Uint8Array(bytes), { topk: 3 }), one);
    t.deepEqual(await clf.predict(await encode(pixels[4], 'webp'), { topk: 3 }), one);
    const rgba = await sharp(bytes).ensureAlpha(1).png().toBuffer();
    t.is((await sharp(rgba).metadata()).channels, 4);
    t.deepEqual(await clf.predict(rgba, { topk: 3 }), one);
    t.is((await clf.predict(pngs[4])).length, 5, 'topk defaults to 5');

    // A batch of mixed inputs: one array per image, in order.
    const mixed = await clf.predictBatch([bytes, jpegs[5], pngs[6]], { topk: 1 });
    t.deepEqual(mixed.map((m) => m.length), [1, 1, 1]);
    t.is(mixed[0][0].index, all[4][0].index);
    t.is(mixed[2][0].index, all[6][0].index);
    t.deepEqual(await clf.predictBatch([]), []);

    // Any size and aspect ratio is scaled to cover 32x32.
    const wide = await sharp(bytes).resize(96, 64, { fit: 'fill' }).jpeg().toBuffer();
    checkRanking(t, await clf.predict(wide), 5);
  } finally {
    clf.dispose();
    model.dispose();
    ds.dispose();
  }
});

test.serial('Classifier with testTimeFlip: the probabilities of the mean of the logits of each image and its mirror image, bit for bit', async (t) => {
  const clf = await Classifier.load(weights, { testTimeFlip: true });
  const plain = await Classifier.load(weights);
  const model = new AlexNetModel();
  const ds = await CIFAR10.create({ root: devData, train: false, limit: N });
  try {
    t.true(clf.testTimeFlip);
    t.false(plain.testTimeFlip);
    t.regex(String(clf), /, testTimeFlip\)$/);
    // The reference: evaluate()'s arithmetic on the test DataLoader's batch.
    const sd = (await load(weights)) as Record<string, Tensor>;
    model.loadStateDict(sd);
    disposeValue(sd);
    model.eval();
    const [batch] = [...new DataLoader(ds, { batchSize: N })];
    const probs = tidy(() => noGrad(() => {
      const x = batch.inputs;
      const mirrored = x.indexSelect(3, arange(31, -1, -1, { dtype: 'int64' }));
      return model.forward(x).add(model.forward(mirrored)).div(2).softmax(1).toArray();
    }));
    batch.inputs.dispose();
    batch.targets.dispose();
    const flipped = await clf.predictBatch(pngs, { topk: 10, batchSize: N });
    const alone = await plain.predictBatch(pngs, { topk: 10, batchSize: N });
    let differ = 0;
    flipped.forEach((ranked, i) => {
      checkRanking(t, ranked, 10);
      for (const p of ranked) t.is(p.probability, probs[i * 10 + p.index], `image ${i}, class ${p.label}`);
      if (ranked[0].probability !== alone[i][0].probability) differ += 1;
    });
    t.true(differ > N / 2, `${differ} of ${N} top probabilities differ from the image alone's`);
    // One image at a time ranks the classes as in a batch.
    t.deepEqual((await clf.predict(pngs[3], { topk: 3 })).map((p) => p.index), flipped[3].slice(0, 3).map((p) => p.index));
  } finally {
    clf.dispose();
    plain.dispose();
    model.dispose();
    ds.dispose();
  }
});

test.serial('Classifier: bad images reject with an ImageError that names them', async (t) => {
  const clf = await Classifier.load(weights);
  try {
    const good = fs.readFileSync(pngs[0]);
    const e1 = await t.throwsAsync(clf.predictBatch([good, Buffer.from('garbage'), pngs[1]]), { instanceOf: ImageError });
    t.is(e1!.message, 'Cannot decode images[1] (a Buffer of 7 bytes): Input buffer contains unsupported image format; expected a PNG, JPEG or WebP image');
    t.is((e1 as ImageError).image, 'images[1] (Buffer, 7 bytes)');
    const e2 = await t.throwsAsync(clf.predict(path.join(dir, 'nothing.png')), { instanceOf: ImageError });
    t.regex(e2!.message, /^Cannot read image .*nothing\.png: ENOENT/);
    t.is((e2 as ImageError).image, path.join(dir, 'nothing.png'));
    await t.throwsAsync(clf.predict(good.subarray(0, 100)), { instanceOf: ImageError, message: /^Cannot decode the image Buffer \(100 bytes\): / });
    await t.throwsAsync(clf.predict(Buffer.alloc(0)), { instanceOf: ImageError });
    // The Classifier is still usable.
    t.is((await clf.predict(good)).length, 5);
  } finally {
    clf.dispose();
  }
});

test.serial('Classifier: arguments are validated with sharp-style messages', async (t) => {
  await t.throwsAsync(Classifier.load(''), { instanceOf: TypeError, message: "Expected non-empty string for file but received '' of type string" });
  await t.throwsAsync(Classifier.load(weights, { device: 'tpu' }), { instanceOf: TypeError, message: /^Expected device such as 'cpu'.* for device but received 'tpu' of type string$/ });
  await t.throwsAsync(Classifier.load(weights, { gpu: true } as never), { instanceOf: TypeError, message: "Unknown option 'gpu' in options; expected one of device, testTimeFlip" });
  await t.throwsAsync(Classifier.load(weights, { testTimeFlip: 1 } as never), { instanceOf: TypeError, message: 'Expected boolean for testTimeFlip but received 1 of type number' });
  const clf = await Classifier.load(weights);
  try {
    const cases: [() => Promise<unknown>, string][] = [
      [() => clf.predict(pngs[0], { topk: -1 }), 'Expected integer between 1 and 10 for topk but received -1 of type number'],
      [() => clf.predict(pngs[0], { topk: 0 }), 'Expected integer between 1 and 10 for topk but received 0 of type number'],
      [() => clf.predict(pngs[0], { topk: 11 }), 'Expected integer between 1 and 10 for topk but received 11 of type number'],
      [() => clf.predict(pngs[0], { topk: 2.5 }), 'Expected integer between 1 and 10 for topk but received 2.5 of type number'],
      [() => clf.predict(pngs[0], { topk: '3' } as never), "Expected integer between 1 and 10 for topk but received '3' of type string"],
      [() => clf.predict(pngs[0], { k: 3 } as never), "Unknown option 'k' in options; expected one of topk"],
      [() => clf.predict(5 as never), 'Expected file path or Buffer for image but received 5 of type number'],
      [() => clf.predict(''), "Expected file path or Buffer for image but received '' of type string"],
      [() => clf.predict(null as never), 'Expected file path or Buffer for image but received null of type null'],
      [() => clf.predictBatch('a.png' as never), "Expected array of file paths or Buffers for images but received 'a.png' of type string"],
      [() => clf.predictBatch([pngs[0], 7] as never), 'Expected file path or Buffer for images[1] but received 7 of type number'],
      [() => clf.predictBatch([pngs[0]], { batchSize: 0 }), 'Expected positive integer for batchSize but received 0 of type number'],
    ];
    for (const [call, message] of cases) await t.throwsAsync(call, { instanceOf: TypeError, message });
  } finally {
    clf.dispose();
  }
});

test.serial('Classifier: dispose() is idempotent, and loading leaves the global random generator as it was', async (t) => {
  manualSeed(11);
  const before = tidy(() => rand([4]).toArray());
  manualSeed(11);
  const clf = await Classifier.load(weights);
  t.deepEqual(tidy(() => rand([4]).toArray()), before);
  t.false(clf.isDisposed);
  // A dispose() during a call lets it finish, then frees the model.
  const running = clf.predict(pngs[0]);
  clf.dispose();
  clf.dispose();
  t.true(clf.isDisposed);
  t.is((await running).length, 5);
  await t.throwsAsync(clf.predict(pngs[0]), { message: /^The Classifier of .*seeded\.pt has been disposed; load another to predict$/ });
});
