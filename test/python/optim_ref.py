"""Reference for test/optim_parity.test.ts.

usage: optim_ref.py IN OUT

IN (written by torchbridge's save) holds
  sgd:       {name: {params, targets, scales, groups, steps, resume_at?,
             ours_state?, ours_params?}}
             each group is torch.optim.SGD keyword arguments plus "n", the
             number of consecutive params it takes. Every step is zero_grad,
             loss = sum(((p - t) ** 2 * s).sum()), backward, step. With
             "scheduler" ({"kind": "onecycle", **kwargs}) the scheduler steps
             after every optimizer step. ours_state / ours_params: torchbridge's
             SGD state dict and parameters after resume_at steps; Python loads
             them into a fresh SGD and finishes (resumed_from_ours), and finishes
             from ours_params without the state too (resumed_without_state).
  schedules: {name: {kind, groups, kwargs, steps}}: lr and momentum of every
             param group after construction and after each scheduler step.
OUT (torch.save) holds the same names with the results.
"""
import copy
import sys
import warnings

import torch
from torch.optim import SGD
from torch.optim.lr_scheduler import CosineAnnealingLR, OneCycleLR, StepLR

warnings.filterwarnings("ignore")


def make_scheduler(opt, spec):
    spec = dict(spec)
    kind = spec.pop("kind")
    if kind == "onecycle":
        return OneCycleLR(opt, **spec)
    if kind == "step":
        return StepLR(opt, **spec)
    if kind == "cosine":
        return CosineAnnealingLR(opt, **spec)
    raise ValueError(kind)


def make_optimizer(params, groups):
    pgs, i = [], 0
    for g in groups:
        g = dict(g)
        n = g.pop("n")
        pgs.append({"params": params[i:i + n], **g})
        i += n
    return SGD(pgs)


def loss_of(params, targets, scales):
    total = None
    for p, t, s in zip(params, targets, scales):
        term = ((p - t) ** 2 * s).sum()
        total = term if total is None else total + term
    return total


def run_sgd(c):
    params = [p.clone().requires_grad_(True) for p in c["params"]]
    opt = make_optimizer(params, c["groups"])
    sched = make_scheduler(opt, c["scheduler"]) if c.get("scheduler") else None
    out = {}
    for step in range(1, c["steps"] + 1):
        opt.zero_grad()
        loss_of(params, c["targets"], c["scales"]).backward()
        opt.step()
        if sched is not None:
            sched.step()
        if step == c.get("resume_at"):
            # state_dict() shares the live momentum buffers: copy them as of now.
            out["state_at_resume"] = copy.deepcopy(opt.state_dict())
            out["params_at_resume"] = [p.detach().clone() for p in params]
    out["params"] = [p.detach() for p in params]
    if "ours_state" in c:
        assert not c.get("scheduler"), "resuming with a scheduler is not supported here"
        for key, load in (("resumed_from_ours", True), ("resumed_without_state", False)):
            params2 = [p.clone().requires_grad_(True) for p in c["ours_params"]]
            opt2 = make_optimizer(params2, c["groups"])
            if load:
                opt2.load_state_dict(c["ours_state"])
            for _ in range(c["resume_at"], c["steps"]):
                opt2.zero_grad()
                loss_of(params2, c["targets"], c["scales"]).backward()
                opt2.step()
            out[key] = [p.detach() for p in params2]
    out["buffers"] = [opt.state[p].get("momentum_buffer") if p in opt.state else None for p in params]
    out["state_dict"] = opt.state_dict()
    out["lrs"] = [g["lr"] for g in opt.param_groups]
    out["momentums"] = [g["momentum"] for g in opt.param_groups]
    return out


def run_schedule(c):
    params = [torch.zeros(1, requires_grad=True) for _ in c["groups"]]
    groups = [{"params": [p], **g} for p, g in zip(params, c["groups"])]
    opt = SGD(groups)
    sched = make_scheduler(opt, {"kind": c["kind"], **c["kwargs"]})
    n = len(opt.param_groups)
    lrs = [[g["lr"]] for g in opt.param_groups]
    moms = [[g["momentum"]] for g in opt.param_groups]
    for _ in range(c["steps"]):
        opt.step()  # no gradients: nothing changes, but the scheduler sees the usual order
        sched.step()
        for i, g in enumerate(opt.param_groups):
            lrs[i].append(g["lr"])
            moms[i].append(g["momentum"])
    out = {
        "lr": [torch.tensor(l, dtype=torch.float64) for l in lrs],
        "momentum": [torch.tensor(m, dtype=torch.float64) for m in moms],
        "last_lr": list(sched.get_last_lr()),
        "state_dict": {k: v for k, v in sched.state_dict().items() if k in ("last_epoch", "_step_count", "base_lrs", "total_steps")},
        "group_keys": [sorted(k for k in g if k != "params") for g in opt.param_groups],
    }
    if c.get("overstep"):
        try:
            opt.step()
            sched.step()
            out["overstep_error"] = ""
        except ValueError as e:
            out["overstep_error"] = str(e)
    assert all(len(l) == c["steps"] + 1 for l in lrs) and n == len(c["groups"])
    return out


def main():
    data = torch.load(sys.argv[1])
    out = {
        "sgd": {name: run_sgd(c) for name, c in data.get("sgd", {}).items()},
        "schedules": {name: run_schedule(c) for name, c in data.get("schedules", {}).items()},
    }
    torch.save(out, sys.argv[2])


if __name__ == "__main__":
    main()
