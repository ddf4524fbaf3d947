"""Reference for test/nn_parity.test.ts.

usage: nn_ref.py IN OUT

IN (written by torchbridge's save) maps a case name to
  {kind, x, gy, state?, target?, ...options}. For each case this builds the
torch.nn module (or calls torch.nn.functional), loads the same weights, runs
forward on x, backward with upstream gradient gy, and torch.saves to OUT
  {name: {y, gx, g_<param>...}}.
"""
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F


def build(c):
    kind = c["kind"]
    if kind == "conv2d":
        return nn.Conv2d(c["in_channels"], c["out_channels"], tuple(c["kernel_size"]), stride=tuple(c["stride"]),
                         padding=tuple(c["padding"]), dilation=tuple(c["dilation"]), groups=c["groups"],
                         bias=c["bias"])
    if kind == "linear":
        return nn.Linear(c["in_features"], c["out_features"], bias=c["bias"])
    if kind == "max_pool2d":
        return nn.MaxPool2d(tuple(c["kernel_size"]), stride=tuple(c["stride"]), padding=tuple(c["padding"]),
                            dilation=tuple(c["dilation"]), ceil_mode=c["ceil_mode"])
    if kind == "local_response_norm":
        return nn.LocalResponseNorm(c["size"], alpha=c["alpha"], beta=c["beta"], k=c["k"])
    raise ValueError(f"unknown kind {kind}")


def main():
    cases = torch.load(sys.argv[1])
    out = {}
    for name, c in cases.items():
        x = c["x"].clone().requires_grad_(True)
        params = {}
        if c["kind"] == "cross_entropy":
            weight = c.get("weight")
            y = F.cross_entropy(x, c["target"], weight=weight, reduction=c["reduction"],
                                ignore_index=c["ignore_index"], label_smoothing=c["label_smoothing"])
        else:
            m = build(c).to(x.dtype)
            if "state" in c:
                m.load_state_dict(c["state"], strict=True)
            params = dict(m.named_parameters())
            y = m(x)
        y.backward(c["gy"])
        res = {"y": y.detach(), "gx": x.grad}
        for k, p in params.items():
            res["g_" + k] = p.grad
        out[name] = res
    torch.save(out, sys.argv[2])


if __name__ == "__main__":
    main()
