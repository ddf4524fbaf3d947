// What a model was trained on travels with its weights: saveWeights writes the
// record into a .pt dict or safetensors metadata, loadWeights and readTrainedOn
// read it back, and Classifier builds its model, classes and normalisation from it.
// Files without one (the reference's plain state dicts) are CIFAR-10's.
import test from 'ava';
import * as path from 'node:path';
import sharp from 'sharp';
import { Classifier } from '../../src/classifier';
import { AlexNetModel } from '../../src/models/alexnet';
import { Linear } from '../../src/nn/layers';
import { loadSafetensors } from '../../src/safetensors';
import { disposeValue, load, Value } from '../../src/serialize';
import { loadWeights, readTrainedOn, saveWeights, TRAINED_ON_KEY, WEIGHTS_FORMAT } from '../../src/train/checkpoint';
import { CIFAR10_TRAINED_ON, TrainedOn } from '../../src/train/trained_on';
import { tempDir } from '../helpers/python';

const record: TrainedOn = {
  dataset: 'imagefolder', classes: ['cats', 'dogs', 'owls'], mean: [0.5, 0.25, 0.125], std: [0.2, 0.3, 0.4], imageSize: 32, model: 'alexnet',
  split: { seed: 4, valSplit: 0.2 },
};

test('saveWeights / readTrainedOn / loadWeights: the record round-trips in .pt and .safetensors; plain files have none', async (t) => {
  const dir = tempDir();
  const src = new Linear(4, 3);
  for (const [name, format] of [['w.pt', 'pt'], ['w.safetensors', 'safetensors']] as const) {
    const file = path.join(dir, name);
    await saveWeights(src, file, format, record);
    t.deepEqual(await readTrainedOn(file), record, name);
    const dst = new Linear(4, 3);
    t.deepEqual(await loadWeights(dst, file), record);
    t.deepEqual(dst.weight.toArray(), src.weight.toArray(), 'the weights load too');
    dst.dispose();
  }
  const pt = (await load(path.join(dir, 'w.pt'))) as Record<string, Value>;
  t.is(pt.format, WEIGHTS_FORMAT);
  t.deepEqual(Object.keys(pt.model as object).sort(), ['bias', 'weight']);
  disposeValue(pt);
  const st = await loadSafetensors(path.join(dir, 'w.safetensors'));
  t.deepEqual(JSON.parse(st.metadata![TRAINED_ON_KEY]), record);
  for (const x of Object.values(st.tensors)) x.dispose();

  const plain = path.join(dir, 'plain.pt');
  await saveWeights(src, plain, 'pt', null);
  t.is(await readTrainedOn(plain), null);
  const sd = (await load(plain)) as Record<string, Value>;
  t.deepEqual(Object.keys(sd).sort(), ['bias', 'weight'], 'a plain state dict, as the reference saves');
  disposeValue(sd);
  // A record that contradicts itself (no model takes 40x40) is ignored, not trusted.
  await saveWeights(src, path.join(dir, 'odd.pt'), 'pt', { ...record, imageSize: 40 });
  t.is(await readTrainedOn(path.join(dir, 'odd.pt')), null);
  src.dispose();
});

test('Classifier takes classes, mean, std, size and model from the record; CIFAR-10\'s without one', async (t) => {
  const dir = tempDir();
  const model = new AlexNetModel({ numClasses: 3 });
  const file = path.join(dir, 'mine.pt');
  await saveWeights(model, file, 'pt', record);
  const plainFile = path.join(dir, 'cifar.pt');
  const cifarModel = new AlexNetModel();
  await saveWeights(cifarModel, plainFile, 'pt', null);
  const png = await sharp(Buffer.alloc(32 * 32 * 3, 90), { raw: { width: 32, height: 32, channels: 3 } }).png().toBuffer();

  const clf = await Classifier.load(file);
  t.deepEqual(clf.classes, record.classes);
  t.deepEqual(clf.mean, record.mean);
  t.deepEqual(clf.std, record.std);
  t.deepEqual(clf.inputSize, [3, 32, 32]);
  const top = await clf.predict(png);
  t.is(top.length, 3, 'topk defaults to all classes when there are fewer than 5');
  t.deepEqual(top.map((p) => p.label).sort(), record.classes);
  await t.throwsAsync(clf.predict(png, { topk: 4 }), { message: 'Expected integer between 1 and 3 for topk but received 4 of type number' });
  clf.dispose();

  const cifar = await Classifier.load(plainFile);
  t.deepEqual(cifar.classes, CIFAR10_TRAINED_ON.classes);
  t.deepEqual(cifar.mean, CIFAR10_TRAINED_ON.mean);
  t.is((await cifar.predict(png)).length, 5);
  cifar.dispose();
  // A 10-class file with a 3-class record does not fit, and says so.
  await saveWeights(cifarModel, path.join(dir, 'mismatch.pt'), 'pt', record);
  await t.throwsAsync(Classifier.load(path.join(dir, 'mismatch.pt')), { message: /does not hold AlexNetModel weights/ });
  model.dispose();
  cifarModel.dispose();
});
