"""PyTorch's DistributedSampler indices for the cases given as JSON on stdin:
[{"n", "replicas", "rank", "shuffle", "seed", "dropLast", "epoch"}, ...] -> a list of index lists.
Also torch.randperm(n, generator=torch.Generator().manual_seed(seed)) for the seeded-factory check."""
import json
import sys

import torch
from torch.utils.data.distributed import DistributedSampler

request = json.load(sys.stdin)
samplers = []
for case in request["samplers"]:
    s = DistributedSampler(range(case["n"]), num_replicas=case["replicas"], rank=case["rank"],
                           shuffle=case["shuffle"], seed=case["seed"], drop_last=case["dropLast"])
    s.set_epoch(case["epoch"])
    samplers.append(list(s))
perms = [torch.randperm(p["n"], generator=torch.Generator().manual_seed(p["seed"])).tolist() for p in request["randperm"]]
normal = [torch.randn(5, generator=torch.Generator().manual_seed(s)).tolist() for s in request["randn"]]
json.dump({"samplers": samplers, "randperm": perms, "randn": normal}, sys.stdout)
