"""Reference for test/parity/torchvision_alexnet_parity.test.ts.

usage: torchvision_alexnet_ref.py in.pt out.pt
in.pt: {seed}. Seeds, builds torchvision's AlexNet (written out with plain torch:
torchvision's wheel does not import with this torch; the module tree, keys,
shapes and default initialisation are torchvision.models.alexnet's) and its
twin of torchbridge's PaperAlexNet, and saves for each its state dict, print
text and eval-mode logits of one fixed 2-image 224x224 batch.
out.pt: {x, tv: {state, repr, logits}, paper: {state, repr, logits}}
"""
import sys

import torch
import torch.nn as nn


class AlexNet(nn.Module):
    """torchvision/models/alexnet.py's AlexNet, line for line."""

    def __init__(self, num_classes: int = 1000, dropout: float = 0.5) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(64, 192, kernel_size=5, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(192, 384, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout),
            nn.Linear(256 * 6 * 6, 4096),
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
            nn.Linear(4096, 4096),
            nn.ReLU(inplace=True),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        x = self.classifier(x)
        return x


class PaperAlexNet(nn.Module):
    """The 2012 paper's AlexNet on one device, as src/models/torchvision_alexnet.ts builds it."""

    def __init__(self, num_classes: int = 1000, dropout: float = 0.5) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 96, kernel_size=11, stride=4, padding=2),
            nn.ReLU(inplace=True),
            # The paper's alpha=1e-4 is per channel sum; torch's LRN divides alpha by size.
            nn.LocalResponseNorm(5, alpha=5e-4, beta=0.75, k=2.0),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(96, 256, kernel_size=5, padding=2),
            nn.ReLU(inplace=True),
            nn.LocalResponseNorm(5, alpha=5e-4, beta=0.75, k=2.0),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(256, 384, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 384, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )
        self.classifier = nn.Sequential(
            nn.Linear(256 * 6 * 6, 4096),
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
            nn.Linear(4096, 4096),
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.features(x), 1))


def record(net: nn.Module, x: torch.Tensor) -> dict:
    net.eval()
    with torch.no_grad():
        logits = net(x)
    return {"state": net.state_dict(), "repr": repr(net), "logits": logits}


inp = torch.load(sys.argv[1])
torch.manual_seed(int(inp["seed"]))
tv = AlexNet()
paper = PaperAlexNet()
# Drawn after both models, so the models' initial weights are those of the seed.
x = torch.randn(2, 3, 224, 224)
torch.save({"x": x, "tv": record(tv, x), "paper": record(paper, x)}, sys.argv[2])
