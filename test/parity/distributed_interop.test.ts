// Interop with Python: one rank is Python's torch.distributed (init_process_group, gloo), the other
// torchbridge, in one group through one TCPStore. Equal answers show that torchbridge speaks
// c10d itself: the same store path (default_pg/0/cpu/) and the same gloo wire protocol.
import test from 'ava';
import * as path from 'node:path';
import { pythonScript, requirePythonPackages, torchPythonPath } from '../helpers/python';
import { freePort, startNodeRank, startRank } from '../helpers/ranks';

test.before(() => requirePythonPackages('distributed_rank.py', 'distributed interop', 'torch'));

function startPythonRank(rank: number, worldSize: number, port: number) {
  const python = process.env.PYTHON || 'python3';
  const PYTHONPATH = [torchPythonPath(), process.env.PYTHONPATH].filter(Boolean).join(path.delimiter);
  return startRank(python, [pythonScript('distributed_rank.py'), String(rank), String(worldSize), '127.0.0.1', String(port)],
    90_000, { PYTHONPATH, PYTHONDONTWRITEBYTECODE: '1' });
}

for (const pythonRank of [1, 0]) {
  test.serial(`Python rank ${pythonRank} and a torchbridge rank: allReduce and broadcast agree (${pythonRank === 0 ? 'Python' : 'torchbridge'} hosts the store)`, async (t) => {
    const port = await freePort();
    const nodeRank = 1 - pythonRank;
    const py = startPythonRank(pythonRank, 2, port);
    const node = startNodeRank('collectives', nodeRank, 2, port, 60_000, 90_000);
    const [p, n] = await Promise.all([py.ended, node.ended]);
    t.is(p.code, 0, `Python rank failed: ${p.stderr}`);
    t.is(n.code, 0, `torchbridge rank failed: ${JSON.stringify(n.results)} ${n.stderr}`);
    const ours = n.results[0];
    const theirs = p.results[0];
    t.like(theirs, { rank: pythonRank, worldSize: 2 });
    t.like(ours, { rank: nodeRank, worldSize: 2 });
    for (const k of ['sum', 'avg', 'max', 'min', 'product', 'broadcast', 'sumBlocking']) t.deepEqual(ours[k], theirs[k], k);
    // And the answers themselves (a group that never met would fail the above only by chance).
    t.deepEqual(theirs.sum, [3, 30, -3]);
    t.deepEqual(theirs.product, [2, 200, 2]);
    t.deepEqual(theirs.broadcast, [100, 100, 100, 100]);
  });
}
