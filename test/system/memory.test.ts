// Native memory does not grow across a create / compute / backward / dispose
// loop. Each measurement runs in a fresh child process with --expose-gc, and a
// deliberately leaking variant shows that the measurement does catch a leak.
//
// The loops are synchronous, as a training loop may be: N-API finalizers of
// collected handles then never run during the loop, and the small native
// objects they would free sit between glibc's heap chunks. Without the caching
// CPU allocator (binding/allocator.cc) caching blocks from 64 KB, that fragmented
// the heap so that RSS grew by hundreds of MB in the SGD loop below (run to run
// variable; TORCHBRIDGE_CPU_CACHE_MB=0 turns the cache off).
import test from 'ava';
import { spawnSync } from 'node:child_process';

const ITERATIONS = 200;
const WARMUP = 20;
const MB = 1024 * 1024;

function child(mode: 'clean' | 'leak' | 'sgd'): { rssAfterWarmup: number; rssEnd: number; samples: number[]; loss: number } {
  const tensorJs = require.resolve('../../src/tensor');
  const runtimeJs = require.resolve('../../src/runtime');
  const sgdJs = require.resolve('../../src/optim/sgd');
  const functionalJs = require.resolve('../../src/nn/functional');
  const program = `
    const T = require(${JSON.stringify(tensorJs)});
    const { manualSeed } = require(${JSON.stringify(runtimeJs)});
    const F = require(${JSON.stringify(functionalJs)});
    const { SGD } = require(${JSON.stringify(sgdJs)});
    const mode = ${JSON.stringify(mode)};
    manualSeed(0);
    // Measuring: collect, then let the event loop run the deferred N-API
    // finalizers of the collected handles (three rounds). Only the two
    // measurements yield; the loop itself stays synchronous.
    const tick = () => new Promise((r) => setImmediate(r));
    const rss = async () => { for (let i = 0; i < 3; i++) { global.gc(); await tick(); } return process.memoryUsage().rss; };
    const w = T.randn([32, 16, 3, 3]).mul(0.1); w.requiresGrad = true;
    const w2 = T.randn([7200, 64]).mul(0.01); w2.requiresGrad = true;
    // sgd: the training pattern, fresh gradient tensors every step (zeroGrad sets them to none).
    const opt = new SGD([w, w2], { lr: 0.01, momentum: 0.9 });
    const leaked = [];
    const samples = [];
    let rssAfterWarmup = 0, loss = 0;
    (async () => {
    for (let i = 0; i < ${ITERATIONS}; i++) {
      if (i === ${WARMUP}) rssAfterWarmup = await rss();
      // In the loop: a synchronous GC (no yield, so no finalizers run), then RSS.
      if (i > ${WARMUP} && i % 20 === 0) { global.gc(); samples.push(process.memoryUsage().rss); }
      const x = T.randn([8, 16, 32, 32]);            // created and disposed explicitly
      const l = T.tidy(() => {                       // intermediates disposed by tidy
        const c = F.conv2d(x, w, null, 1, 0).relu();    // [8, 32, 30, 30]: 0.9 MB
        if (mode === 'leak') leaked.push(T.keep(c.detach().clone()));
        const y = F.maxPool2d(c, 2).flatten(1).matmul(w2);
        return y.mul(y).mean();
      });
      if (mode === 'sgd') opt.zeroGrad();
      l.backward();
      loss = l.item();
      l.dispose();
      x.dispose();
      if (mode === 'sgd') { opt.step(); continue; }
      const g = w.grad, g2 = w2.grad;               // new handles: dispose them too
      T.noGrad(() => T.tidy(() => { w.copy_(w.sub(g.mul(0.01))); }));
      g.dispose(); g2.dispose();
    }
    global.gc();
    samples.push(process.memoryUsage().rss);
    const rssEnd = await rss();
    process.stdout.write(JSON.stringify({ rssAfterWarmup, rssEnd, samples, loss }));
    })();
  `;
  const r = spawnSync(process.execPath, ['--expose-gc', '-e', program], {
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, OMP_NUM_THREADS: process.env.OMP_NUM_THREADS ?? '2' },
  });
  if (r.status !== 0) throw new Error(`memory child (${mode}) failed: ${r.signal ?? r.status}\n${r.stderr}`);
  return JSON.parse(r.stdout);
}

test(`${ITERATIONS} iterations of conv2d + matmul + backward with tidy() and dispose(): RSS grows < 10 MB after warm-up`, (t) => {
  const r = child('clean');
  const growth = (r.rssEnd - r.rssAfterWarmup) / MB;
  t.log(`RSS after warm-up ${(r.rssAfterWarmup / MB).toFixed(1)} MB, at the end ${(r.rssEnd / MB).toFixed(1)} MB (growth ${growth.toFixed(2)} MB); ` +
    `samples ${r.samples.map((s) => (s / MB).toFixed(0)).join(', ')}`);
  t.true(Number.isFinite(r.loss) && r.loss > 0, 'the loop really computed something');
  t.true(growth < 10, `RSS grew by ${growth.toFixed(2)} MB`);
  const peak = (Math.max(...r.samples) - r.rssAfterWarmup) / MB;
  t.true(peak < 10, `RSS rose by ${peak.toFixed(2)} MB during the loop`);
});

test(`${ITERATIONS} SGD steps (zeroGrad, backward, step) in a synchronous loop: RSS grows < 10 MB after warm-up`, (t) => {
  const r = child('sgd');
  const growth = (r.rssEnd - r.rssAfterWarmup) / MB;
  t.log(`RSS after warm-up ${(r.rssAfterWarmup / MB).toFixed(1)} MB, at the end ${(r.rssEnd / MB).toFixed(1)} MB (growth ${growth.toFixed(2)} MB); ` +
    `samples ${r.samples.map((s) => (s / MB).toFixed(0)).join(', ')}`);
  t.true(Number.isFinite(r.loss) && r.loss > 0);
  t.true(growth < 10, `RSS grew by ${growth.toFixed(2)} MB`);
  const peak = (Math.max(...r.samples) - r.rssAfterWarmup) / MB;
  t.true(peak < 10, `RSS rose by ${peak.toFixed(2)} MB during the loop`);
});

test('the measurement catches a leak: keeping one ~0.9 MB tensor per iteration grows RSS by > 100 MB', (t) => {
  const r = child('leak');
  const growth = (r.rssEnd - r.rssAfterWarmup) / MB;
  t.log(`leaking variant grew by ${growth.toFixed(1)} MB`);
  t.true(growth > 100, `grew by ${growth.toFixed(2)} MB`);
});
