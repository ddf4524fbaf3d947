"""The reference program in Python, for the README's figures: AlexNetModel on the
CIFAR-10 binary files, per-image transforms in a DataLoader (batch 128, shuffled),
CrossEntropyLoss, SGD(lr=1.0, weight_decay=5e-4) + OneCycleLR(0.1, div 25, final
div 1e4, pct 0.3) over --schedule-epochs (default: --epochs). Prints the test
accuracy and epoch loss after each epoch, as the tutorial does.

--recipe fast runs torchbridge's fast recipe instead (test/python/recipes.py, the
twin of src/train/recipes.ts): batch 64, crops of 2-pixel padding, Nesterov, label smoothing, no decay on
biases, and test images scored with their mirror images.

--data-order torchbridge (the default) draws the shuffle, crops and flips from
torchbridge's data Generator (test/python/torchbridge_loader.py), and the seed
sets torch's generator (the initial weights and the dropout masks) as
torchbridge's does, so the run sees the data torchbridge's `train --seed S` sees
and differs from it only in arithmetic. --data-order torch is the tutorial's
torch DataLoader with per-image transforms, drawing from torch's generator."""
import argparse
import os
import sys
import time

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(__file__))
from python_reference import MEAN, STD, CIFAR10Bin, transforms  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "test", "python"))
from alexnet import AlexNetModel  # noqa: E402
from recipes import DEFAULTS, RECIPES, test_logits  # noqa: E402
import torchbridge_loader  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--data", required=True)
ap.add_argument("--device", default="cpu")
ap.add_argument("--epochs", type=int, default=5)
ap.add_argument("--schedule-epochs", type=int, default=0)
ap.add_argument("--seed", type=int, default=0)
ap.add_argument("--workers", type=int, default=0)
ap.add_argument("--recipe", choices=sorted(RECIPES), default="reference")
ap.add_argument("--threads", type=int, default=0)
ap.add_argument("--data-order", choices=["torchbridge", "torch"], default="torchbridge")
ap.add_argument("--limit-train", type=int, default=0, help="train on the first N images only")
ap.add_argument("--limit-test", type=int, default=0, help="test on the first N images only")
a = ap.parse_args()
if a.threads:
    torch.set_num_threads(a.threads)
torch.manual_seed(a.seed)
batch_size, padding = DEFAULTS[a.recipe]["batch_size"], DEFAULTS[a.recipe]["padding"]
trainset = CIFAR10Bin(a.data, True, transforms(True, padding), limit=a.limit_train or None)
testset = CIFAR10Bin(a.data, False, transforms(False), limit=a.limit_test or None)
if a.data_order == "torchbridge":
    trainloader = torchbridge_loader.DataLoader(*trainset.tensors(), batch_size, a.seed, True, MEAN, STD, padding, True)
    testloader = torchbridge_loader.DataLoader(*testset.tensors(), 100, 0, False, MEAN, STD)
else:
    trainloader = torch.utils.data.DataLoader(trainset, batch_size=batch_size, shuffle=True, num_workers=a.workers)
    testloader = torch.utils.data.DataLoader(testset, batch_size=100, shuffle=False, num_workers=a.workers)
net = AlexNetModel().to(a.device)
optimizer, sched, criterion, flip = RECIPES[a.recipe](net, a.schedule_epochs or a.epochs, len(trainloader))
t_start = time.time()
for epoch in range(a.epochs):
    net.train()
    t0 = time.time()
    epoch_loss = 0.0
    for inputs, targets in trainloader:
        inputs, targets = inputs.to(a.device), targets.to(a.device)
        optimizer.zero_grad()
        loss = criterion(net(inputs), targets)
        loss.backward()
        optimizer.step()
        sched.step()
        epoch_loss += loss.item()
    seconds = time.time() - t0
    net.eval()
    correct = total = 0
    with torch.no_grad():
        for inputs, targets in testloader:
            inputs, targets = inputs.to(a.device), targets.to(a.device)
            correct += test_logits(net, inputs, flip).max(1)[1].eq(targets).sum().item()
            total += targets.size(0)
    print(f"Test accuracy for AlexNet at epoch {epoch + 1}: {100 * correct / total:.2f}%")
    print(f"Epoch loss for AlexNet at epoch {epoch + 1}: {epoch_loss / len(trainloader):.3f} "
          f"({len(trainset) / seconds:.0f} img/s training, {time.time() - t_start:.0f} s so far)", flush=True)
