"""Reference for test/adam_parity.test.ts: torch.optim.Adam and AdamW.

usage: adam_ref.py IN OUT

IN (written by torchbridge's save) holds {name: case}; each case has
  kind ("adam" | "adamw"), params, targets, scales, groups (keyword arguments
  plus "n", the number of consecutive params each takes), steps, optional
  onecycle (OneCycleLR keyword arguments, stepped after every step), and
  at / ours_state / ours_params: torchbridge's optimizer state dict and
  parameters after `at` steps.
Every step is zero_grad, loss = sum(((p - t) ** 2 * s).sum()), backward, step.
OUT (torch.save) per case: params after all steps; state_at / params_at, the
state dict and parameters after `at` steps; resumed, the parameters after
loading torchbridge's state dict at `at` into a fresh optimizer and finishing.
"""
import copy
import sys

import torch
from torch.optim import Adam, AdamW
from torch.optim.lr_scheduler import OneCycleLR


def make(params, c):
    groups, i = [], 0
    for g in c["groups"]:
        g = dict(g)
        n = g.pop("n")
        if "betas" in g:
            g["betas"] = tuple(g["betas"])
        groups.append({"params": params[i:i + n], **g})
        i += n
    opt = (AdamW if c["kind"] == "adamw" else Adam)(groups)
    sched = OneCycleLR(opt, **c["onecycle"]) if c.get("onecycle") else None
    return opt, sched


def run(c, params, opt, sched, start, end, out=None):
    for step in range(start + 1, end + 1):
        opt.zero_grad()
        sum(((p - t) ** 2 * s).sum() for p, t, s in zip(params, c["targets"], c["scales"])).backward()
        opt.step()
        if sched is not None:
            sched.step()
        if out is not None and step == c["at"]:
            out["state_at"] = copy.deepcopy(opt.state_dict())
            out["params_at"] = [p.detach().clone() for p in params]


def case(c):
    out = {}
    params = [p.clone().requires_grad_(True) for p in c["params"]]
    opt, sched = make(params, c)
    run(c, params, opt, sched, 0, c["steps"], out)
    out["params"] = [p.detach() for p in params]
    # Finish from torchbridge's state dict (the scheduler replays its steps).
    params2 = [p.clone().requires_grad_(True) for p in c["ours_params"]]
    opt2, sched2 = make(params2, c)
    opt2.load_state_dict(c["ours_state"])
    if sched2 is not None:
        for _ in range(c["at"]):
            sched2.step()
        opt2.load_state_dict(c["ours_state"])  # the replay moved lr/betas: restore them
    run(c, params2, opt2, sched2, c["at"], c["steps"])
    out["resumed"] = [p.detach() for p in params2]
    return out


torch.save({name: case(c) for name, c in torch.load(sys.argv[1]).items()}, sys.argv[2])
