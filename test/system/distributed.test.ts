// distributed on c10d with gloo, over loopback: ranks in separate processes, each
// bounded in time (test/helpers/ranks.ts); bad configurations in this process.
import test from 'ava';
import * as net from 'node:net';
import { backends, distributed, nn, optim, randn, tensor, tidy } from '../../src/index';
import * as path from 'node:path';
import { freePort, startNodeRank, startRank } from '../helpers/ranks';

test.before(() => {
  const d = backends().distributed;
  if (!d.built) {
    throw new Error(`the distributed module is not built into this addon: ${d.reason} ` +
      '(apt-get install libgloo-dev, then npm run build:native; .ci/run does)');
  }
});

test.serial('2 processes: allReduce with every op, broadcast and barrier give the same answers on both ranks', async (t) => {
  const port = await freePort();
  const ranks = [0, 1].map((r) => startNodeRank('collectives', r, 2, port, 30_000, 60_000));
  const ended = await Promise.all(ranks.map((r) => r.ended));
  for (const [r, e] of ended.entries()) t.is(e.code, 0, `rank ${r} failed: ${JSON.stringify(e.results)} ${e.stderr}`);
  const [a, b] = ended.map((e) => e.results[0]);
  t.like(a, { rank: 0, worldSize: 2 });
  t.like(b, { rank: 1, worldSize: 2 });
  // rank r contributes [r+1, 10(r+1), -(r+1)]: ranks 0 and 1 give [1, 10, -1] and [2, 20, -2].
  const expected = {
    sum: [3, 30, -3], avg: [1.5, 15, -1.5], max: [2, 20, -1], min: [1, 10, -2], product: [2, 200, 2],
    broadcast: [100, 100, 100, 100], // from the last rank, which holds 100s; rank 0 held 0s
    sumBlocking: [3, 30, -3],
  };
  for (const r of [a, b]) {
    for (const [k, want] of Object.entries(expected)) t.deepEqual(r[k], want, `${k} on rank ${r.rank}`);
  }
});

test.serial('views that are not contiguous: only their elements are reduced and broadcast', async (t) => {
  // Gloo works on memory from the data pointer; Python's all_reduce of m[:, 1:3] reduces the wrong
  // elements. torchbridge runs the collective on a contiguous copy and writes it back.
  const port = await freePort();
  const ranks = [0, 1].map((r) => startNodeRank('views', r, 2, port, 30_000, 60_000));
  const ended = await Promise.all(ranks.map((r) => r.ended));
  for (const [r, e] of ended.entries()) t.is(e.code, 0, `rank ${r} failed: ${JSON.stringify(e.results)} ${e.stderr}`);
  const [a, b] = ended.map((e) => e.results[0]);
  // Rank r holds (r+1) * [[0,1,2,3],[4,5,6,7]]; columns 1 and 2 become the sum, 3x.
  t.deepEqual(a.allReduce, [0, 3, 6, 3, 4, 15, 18, 7]);
  t.deepEqual(b.allReduce, [0, 3, 6, 6, 8, 15, 18, 14]);
  // Rank r holds r+1 everywhere; columns 0 and 1 come from rank 1.
  t.deepEqual(a.broadcast, [2, 2, 1, 1, 2, 2, 1, 1]);
  t.deepEqual(b.broadcast, [2, 2, 2, 2, 2, 2, 2, 2]);
});

test.serial('a rank killed mid-collective: the other rejects with c10d\'s error well before the timeout', async (t) => {
  const port = await freePort();
  const timeoutMs = 60_000;
  const survivor = startNodeRank('stall', 0, 2, port, timeoutMs, 90_000);
  const victim = startNodeRank('stall', 1, 2, port, timeoutMs, 90_000);
  await victim.line('ready');
  const killedAt = Date.now();
  victim.kill('SIGKILL');
  const [s, v] = await Promise.all([survivor.ended, victim.ended]);
  t.is(v.signal, 'SIGKILL');
  t.false(s.timedOut);
  t.is(s.code, 1, s.stderr);
  const error = String(s.results.at(-1)?.error);
  t.regex(error, /^allReduce: /);
  t.log(`survivor: ${error} (${s.endedAt - killedAt} ms after the kill)`);
  t.true(s.endedAt - killedAt < 20_000, `the survivor took ${s.endedAt - killedAt} ms`);
});

