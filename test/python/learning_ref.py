"""Python PyTorch on test/learning.test.ts's task, to compare recipes (not run by npm test).

usage: learning_ref.py [--optimizer adam|sgd] [--lr 1e-4] [--batch 8] [--seed 0]
                       [--warmup 0.15 | --constant] [--label-smoothing 0.1] [--augment]

One epoch of AlexNetModel on the first 5,000 images of the dev split's
data_batch_1.bin, then accuracy on the first 1,000 of test_batch.bin. Adam
defaults are the test's recipe; --optimizer sgd uses momentum 0.9 and weight
decay 5e-4 (the recipes that stayed at 16-23%). It takes a few minutes on 2 cores.
"""
import argparse
import os
import sys

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "bench"))
from alexnet import AlexNetModel  # noqa: E402
from python_reference import CIFAR10Bin, MEAN, STD  # noqa: E402  (the reader and constants torchbridge's match)

ap = argparse.ArgumentParser()
ap.add_argument("--data", default=os.path.join(HERE, "..", "..", "..", "shared", "datasets", "cifar10-dev"))
ap.add_argument("--optimizer", choices=["adam", "sgd"], default="adam")
ap.add_argument("--lr", type=float, default=1e-4)
ap.add_argument("--batch", type=int, default=8)
ap.add_argument("--seed", type=int, default=0)
ap.add_argument("--warmup", type=float, default=0.15, help="OneCycleLR pct_start (warm-up, then cosine)")
ap.add_argument("--constant", action="store_true", help="constant lr instead")
ap.add_argument("--label-smoothing", type=float, default=0.1)
ap.add_argument("--augment", action="store_true", help="random crop (pad 4) and flip, one choice per batch")
a = ap.parse_args()



def load(train, n):
    d = CIFAR10Bin(a.data, train, transform=None, limit=n)
    return torch.from_numpy(d.images.transpose(0, 3, 1, 2).copy()), torch.from_numpy(d.labels)


xtr, ytr = load(True, 5000)
xva, yva = load(False, 1000)
mean = torch.tensor(MEAN).view(1, 3, 1, 1)
std = torch.tensor(STD).view(1, 3, 1, 1)


def norm(x):
    return (x.float() / 255 - mean) / std


torch.manual_seed(a.seed)
g = torch.Generator().manual_seed(a.seed)
net = AlexNetModel()
if a.optimizer == "adam":
    opt = torch.optim.Adam(net.parameters(), lr=a.lr)
else:
    opt = torch.optim.SGD(net.parameters(), lr=a.lr, momentum=0.9, weight_decay=5e-4)
steps = 5000 // a.batch
sched = None if a.constant else torch.optim.lr_scheduler.OneCycleLR(
    opt, a.lr, total_steps=steps, pct_start=a.warmup, cycle_momentum=False)
net.train()
perm = torch.randperm(5000, generator=g)
for i in range(steps):
    idx = perm[i * a.batch:(i + 1) * a.batch]
    x = xtr[idx]
    if a.augment:
        x = F.pad(x, (4, 4, 4, 4))
        oy, ox = torch.randint(0, 9, (2,), generator=g)
        x = x[:, :, oy:oy + 32, ox:ox + 32]
        if torch.rand(1, generator=g) < 0.5:
            x = x.flip(3)
    loss = F.cross_entropy(net(norm(x)), ytr[idx], label_smoothing=a.label_smoothing)
    opt.zero_grad()
    loss.backward()
    opt.step()
    if sched is not None:
        sched.step()
net.eval()
with torch.no_grad():
    acc = (net(norm(xva)).argmax(1) == yva).float().mean().item() * 100
print(f"{a.optimizer} lr {a.lr} batch {a.batch} seed {a.seed}: {acc:.1f}% validation accuracy after one epoch")
