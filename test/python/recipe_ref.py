"""Reference for test/parity/recipe_parity.test.ts.

usage: recipe_ref.py IN OUT

IN (written by torchbridge's save) holds, for each recipe name, {state, xs, ys,
xt, yt, epochs, steps_per_epoch}: the model's initial weights, one training batch
per step, and a test batch. The model is Sequential(Conv2d(3, 4, 3), ReLU,
Flatten, Linear(144, 10)) on 8x8 images. Python builds the recipe with
recipes.py and runs every step: zero_grad, loss, backward, step, scheduler step.
OUT (torch.save) holds, per name, the losses, the final weights, each group's
lr, momentum and weight decay, and the test loss and correct count scored as
the recipe scores test images, and the recipe's batch size, lr, weight decay
and crop padding.
"""
import sys

import torch
import torch.nn as nn

from recipes import DEFAULTS, RECIPES, test_logits

inputs = torch.load(sys.argv[1])
out = {}
for name, case in inputs.items():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(144, 10))
    model.load_state_dict(case["state"])
    opt, sched, criterion, flip = RECIPES[name](model, int(case["epochs"]), int(case["steps_per_epoch"]))
    losses = []
    model.train()
    for x, y in zip(case["xs"], case["ys"]):
        opt.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.detach())
    model.eval()
    with torch.no_grad():
        logits = test_logits(model, case["xt"], flip)
        test_loss = criterion(logits, case["yt"])
        correct = logits.max(1)[1].eq(case["yt"]).sum()
    out[name] = {
        "losses": torch.stack(losses),
        "state": {k: v.detach().clone() for k, v in model.state_dict().items()},
        "groups": torch.tensor([[g["lr"], g["momentum"], g["weight_decay"], len(g["params"])] for g in opt.param_groups], dtype=torch.float64),
        "test_loss": test_loss.reshape(1),
        "correct": correct.reshape(1).double(),
        "defaults": torch.tensor([DEFAULTS[name][k] for k in ("batch_size", "lr", "weight_decay", "padding")], dtype=torch.float64),
    }
torch.save(out, sys.argv[2])
