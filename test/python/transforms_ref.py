"""Reference for test/transforms_python.test.ts.

usage: transforms_ref.py CHOICES_JSON < images.bin

stdin: N uint8 CHW images (N x 3 x 32 x 32 bytes, CIFAR-10 plane order).
CHOICES_JSON: {"padding": p, "tops": [...], "lefts": [...], "flips": [0/1...],
               "mean": [3], "std": [3], "normalize": true/false}

For each image this does what torchvision's RandomCrop(32, padding=p),
RandomHorizontalFlip, ToTensor and Normalize do, with the given choices instead
of random draws (torchvision itself is not needed; these are the same tensor ops
as its functional API): zero padding, crop at (top, left), flip along width,
img.float().div(255), then img.sub_(mean).div_(std) with float32 mean and std.
Prints the float32 [N, 3, 32, 32] result, little-endian, base64-encoded.
"""
import base64
import json
import sys

import torch
import torch.nn.functional as F


def main():
    c = json.loads(sys.argv[1])
    raw = sys.stdin.buffer.read()
    n = len(raw) // 3072
    imgs = torch.frombuffer(bytearray(raw), dtype=torch.uint8).reshape(n, 3, 32, 32)
    p = c["padding"]
    mean = torch.as_tensor(c["mean"], dtype=torch.float32).view(-1, 1, 1)
    std = torch.as_tensor(c["std"], dtype=torch.float32).view(-1, 1, 1)
    out = []
    for i in range(n):
        img = imgs[i]
        if p > 0:
            # torchvision F.pad(img, p, fill=0) for tensors: constant padding
            img = F.pad(img, [p, p, p, p], mode="constant", value=0)
        top, left = c["tops"][i], c["lefts"][i]
        img = img[..., top:top + 32, left:left + 32]  # F.crop
        if c["flips"][i]:
            img = img.flip(-1)  # F.hflip
        img = img.contiguous().to(dtype=torch.float32).div(255)  # ToTensor on a uint8 image
        if c.get("normalize", True):
            img = img.sub_(mean).div_(std)  # F.normalize
        out.append(img)
    result = torch.stack(out).contiguous()
    sys.stdout.write(base64.b64encode(result.numpy().astype("<f4").tobytes()).decode("ascii"))


if __name__ == "__main__":
    main()
