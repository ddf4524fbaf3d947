"""The reference AlexNetModel on the same 4 batches as test/alexnet_parity.test.ts.
in.pt: {seed, x0..x3, y0..y3}. Seeds, builds the model, records eval-mode logits and
loss for each batch (dropout off), then trains 4 steps in train mode with
SGD(lr=1.0, weight_decay=5e-4) + OneCycleLR(0.1, epochs=150, steps_per_epoch=391,
div_factor=25, final_div_factor=1e4, pct_start=0.3) and saves the weights."""
import sys

import torch
import torch.nn as nn

from alexnet import AlexNetModel

inp = torch.load(sys.argv[1])
torch.manual_seed(int(inp["seed"]))
net = AlexNetModel()
criterion = nn.CrossEntropyLoss()
out = {}
net.eval()
with torch.no_grad():
    for i in range(4):
        logits = net(inp[f"x{i}"])
        out[f"logits{i}"] = logits
        out[f"loss{i}"] = criterion(logits, inp[f"y{i}"])
net.train()
optimizer = torch.optim.SGD(net.parameters(), lr=1.0, weight_decay=5e-4)
sched = torch.optim.lr_scheduler.OneCycleLR(optimizer, 0.1, steps_per_epoch=391, epochs=150,
                                            div_factor=25, final_div_factor=10000, pct_start=0.3)
for i in range(4):
    optimizer.zero_grad()
    loss = criterion(net(inp[f"x{i}"]), inp[f"y{i}"])
    loss.backward()
    optimizer.step()
    sched.step()
    out[f"trainLoss{i}"] = loss.detach()
for k, v in net.state_dict().items():
    out["w." + k] = v
torch.save(out, sys.argv[2])
