"""Reference for test/amp_parity.test.ts: torch.amp.GradScaler with float16 autocast.

usage: amp_ref.py IN OUT

IN (written by torchbridge's save): w1, w2, x, y, lr, momentum, init_scale,
growth_interval, steps. Each step: zero_grad; under autocast(cpu, float16)
loss = cross_entropy(relu(x @ w1.T) @ w2.T, y); scaler.scale(loss).backward();
scaler.step(opt); scaler.update().
OUT (torch.save): w1, w2 after the steps, the scale after each step, whether
each step was taken, and scaler.state_dict().
"""
import sys

import torch
import torch.nn.functional as F

c = torch.load(sys.argv[1])
w1 = c["w1"].clone().requires_grad_(True)
w2 = c["w2"].clone().requires_grad_(True)
opt = torch.optim.SGD([w1, w2], lr=c["lr"], momentum=c["momentum"])
scaler = torch.amp.GradScaler("cpu", init_scale=c["init_scale"], growth_interval=c["growth_interval"])
scales, stepped = [], []
for _ in range(c["steps"]):
    opt.zero_grad()
    with torch.autocast("cpu", dtype=torch.float16):
        loss = F.cross_entropy(F.relu(c["x"] @ w1.t()) @ w2.t(), c["y"])
    scaler.scale(loss).backward()
    before = w1.detach().clone()
    scaler.step(opt)
    stepped.append(not torch.equal(before, w1.detach()))
    scaler.update()
    scales.append(scaler.get_scale())
torch.save({"w1": w1.detach(), "w2": w2.detach(), "scales": scales, "stepped": stepped,
            "state": scaler.state_dict()}, sys.argv[2])