test.serial('a worker terminated with collectives in flight: they end after its teardown without aborting the process', async (t) => {
  // Node deletes a torn-down environment's thread-safe functions while c10d's threads may still
  // settle promises through them; before the fix this aborted (SIGABRT) every time.
  const script = path.join(__dirname, '..', 'fixtures', 'terminate-in-flight.js');
  const e = await startRank(process.execPath, [script, String(await freePort())], 60_000).ended;
  t.is(e.code, 0, `${e.signal ?? ''} ${JSON.stringify(e.results)} ${e.stderr}`);
  t.deepEqual(e.results, [{ received: [7, 7, 7, 7], sum: [3, 3] }]);
});

test.serial('process.exit() with a collective in flight that no peer joins exits at once, not after the timeout', async (t) => {
  // A process group still alive at exit is left to end with the process; tearing it down would wait
  // the group's 60 s timeout for the all-reduce (and close its connections before the process ends).
  const script = path.join(__dirname, '..', 'fixtures', 'exit-in-flight.js');
  const port = String(await freePort());
  const peer = startRank(process.execPath, [script, 'peer', port], 120_000);
  const exiting = startRank(process.execPath, [script, 'exiting', port], 120_000);
  const inFlight = Number((await exiting.line('inFlight')).inFlight);
  const e = await exiting.ended;
  peer.kill();
  await peer.ended;
  t.is(e.code, 3, `${e.signal ?? ''} ${e.stderr}`);
  t.log(`exited ${e.endedAt - inFlight} ms after starting the all-reduce`);
  t.true(e.endedAt - inFlight < 15_000, `the exit took ${e.endedAt - inFlight} ms`);
});

test.serial('a wrong world size: every rank rejects with a timeout error naming initProcessGroup', async (t) => {
  const port = await freePort();
  // worldSize 3, but only 2 ranks come.
  const ranks = [0, 1].map((r) => startNodeRank('join', r, 3, port, 3_000, 60_000));
  const ended = await Promise.all(ranks.map((r) => r.ended));
  for (const [r, e] of ended.entries()) {
    t.false(e.timedOut, `rank ${r} hung`);
    t.is(e.code, 1, `rank ${r}: ${e.stderr}`);
    const error = String(e.results.at(-1)?.error);
    t.log(`rank ${r}: ${error}`);
    t.regex(error, /^initProcessGroup: .*time/is);
  }
});

test.serial('a port in use: initProcessGroup rejects with the bind error, and succeeds once the port is free', async (t) => {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const options = { backend: 'gloo' as const, rank: 0, worldSize: 1, masterAddr: '127.0.0.1', masterPort: port, timeoutMs: 10_000 };
  const err = await t.throwsAsync(distributed.initProcessGroup(options));
  t.regex(err!.message, /^initProcessGroup: .*(EADDRINUSE|address already in use)/is);
  t.false(distributed.isInitialized());
  // Control: the same call with the port free works, and a 1-rank group reduces to itself.
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await distributed.initProcessGroup(options);
  t.true(distributed.isInitialized());
  const x = tensor([1, 2]);
  await distributed.allReduce(x, 'avg');
  t.deepEqual(x.toArray(), [1, 2]);
  distributed.destroyProcessGroup();
  distributed.destroyProcessGroup(); // idempotent
  t.false(distributed.isInitialized());
});

