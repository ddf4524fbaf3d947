"""Python PyTorch twin of test/system/learning.test.ts (not run by npm test).

usage: learning_ref.py [--seed 0] [--images 16000] [--batch 32] [--lr 2e-4]
                       [--warmup 0.15] [--label-smoothing 0.1] [--val 1000]
                       [--optimizer adam|sgd] [--threads 2]

One epoch of AlexNetModel on the first --images images of the dev split, then
accuracy on the first --val images of test_batch.bin. The defaults are the
test's recipe: Adam, a OneCycle warm-up then cosine decay without momentum
cycling, label smoothing 0.1, no augmentation. The seed sets torch's generator
(the weights, as torchbridge's manualSeed does) and the data order, drawn with
torchbridge's own generator (sfc32.py), so torchbridge's run differs from this
one only in arithmetic. About 3 minutes on 2 cores.
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
from sfc32 import Generator  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--data", default=os.environ.get("TORCHBRIDGE_DATA") or
                os.path.join(HERE, "..", "..", "..", "shared", "datasets", "cifar10-dev"))
ap.add_argument("--seed", type=int, default=0)
ap.add_argument("--images", type=int, default=16000)
ap.add_argument("--batch", type=int, default=32)
ap.add_argument("--lr", type=float, default=2e-4)
ap.add_argument("--warmup", type=float, default=0.15, help="OneCycleLR pct_start (warm-up, then cosine)")
ap.add_argument("--label-smoothing", type=float, default=0.1)
ap.add_argument("--val", type=int, default=1000)
ap.add_argument("--optimizer", choices=["adam", "sgd"], default="adam", help="sgd: momentum 0.9, weight decay 5e-4")
ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads, as the test pins it")
a = ap.parse_args()
torch.set_num_threads(a.threads)


def load(train, n):
    return CIFAR10Bin(a.data, train, transform=None, limit=n).tensors()


xtr, ytr = load(True, a.images)
xva, yva = load(False, a.val)
mean = torch.tensor(MEAN).view(1, 3, 1, 1)
std = torch.tensor(STD).view(1, 3, 1, 1)


def norm(x):
    return (x.float() / 255 - mean) / std


def evaluate():
    net.eval()
    with torch.no_grad():
        logits = torch.cat([net(norm(xva[i:i + 100])) for i in range(0, len(yva), 100)])
    net.train()
    return (logits.argmax(1) == yva).float().mean().item() * 100, F.cross_entropy(logits, yva).item()


torch.manual_seed(a.seed)
net = AlexNetModel()
if a.optimizer == "adam":
    opt = torch.optim.Adam(net.parameters(), lr=a.lr)
else:
    opt = torch.optim.SGD(net.parameters(), lr=a.lr, momentum=0.9, weight_decay=5e-4)
steps = -(-len(ytr) // a.batch)
sched = torch.optim.lr_scheduler.OneCycleLR(opt, a.lr, total_steps=steps, pct_start=a.warmup, cycle_momentum=False)
order = torch.tensor(Generator(a.seed).shuffle(len(ytr)))
acc0, loss0 = evaluate()
for i in range(steps):
    idx = order[i * a.batch:(i + 1) * a.batch]
    loss = F.cross_entropy(net(norm(xtr[idx])), ytr[idx], label_smoothing=a.label_smoothing)
    opt.zero_grad()
    loss.backward()
    opt.step()
    sched.step()
acc, loss = evaluate()
print(f"{a.optimizer} lr {a.lr} batch {a.batch} images {a.images} seed {a.seed}: "
      f"accuracy {acc0:.1f}% -> {acc:.1f}%, val loss {loss0:.3f} -> {loss:.3f}")
