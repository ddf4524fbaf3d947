"""Reference for test/init_parity.test.ts: seeded default initialisation.

usage: init_ref.py IN OUT
    IN maps a case name to {seed, layers: [{kind, ...args}]}: after
    torch.manual_seed(seed) the layers are built in order; OUT maps the name
    to a list of their state dicts. Cases of kind "rng" draw from the global
    generator instead (randn, rand, randint, randperm, normal_, dropout).
usage: init_ref.py alexnet SEED OUT
    torch.manual_seed(SEED); torch.save(AlexNetModel().state_dict(), OUT)
"""
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from alexnet import AlexNetModel  # noqa: E402


def build(spec):
    kind = spec["kind"]
    if kind == "conv2d":
        return nn.Conv2d(spec["in_channels"], spec["out_channels"], tuple(spec["kernel_size"]),
                         stride=tuple(spec["stride"]), padding=tuple(spec["padding"]), groups=spec["groups"],
                         bias=spec["bias"])
    if kind == "linear":
        return nn.Linear(spec["in_features"], spec["out_features"], bias=spec["bias"])
    raise ValueError(kind)


def draw(spec):
    kind = spec["kind"]
    shape = tuple(spec["shape"])
    if kind == "randn":
        return torch.randn(shape)
    if kind == "rand":
        return torch.rand(shape)
    if kind == "randint":
        return torch.randint(spec["low"], spec["high"], shape)
    if kind == "randperm":
        return torch.randperm(spec["n"])
    if kind == "normal_":
        return torch.empty(shape).normal_(spec["mean"], spec["std"])
    if kind == "uniform_":
        return torch.empty(shape).uniform_(spec["low"], spec["high"])
    if kind == "dropout":
        return F.dropout(torch.ones(shape), p=spec["p"], training=True)
    raise ValueError(kind)


def main():
    mode = sys.argv[1]
    if mode == "alexnet":
        torch.manual_seed(int(sys.argv[2]))
        torch.save(AlexNetModel().state_dict(), sys.argv[3])
        return
    cases = torch.load(sys.argv[1])
    out = {}
    for name, c in cases.items():
        torch.manual_seed(c["seed"])
        if c.get("draws"):
            out[name] = [draw(d) for d in c["draws"]]
        else:
            out[name] = [dict(build(spec).state_dict()) for spec in c["layers"]]
    torch.save(out, sys.argv[2])


if __name__ == "__main__":
    main()