test.serial('bad configurations are refused before anything connects', async (t) => {
  const base = { rank: 0, worldSize: 2, masterAddr: '127.0.0.1', masterPort: 29500 };
  await t.throwsAsync(distributed.initProcessGroup({ ...base, rank: 2 }),
    { instanceOf: TypeError, message: 'Expected integer between 0 and 1 (worldSize 2) for rank but received 2 of type number' });
  await t.throwsAsync(distributed.initProcessGroup({ ...base, worldSize: 0 }),
    { message: 'Expected positive integer for worldSize but received 0 of type number' });
  await t.throwsAsync(distributed.initProcessGroup({ ...base, masterPort: 70000 }),
    { message: 'Expected integer between 1 and 65535 for masterPort but received 70000 of type number' });
  await t.throwsAsync(distributed.initProcessGroup({ ...base, backend: 'mpi' as never }),
    { message: "Expected one of 'gloo', 'nccl', 'hccl' for backend but received 'mpi' of type string" });
  await t.throwsAsync(distributed.initProcessGroup({ ...base, port: 1 } as never), { message: /Unknown option 'port'/ });
  for (const backend of ['nccl', 'hccl'] as const) {
    await t.throwsAsync(distributed.initProcessGroup({ ...base, backend }),
      { message: new RegExp(`^initProcessGroup: the ${backend} backend is not built into torchbridge`) });
  }
  // torchrun's variables: missing, then malformed.
  const saved = { ...process.env };
  try {
    for (const k of ['RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_ADDR', 'MASTER_PORT']) delete process.env[k];
    await t.throwsAsync(distributed.initProcessGroup(), { message: /worldSize is required: pass options.worldSize or set WORLD_SIZE/ });
    Object.assign(process.env, { WORLD_SIZE: '2', RANK: 'one' });
    await t.throwsAsync(distributed.initProcessGroup(), { message: "Expected non-negative integer for $RANK but received 'one' of type string" });
    Object.assign(process.env, { RANK: '1' });
    await t.throwsAsync(distributed.initProcessGroup(), { message: /masterAddr is required: pass options.masterAddr or set MASTER_ADDR/ });
  } finally {
    process.env = saved;
  }
  t.false(distributed.isInitialized());
  // Collectives without a group, and bad collective arguments.
  await t.throwsAsync(distributed.allReduce(tensor([1])), { message: /^allReduce: the default process group is not initialised/ });
  await t.throwsAsync(distributed.barrier(), { message: /^barrier: the default process group is not initialised/ });
  t.throws(() => distributed.getRank(), { message: /^getRank: the default process group is not initialised/ });
  await t.throwsAsync(distributed.allReduce(tensor([1]), 'mean' as never),
    { message: "Expected one of 'sum', 'avg', 'min', 'max', 'product' for op but received 'mean' of type string" });
  await t.throwsAsync(distributed.allReduce([1] as never), { message: /^Expected Tensor for tensor/ });
  await distributed.initProcessGroup({ rank: 0, worldSize: 1, masterAddr: '127.0.0.1', masterPort: await freePort(), timeoutMs: 10_000 });
  try {
    const ints = tensor([3, 4], { dtype: 'int64' });
    await t.throwsAsync(distributed.allReduce(ints, 'avg'), { message: "allReduce: op 'avg' needs a floating-point tensor, but tensor is int64; use 'sum'" });
    t.deepEqual(ints.toArray(), [3, 4]);
    await t.throwsAsync(distributed.broadcast(ints, 1), { message: 'Expected integer between 0 and 0 for src but received 1 of type number' });
  } finally {
    distributed.destroyProcessGroup();
  }
});

