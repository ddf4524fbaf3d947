"""torchbridge's DataLoader (src/data/dataloader.ts) in Python: the same batches.

The order and the augmentation choices come from torchbridge's data Generator
(sfc32.py), drawn in the loader's order: the epoch's shuffle when iteration
starts, then per image of each batch a crop top, a crop left (with padding) and
a flip (with flip). The batch is then made with the per-image transforms' tensor
ops (zero pad, crop, flip, float().div(255), sub_(mean).div_(std)), which
transforms_parity checks bit for bit against torchbridge's augmentBatch.

The training twin (bench/python_train.py) uses it so that a Python run sees the
data torchbridge's run sees, seed for seed; test/parity/loader_twin_parity.test.ts
checks its batches against torchbridge's DataLoader.

usage (for that test): torchbridge_loader.py IN OUT
IN (torchbridge's save): {images: uint8 [N, 3, H, W], labels: int64 [N], options:
float64 [batch_size, seed, shuffle, padding, flip, epochs, mean x3, std x3]}.
OUT (torch.save): {x: every batch's inputs, y: their labels}, epochs after one another.
"""
import sys

import torch
import torch.nn.functional as F

from sfc32 import Generator


class DataLoader:
    """Batches of (float32 [B, 3, H, W] normalised, int64 [B]) from uint8 CHW images."""

    def __init__(self, images, labels, batch_size, seed, shuffle, mean, std, padding=0, flip=False):
        assert images.dtype == torch.uint8 and images.dim() == 4, "expected uint8 [N, C, H, W] images"
        self.images, self.labels = images, labels
        self.batch_size, self.shuffle, self.padding, self.flip = batch_size, shuffle, padding, flip
        self.generator = Generator(seed)
        self.mean = torch.as_tensor(mean, dtype=torch.float32).view(1, -1, 1, 1)
        self.std = torch.as_tensor(std, dtype=torch.float32).view(1, -1, 1, 1)

    def __len__(self):
        return -(-len(self.labels) // self.batch_size)

    def __iter__(self):
        n = len(self.labels)
        order = self.generator.shuffle(n) if self.shuffle else list(range(n))
        for start in range(0, n, self.batch_size):
            idx = torch.tensor(order[start:start + self.batch_size], dtype=torch.int64)
            yield self._batch(idx), self.labels[idx]

    def _batch(self, idx):
        p, g = self.padding, self.generator
        x = self.images[idx]
        if p > 0 or self.flip:
            h, w = x.shape[2:]
            padded = F.pad(x, [p, p, p, p], mode="constant", value=0) if p > 0 else x
            rows = []
            for i in range(len(idx)):
                top, left = (g.int(2 * p + 1), g.int(2 * p + 1)) if p > 0 else (0, 0)
                img = padded[i, :, top:top + h, left:left + w]
                if self.flip and g.next() < 0.5:
                    img = img.flip(-1)
                rows.append(img)
            x = torch.stack(rows)
        return x.contiguous().float().div(255).sub_(self.mean).div_(self.std)


if __name__ == "__main__":
    case = torch.load(sys.argv[1])
    o = case["options"].tolist()
    loader = DataLoader(case["images"], case["labels"], int(o[0]), int(o[1]), bool(o[2]), o[6:9], o[9:12], int(o[3]), bool(o[4]))
    xs, ys = [], []
    for _ in range(int(o[5])):
        for x, y in loader:
            xs.append(x)
            ys.append(y)
    torch.save({"x": torch.cat(xs), "y": torch.cat(ys)}, sys.argv[2])
