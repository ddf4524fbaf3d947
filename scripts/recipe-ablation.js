#!/usr/bin/env node
// The fast recipe's ablations: AlexNetModel on CIFAR-10 with each ingredient
// switched on by a flag, for the README's table of what each one adds. It is
// how the fast recipe (src/train/recipes.ts) was chosen; the recipe itself is
// what `torchbridge train --recipe fast` runs.
//
// usage: npm run build:ts && node scripts/recipe-ablation.js --data <dev split> --epochs 5
//          [--bs 64] [--lr 0.1] [--wd 5e-4] [--wdsplit] [--ls 0.2] [--nesterov] [--tta] [--pad 4]
//          [--ema 0.999] [--whiten] [--pct 0.3] [--div 25] [--fdiv 1e4] [--seed 0] [--save weights.pt]
// --tta scores test images by the sum of the softmax of each image and its mirror
// image (the recipe averages logits); --whiten sets conv1 to whitening filters of
// 4x4 patches and freezes it. Prints one RESULT line per epoch.
'use strict';
const path = require('node:path');
const { parseArgs } = require('node:util');
const tb = require(path.join(__dirname, '..', 'dist', 'src', 'index.js'));
const tr = require(path.join(__dirname, '..', 'dist', 'src', 'train', 'index.js'));
const { values: a } = parseArgs({ options: {
  epochs: { type: 'string', default: '2' }, bs: { type: 'string', default: '128' }, lr: { type: 'string', default: '0.1' },
  wd: { type: 'string', default: '5e-4' }, pct: { type: 'string', default: '0.3' }, ls: { type: 'string', default: '0' },
  nesterov: { type: 'boolean', default: false }, ema: { type: 'string', default: '0' }, tta: { type: 'boolean', default: false },
  whiten: { type: 'boolean', default: false }, seed: { type: 'string', default: '0' }, limit: { type: 'string' },
  div: { type: 'string', default: '25' }, fdiv: { type: 'string', default: '1e4' }, anneal: { type: 'string', default: 'cos' },
  mom: { type: 'string', default: '0.85,0.95' }, wdsplit: { type: 'boolean', default: false }, threads: { type: 'string', default: '2' }, data: { type: 'string' }, save: { type: 'string' }, pad: { type: 'string', default: '4' },
} });
const n = (k) => Number(a[k]);

// Symmetric eigendecomposition (cyclic Jacobi), for a 48x48 covariance.
function eigh(A, d) {
  const V = Array.from({ length: d }, (_, i) => Array.from({ length: d }, (_, j) => (i === j ? 1 : 0)));
  const M = A.map((r) => r.slice());
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < d; p++) for (let q = p + 1; q < d; q++) off += M[p][q] ** 2;
    if (off < 1e-20) break;
    for (let p = 0; p < d; p++) for (let q = p + 1; q < d; q++) {
      if (Math.abs(M[p][q]) < 1e-30) continue;
      const th = (M[q][q] - M[p][p]) / (2 * M[p][q]);
      const t = Math.sign(th || 1) / (Math.abs(th) + Math.sqrt(th * th + 1));
      const c = 1 / Math.sqrt(t * t + 1), s = t * c;
      for (let k = 0; k < d; k++) { const mkp = M[k][p], mkq = M[k][q]; M[k][p] = c * mkp - s * mkq; M[k][q] = s * mkp + c * mkq; }
      for (let k = 0; k < d; k++) { const mpk = M[p][k], mqk = M[q][k]; M[p][k] = c * mpk - s * mqk; M[q][k] = s * mpk + c * mqk; }
      for (let k = 0; k < d; k++) { const vkp = V[k][p], vkq = V[k][q]; V[k][p] = c * vkp - s * vkq; V[k][q] = s * vkp + c * vkq; }
    }
  }
  return { values: M.map((r, i) => r[i]), vectors: V }; // columns are eigenvectors
}

