"""Python's side of `npm run bench -- --nproc N`: the reference recipe as a PyTorch user would
run it data parallel on one machine: N processes (torch.multiprocessing), init_process_group
("gloo"), DistributedDataParallel, a DistributedSampler with batch 128 // N per rank (a global
batch of 128), and each process given its share of the cores. --nproc 1 is the plain reference
loop without a process group. Times `--iters` training steps from the first one (as
torchbridge's runTraining times an epoch) and prints one JSON line from rank 0."""
import argparse
import json
import os
import sys
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn as nn

sys.path.insert(0, os.path.dirname(__file__))
from python_reference import CIFAR10Bin, transforms  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "test", "python"))
from alexnet import AlexNetModel  # noqa: E402


def run(rank, a, port):
    world = a.nproc
    torch.set_num_threads(a.threads or max(1, (os.cpu_count() or 1) // world))
    if world > 1:
        os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
        dist.init_process_group("gloo", rank=rank, world_size=world)
    torch.manual_seed(0)
    trainset = CIFAR10Bin(a.data, True, transforms(True), limit=128 * a.iters)
    sampler = torch.utils.data.distributed.DistributedSampler(trainset, world, rank, shuffle=True, seed=0) if world > 1 else None
    loader = torch.utils.data.DataLoader(trainset, batch_size=128 // world, shuffle=sampler is None, sampler=sampler)
    net = AlexNetModel()
    model = nn.parallel.DistributedDataParallel(net) if world > 1 else net
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(net.parameters(), lr=1.0, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(optimizer, 0.1, steps_per_epoch=len(loader), epochs=1,
                                                div_factor=25, final_div_factor=10000, pct_start=0.3)
    model.train()
    t0 = time.perf_counter()
    steps = 0
    for inputs, targets in loader:
        optimizer.zero_grad()
        loss = criterion(model(inputs), targets)
        loss.backward()
        optimizer.step()
        sched.step()
        loss.item()
        steps += 1
    seconds = time.perf_counter() - t0
    if rank == 0:
        print(json.dumps({"name": "python", "ranks": world, "threadsPerRank": torch.get_num_threads(), "steps": steps,
                          "trainImagesPerSecond": len(trainset) / seconds}), flush=True)
    if world > 1:
        dist.destroy_process_group()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--nproc", type=int, default=1)
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--port", type=int, default=0)
    a = ap.parse_args()
    if a.nproc == 1:
        run(0, a, 0)
    else:
        mp.spawn(run, args=(a, a.port), nprocs=a.nproc, join=True)


if __name__ == "__main__":
    main()
