"""One Python rank of a gloo job that torchbridge ranks join (test/system/distributed.test.ts).

Usage: distributed_rank.py RANK WORLD_SIZE MASTER_ADDR MASTER_PORT
       distributed_rank.py check    (exits 1 unless torch.distributed has gloo)
Goes through torch.distributed.init_process_group (env://), as a user's script would, so that the
store path a torchbridge rank builds is checked against Python's own. Rank r contributes
[r + 1, 10 * (r + 1), -(r + 1)]; prints one JSON line with what the collectives gave.
"""
import json
import os
import sys
from datetime import timedelta

import torch
import torch.distributed as dist


def main():
    if sys.argv[1] == "check":
        sys.exit(0 if dist.is_available() and dist.is_gloo_available() else 1)
    rank, world_size, addr, port = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
    os.environ.update(MASTER_ADDR=addr, MASTER_PORT=port)
    dist.init_process_group("gloo", rank=rank, world_size=world_size, timeout=timedelta(seconds=60))
    out = {"rank": dist.get_rank(), "worldSize": dist.get_world_size()}
    t = torch.tensor([rank + 1.0, 10.0 * (rank + 1), -(rank + 1.0)])
    # The order of test/fixtures/distributed-rank.ts. Gloo has no ReduceOp.AVG: avg is a sum divided
    # by the world size, as DDP averages gradients.
    for op, name in [(dist.ReduceOp.SUM, "sum"), (dist.ReduceOp.SUM, "avg"), (dist.ReduceOp.MAX, "max"),
                     (dist.ReduceOp.MIN, "min"), (dist.ReduceOp.PRODUCT, "product")]:
        x = t.clone()
        dist.all_reduce(x, op=op)
        if name == "avg":
            x /= world_size
        out[name] = x.tolist()
    b = torch.full((4,), float(rank * 100), dtype=torch.float64)
    dist.broadcast(b, src=world_size - 1)
    out["broadcast"] = b.tolist()
    x = t.clone()
    dist.all_reduce(x)  # the torchbridge rank's allReduceBlocking
    out["sumBlocking"] = x.tolist()
    dist.barrier()
    dist.destroy_process_group()
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