async function main() {
  if (!a.data) throw new Error('--data <folder holding cifar-10-batches-bin> is required');
  const root = path.resolve(a.data);
  tb.setNumThreads(n('threads'));
  const seed = n('seed');
  tb.manualSeed(seed);
  const limit = a.limit ? { limit: Number(a.limit) } : {};
  const train = await tb.data.CIFAR10.create({ root, train: true, download: false, ...limit });
  const test = await tb.data.CIFAR10.create({ root, train: false, download: false });
  const bs = n('bs');
  const loader = new tb.data.DataLoader(train, { batchSize: bs, shuffle: true, seed, augment: { padding: n('pad'), flip: true } });
  const testLoader = () => new tb.data.DataLoader(test, { batchSize: 500 });
  const model = new tb.AlexNetModel();
  let params = model.parameters();
  if (a.whiten) {
    // conv1: 4x4x3 patches at stride 2; filters = top-32 eigenvectors of their covariance, +/-, scaled to whiten.
    const probe = new tb.data.DataLoader(train, { batchSize: 5000 });
    const batch = probe[Symbol.iterator]().next().value;
    const eye = tb.tensor(Array.from({ length: 48 * 48 }, (_, i) => (Math.floor(i / 48) === i % 48 ? 1 : 0))).reshape([48, 3, 4, 4]);
    const P = tb.tidy(() => tb.nn.functional.conv2d(batch.inputs, eye, null, 2).permute([1, 0, 2, 3]).reshape([48, -1]));
    const mean = tb.tidy(() => P.mean(1, true));
    const C = tb.tidy(() => { const c = P.sub(mean); return c.matmul(c.t()).div(c.shape[1]); });
    const Ca = C.toArray(); const A = []; for (let i = 0; i < 48; i++) A.push(Ca.slice(i * 48, i * 48 + 48));
    const { values, vectors } = eigh(A, 48);
    const order = values.map((x, i) => [x, i]).sort((x, y) => y[0] - x[0]).map((x) => x[1]);
    const w = new Float32Array(64 * 48);
    for (let f = 0; f < 32; f++) {
      const k = order[f], s = 1 / Math.sqrt(values[k] + 5e-4);
      for (let j = 0; j < 48; j++) { w[f * 48 + j] = vectors[j][k] * s; w[(f + 32) * 48 + j] = -vectors[j][k] * s; }
    }
    const W = tb.tensor(Array.from(w)).reshape([64, 3, 4, 4]);
    model.conv1[0].weight.setData(W);
    // bias: -w.mean so each filter's output is centred
    const b = tb.tidy(() => W.reshape([64, 48]).matmul(mean).reshape([64]).neg());
    model.conv1[0].bias.setData(b);
    console.log(`whitened conv1: eigenvalues ${values[order[0]].toExponential(2)} .. ${values[order[31]].toExponential(2)}`);
    params = params.filter((p) => p !== model.conv1[0].weight); // frozen
    batch.inputs.dispose(); batch.targets.dispose();
  }
  const [m1, m2] = a.mom.split(',').map(Number);
  let groups = params;
  if (a.wdsplit) groups = [{ params: params.filter((p) => p.ndim > 1) }, { params: params.filter((p) => p.ndim <= 1), weightDecay: 0 }];
  const opt = new tb.optim.SGD(groups, { lr: 1.0, weightDecay: n('wd'), momentum: a.nesterov ? 0.9 : 0, nesterov: a.nesterov });
  const sched = new tb.optim.OneCycleLR(opt, n('lr'), { epochs: n('epochs'), stepsPerEpoch: loader.length, divFactor: n('div'),
    finalDivFactor: n('fdiv'), pctStart: n('pct'), annealStrategy: a.anneal, baseMomentum: m1, maxMomentum: m2 });
  const ls = n('ls');
  const crit = (o, y) => tb.nn.functional.crossEntropy(o, y, { labelSmoothing: ls });
  const plain = (o, y) => tb.nn.functional.crossEntropy(o, y);
  const emaD = n('ema');
  const ema = emaD > 0 ? model.parameters().map((p) => p.detach().clone()) : null;
  const evalTta = (m) => {
    m.eval();
    let correct = 0, total = 0;
    const rev = tb.tensor(Array.from({ length: 32 }, (_, i) => 31 - i), { dtype: 'int64' });
    for (const b of testLoader()) {
      correct += tb.tidy(() => tb.noGrad(() => {
        let o = m.forward(b.inputs).softmax(1);
        if (a.tta) o = o.add(m.forward(b.inputs.indexSelect(3, rev)).softmax(1));
        return o.argmax(1).eq(b.targets).sum().item();
      }));
      total += b.targets.shape[0];
      b.inputs.dispose(); b.targets.dispose();
    }
    return (100 * correct) / total;
  };
  const t0 = Date.now();
  let step = 0;
  for (let e = 0; e < n('epochs'); e++) {
    const r = tr.trainEpoch(model, loader, crit, opt, sched, e, { logEvery: 100, afterStep: () => {
      step++;
      if (ema) tb.noGrad(() => model.parameters().forEach((p, i) => { tb.tidy(() => ema[i].copy_(ema[i].mul(emaD).add(p.detach().mul(1 - emaD)))); }));
    } });
    const acc = evalTta(model);
    let emaAcc = '';
    if (ema) {
      const live = model.parameters().map((p) => p.detach().clone());
      model.parameters().forEach((p, i) => p.setData(ema[i].clone()));
      emaAcc = ` ema ${evalTta(model).toFixed(2)}%`;
      model.parameters().forEach((p, i) => p.setData(live[i]));
    }
    if (a.save && e + 1 === n('epochs')) await tb.save(model.stateDict(), a.save);
    console.log(`RESULT epoch ${e + 1} loss ${r.loss.toFixed(4)} acc ${acc.toFixed(2)}%${emaAcc} (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
  }
}
main().catch((e) => { console.error(e); process.exit(1); });
