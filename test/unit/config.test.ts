// resolveConfig is the one place a run's settings are checked: the CLI and the
// API get the same rules (see system/cli for the flags' messages).
import test from 'ava';
import { defaultConfig, recipeDefaults, resolveConfig } from '../../src/train';
import { weightsFormat } from '../../src/train/config';

test('defaults resolve; every field is checked by name', (t) => {
  t.deepEqual(resolveConfig({}), defaultConfig);
  t.throws(() => resolveConfig({ lr: 0 }), { message: 'Expected positive number for lr but received 0 of type number' });
  t.throws(() => resolveConfig({ epochs: Number.NaN }), { message: 'Expected positive integer for epochs but received NaN of type number' });
  t.throws(() => resolveConfig({ device: 'tpu' }), { message: /^Expected device such as 'cpu'.* for device but received 'tpu'/ });
  t.throws(() => resolveConfig({ checkpointEvery: 5 }), { message: 'checkpointEvery needs checkpointDir' });
  t.throws(() => resolveConfig({ epochs: 5, scheduleEpochs: 2 }), { message: 'scheduleEpochs (2) must be at least epochs (5)' });
  t.throws(() => resolveConfig({ epoch: 5 } as never), { message: /^Unknown option 'epoch' in config/ });
});

test('a label names the fields as the caller knows them', (t) => {
  t.throws(() => resolveConfig({ resume: true }, (k) => `--${k}`), { message: '--resume needs --checkpointDir' });
});

test('format: pt or safetensors, agreeing with the checkpoint\'s name; by default taken from it', (t) => {
  t.is(weightsFormat(resolveConfig({})), 'pt');
  t.is(weightsFormat(resolveConfig({ checkpoint: 'w.safetensors' })), 'safetensors');
  t.is(weightsFormat(resolveConfig({ checkpoint: 'w.pt' })), 'pt');
  t.is(weightsFormat(resolveConfig({ format: 'safetensors', checkpointDir: 'ckpt' })), 'safetensors');
  t.throws(() => resolveConfig({ format: 'onnx' as never }), { message: 'Expected one of \'pt\', \'safetensors\' for format but received \'onnx\' of type string' });
  t.throws(() => resolveConfig({ format: 'safetensors', checkpoint: 'w.pt' }), { message: 'checkpoint must end in .safetensors with format safetensors' });
  t.throws(() => resolveConfig({ format: 'pt', checkpoint: 'w.safetensors' }), { message: 'checkpoint ends in .safetensors, which format pt does not write' });
  t.throws(() => resolveConfig({ tensorboard: 3 as never }), { message: 'Expected non-empty string for tensorboard but received 3 of type number' });
});

test('imagefolder: its options only with it, --data required, an image size some model takes', (t) => {
  const c = resolveConfig({ dataset: 'imagefolder', data: '/photos', imageSize: 64, valSplit: 0.2, skipBad: true });
  t.is(c.imageSize, 64);
  t.is(resolveConfig({ dataset: 'imagefolder', data: '/photos' }).valSplit, null, 'null: the recipe\'s 0.1');
  t.throws(() => resolveConfig({ dataset: 'mnist' as never }), { message: "Expected one of 'cifar10', 'imagefolder' for dataset but received 'mnist' of type string" });
  t.throws(() => resolveConfig({ imageSize: 64 }), { message: 'imageSize applies only to dataset imagefolder' });
  t.throws(() => resolveConfig({ skipBad: true }), { message: 'skipBad applies only to dataset imagefolder' });
  t.throws(() => resolveConfig({ dataset: 'imagefolder' }), { message: 'dataset imagefolder needs data: the folder that holds one folder of images per class' });
  t.throws(() => resolveConfig({ dataset: 'imagefolder', data: '/p', imageSize: 48 }), {
    message: "imageSize 48 fits no model: 32 trains the reference AlexNet, 63 and up torchvision's AlexNet",
  });
  t.throws(() => resolveConfig({ dataset: 'imagefolder', data: '/p', imageSize: 0 }), { message: 'Expected integer between 1 and 4096 for imageSize but received 0 of type number' });
  for (const x of [0, 1, -0.1, Number.NaN]) {
    t.throws(() => resolveConfig({ dataset: 'imagefolder', data: '/p', valSplit: x }), { message: new RegExp(`^Expected number strictly between 0 and 1 for valSplit but received ${x}`) });
  }
});

test('runDir: checkpoints and weights go inside it unless given elsewhere', (t) => {
  const c = resolveConfig({ runDir: '/runs/a' });
  t.is(c.checkpointDir, '/runs/a/checkpoints');
  t.is(c.checkpoint, '/runs/a/model.pt');
  t.is(resolveConfig({ runDir: '/runs/a', format: 'safetensors' }).checkpoint, '/runs/a/model.safetensors');
  const own = resolveConfig({ runDir: '/runs/a', checkpoint: '/w.pt', checkpointDir: '/ck' });
  t.is(own.checkpoint, '/w.pt');
  t.is(own.checkpointDir, '/ck');
  // resume needs a checkpoint folder, which the run directory provides.
  t.true(resolveConfig({ runDir: '/runs/a', resume: true }).resume);
  t.throws(() => resolveConfig({ runDir: '' }), { message: "Expected non-empty string for runDir but received '' of type string" });
});

test('recipe: its defaults fill batch size, lr and weight decay; what the config gives wins', (t) => {
  const fast = resolveConfig({ recipe: 'fast' });
  t.deepEqual([fast.batchSize, fast.lr, fast.weightDecay], [recipeDefaults.fast.batchSize, recipeDefaults.fast.lr, recipeDefaults.fast.weightDecay]);
  t.not(recipeDefaults.fast.batchSize, defaultConfig.batchSize, 'the fast recipe trains on smaller batches than the reference');
  t.is(resolveConfig({ recipe: 'fast', batchSize: 100 }).batchSize, 100);
  t.is(resolveConfig({}).batchSize, recipeDefaults.reference.batchSize);
  t.is(resolveConfig({ recipe: 'fast', batchSize: undefined, epochs: undefined }).batchSize, recipeDefaults.fast.batchSize, 'undefined: left out');
  t.throws(() => resolveConfig({ recipe: 'quick' as never }, (k) => `--${k}`), { message: "Expected one of 'reference', 'fast' for --recipe but received 'quick' of type string" });
});
