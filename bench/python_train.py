"""The reference program in Python, for the README's figures: AlexNetModel on the
CIFAR-10 binary files, per-image transforms in a DataLoader (batch 128, shuffled),
CrossEntropyLoss, SGD(lr=1.0, weight_decay=5e-4) + OneCycleLR(0.1, div 25, final
div 1e4, pct 0.3) over --schedule-epochs (default: --epochs). Prints the test
accuracy and epoch loss after each epoch, as the tutorial does."""
import argparse
import os
import sys
import time

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(__file__))
from python_reference import CIFAR10Bin, transforms  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "test", "python"))
from alexnet import AlexNetModel  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--data", required=True)
ap.add_argument("--device", default="cpu")
ap.add_argument("--epochs", type=int, default=5)
ap.add_argument("--schedule-epochs", type=int, default=0)
ap.add_argument("--seed", type=int, default=0)
ap.add_argument("--workers", type=int, default=0)
a = ap.parse_args()
torch.manual_seed(a.seed)
trainset = CIFAR10Bin(a.data, True, transforms(True))
testset = CIFAR10Bin(a.data, False, transforms(False))
trainloader = torch.utils.data.DataLoader(trainset, batch_size=128, shuffle=True, num_workers=a.workers)
testloader = torch.utils.data.DataLoader(testset, batch_size=100, shuffle=False, num_workers=a.workers)
net = AlexNetModel().to(a.device)
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(net.parameters(), lr=1.0, weight_decay=5e-4)
sched = torch.optim.lr_scheduler.OneCycleLR(optimizer, 0.1, steps_per_epoch=len(trainloader),
                                            epochs=a.schedule_epochs or a.epochs, div_factor=25,
                                            final_div_factor=10000, pct_start=0.3)
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
            correct += net(inputs).max(1)[1].eq(targets).sum().item()
            total += targets.size(0)
    print(f"Test accuracy for AlexNet at epoch {epoch + 1}: {100 * correct / total:.2f}%")
    print(f"Epoch loss for AlexNet at epoch {epoch + 1}: {epoch_loss / len(trainloader):.3f} "
          f"({len(trainset) / seconds:.0f} img/s training)", flush=True)
