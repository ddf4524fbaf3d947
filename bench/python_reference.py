"""The Python reference, as the tutorial runs it, for `npm run bench`:
AlexNetModel, per-image transforms in a DataLoader (batch 128, shuffled),
CrossEntropyLoss, SGD(lr=1.0, weight_decay=5e-4) + OneCycleLR(0.1, epochs=150).
It times `--iters` training iterations after `--warmup`, and `--eval-iters`
test batches of 100 under no_grad, then prints one JSON line.

torchvision's transforms are used when torchvision (and PIL) are installed;
otherwise the same per-image operations are written out below."""
import argparse
import json
import os
import resource
import sys
import time

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "test", "python"))
from alexnet import AlexNetModel  # noqa: E402

MEAN = (0.4914, 0.4822, 0.4465)
STD = (0.2023, 0.1994, 0.2010)

try:
    import torchvision.transforms as T
    from PIL import Image

    HAVE_TORCHVISION = True
except ImportError:
    HAVE_TORCHVISION = False


class RandomCrop:
    """torchvision.transforms.RandomCrop(size, padding) on an HWC uint8 array."""

    def __init__(self, size, padding):
        self.size, self.padding = size, padding

    def __call__(self, img):
        p = self.padding
        img = np.pad(img, ((p, p), (p, p), (0, 0)))
        h, w = img.shape[:2]
        i = int(torch.randint(0, h - self.size + 1, size=(1,)).item())
        j = int(torch.randint(0, w - self.size + 1, size=(1,)).item())
        return img[i:i + self.size, j:j + self.size]


class RandomHorizontalFlip:
    def __call__(self, img):
        return img[:, ::-1] if torch.rand(1) < 0.5 else img


class ToTensor:
    """HWC uint8 -> CHW float32 in [0, 1], as torchvision's ToTensor."""

    def __call__(self, img):
        return torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1).contiguous().float().div(255)


class Normalize:
    def __init__(self, mean, std):
        self.mean = torch.as_tensor(mean).view(-1, 1, 1)
        self.std = torch.as_tensor(std).view(-1, 1, 1)

    def __call__(self, t):
        return t.sub_(self.mean).div_(self.std)


class Compose:
    def __init__(self, ts):
        self.ts = ts

    def __call__(self, x):
        for t in self.ts:
            x = t(x)
        return x


class CIFAR10Bin(torch.utils.data.Dataset):
    """The official binary layout: 1 label byte + 3072 pixel bytes (R, G, B planes)."""

    def __init__(self, root, train, transform, limit=None):
        folder = os.path.join(root, "cifar-10-batches-bin")
        files = [f"data_batch_{i}.bin" for i in range(1, 6)] if train else ["test_batch.bin"]
        raw = np.concatenate([np.fromfile(os.path.join(folder, f), dtype=np.uint8) for f in files]).reshape(-1, 3073)
        if limit:
            raw = raw[:limit]
        self.labels = raw[:, 0].astype(np.int64)
        self.images = raw[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)  # HWC, as torchvision keeps them
        self.transform = transform

    def __len__(self):
        return len(self.labels)

    def tensors(self):
        """All images as one uint8 [N, 3, 32, 32] tensor (CHW, as torchbridge keeps them) and the labels as int64."""
        return torch.from_numpy(self.images.transpose(0, 3, 1, 2).copy()), torch.from_numpy(self.labels)

    def __getitem__(self, i):
        img = self.images[i]
        if HAVE_TORCHVISION:
            img = Image.fromarray(img)
        return self.transform(img), int(self.labels[i])


def transforms(train, padding=4):
    if HAVE_TORCHVISION:
        aug = [T.RandomCrop(32, padding=padding), T.RandomHorizontalFlip()] if train else []
        return T.Compose(aug + [T.ToTensor(), T.Normalize(MEAN, STD)])
    aug = [RandomCrop(32, padding), RandomHorizontalFlip()] if train else []
    return Compose(aug + [ToTensor(), Normalize(MEAN, STD)])


def sync(device):
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--eval-iters", type=int, default=10)
    ap.add_argument("--threads", type=int, default=0)
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    device = a.device
    n_train = 128 * (a.warmup + a.iters)
    trainset = CIFAR10Bin(a.data, True, transforms(True), limit=None)
    testset = CIFAR10Bin(a.data, False, transforms(False), limit=100 * (1 + a.eval_iters))
    trainloader = torch.utils.data.DataLoader(trainset, batch_size=128, shuffle=True)
    testloader = torch.utils.data.DataLoader(testset, batch_size=100, shuffle=False)

    net = AlexNetModel().to(device)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(net.parameters(), lr=1.0, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(optimizer, 0.1, steps_per_epoch=len(trainloader), epochs=150,
                                                div_factor=25, final_div_factor=10000, pct_start=0.3)
    net.train()
    it = iter(trainloader)
    t0 = None
    for step in range(a.warmup + a.iters):
        if step == a.warmup:
            sync(device)
            t0 = time.perf_counter()
        inputs, targets = next(it)
        inputs, targets = inputs.to(device), targets.to(device)
        optimizer.zero_grad()
        loss = criterion(net(inputs), targets)
        loss.backward()
        optimizer.step()
        sched.step()
        loss.item()  # the reference reads every loss
    sync(device)
    train_s = time.perf_counter() - t0

    net.eval()
    correct = 0
    with torch.no_grad():
        for step, (inputs, targets) in enumerate(testloader):
            if step == 1:
                sync(device)
                t0 = time.perf_counter()
            inputs, targets = inputs.to(device), targets.to(device)
            outputs = net(inputs)
            criterion(outputs, targets).item()
            correct += outputs.max(1)[1].eq(targets).sum().item()
    sync(device)
    eval_s = time.perf_counter() - t0
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({
        "name": "python",
        "torch": torch.__version__,
        "torchvision": HAVE_TORCHVISION,
        "device": device,
        "threads": torch.get_num_threads(),
        "trainImagesPerSecond": 128 * a.iters / train_s,
        "evalImagesPerSecond": 100 * a.eval_iters / eval_s,
        "peakRssBytes": peak_rss,
        "cudaPeakBytes": torch.cuda.max_memory_allocated() if device.startswith("cuda") else None,
    }))


if __name__ == "__main__":
    main()