for (const scenario of ['ddp-grads', 'ddp-grads-blocking']) {
test.serial(`DistributedDataParallel: averaged gradients equal the full-batch gradient, a branch one rank leaves unused included (${scenario})`, async (t) => {
  const port = await freePort();
  const ranks = [0, 1].map((r) => startNodeRank(scenario, r, 2, port, 30_000, 60_000));
  const ended = await Promise.all(ranks.map((r) => r.ended));
  for (const [r, e] of ended.entries()) t.is(e.code, 0, `rank ${r}: ${JSON.stringify(e.results)} ${e.stderr}`);
  const [a, b] = ended.map((e) => e.results[0] as { maxDiff: number; ownDiff: number; stats: { buckets: number; startedInBackward: number } });
  t.log(`max |ddp grad - full-batch grad|: rank 0 ${a.maxDiff}, rank 1 ${b.maxDiff} (own grads: ${a.ownDiff}, ${b.ownDiff}); stats ${JSON.stringify([a.stats, b.stats])}`);
  for (const r of [a, b]) {
    t.true(r.maxDiff <= 1e-6, `max diff ${r.maxDiff}`);
    t.true(r.ownDiff > 1e-3, `control: a rank's own gradient is ${r.ownDiff} from the full-batch one`);
    t.is(r.stats.buckets, 6); // bucketCapMb ~1 byte: one bucket per parameter
  }
  // Rank 0 uses every parameter, so all its buckets started during backward.
  t.is(a.stats.startedInBackward, 6);
});
}

for (const scenario of ['ddp-stall', 'ddp-stall-blocking']) {
test.serial(`DistributedDataParallel: a rank killed mid-training makes the other fail its gradient sync (${scenario})`, async (t) => {
  const port = await freePort();
  const survivor = startNodeRank(scenario, 0, 2, port, 60_000, 90_000);
  const victim = startNodeRank(scenario, 1, 2, port, 60_000, 90_000);
  await victim.line('ready');
  const killedAt = Date.now();
  victim.kill('SIGKILL');
  const s = await survivor.ended;
  t.false(s.timedOut);
  t.is(s.code, 1, s.stderr);
  const error = String(s.results.at(-1)?.error);
  t.log(`survivor: ${error} (${s.endedAt - killedAt} ms after the kill)`);
  t.regex(error, /^synchronizeGradients: .*(closed|reset|peer)/is);
  t.true(s.endedAt - killedAt < 20_000);
});
}

test.serial('DistributedDataParallel in one process: its checks, and two backwards before a sync are refused', async (t) => {
  const lin = new nn.Linear(3, 2);
  await t.throwsAsync(nn.DistributedDataParallel.create(lin),
    { message: /^DistributedDataParallel: the default process group is not initialised/ });
  await t.throwsAsync(nn.DistributedDataParallel.create({} as never), { instanceOf: TypeError, message: /^Expected Module for module/ });
  await distributed.initProcessGroup({ rank: 0, worldSize: 1, masterAddr: '127.0.0.1', masterPort: await freePort(), timeoutMs: 10_000 });
  try {
    await t.throwsAsync(nn.DistributedDataParallel.create(lin, { bucketCapMb: -1 }),
      { message: 'Expected positive number for bucketCapMb but received -1 of type number' });
    const ddp = await nn.DistributedDataParallel.create(lin);
    const x = randn([4, 3]);
    tidy(() => ddp.forward(x).sum().backward());
    tidy(() => ddp.forward(x).sum().backward());
    await t.throwsAsync(ddp.synchronizeGradients(), { message: /^synchronizeGradients: parameter \d+ received a gradient twice/ });
    // The next round works: with one rank the average is the gradient itself.
    new optim.SGD(lin.parameters()).zeroGrad();
    const plain = new nn.Linear(3, 2);
    plain.loadStateDict(lin.stateDict());
    tidy(() => plain.forward(x).sum().backward());
    await ddp.backward(tidy(() => ddp.forward(x).sum()));
    t.deepEqual(lin.weight.grad!.toArray(), plain.weight.grad!.toArray());
    t.deepEqual(ddp.gradientSyncStats(), { buckets: 1, startedInBackward: 1 });
    ddp.dispose();
  } finally {
    distributed.destroyProcessGroup();
  }
});
