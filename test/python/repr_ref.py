"""Reference for test/repr.test.ts: print(module) text of torch.nn modules.

usage: repr_ref.py    -> JSON {case name: repr(module)} on stdout
The cases must be built exactly as test/repr.test.ts builds its own.
"""
import json
import os
import sys

import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from alexnet import AlexNetModel  # noqa: E402

cases = {
    "every module type": nn.Sequential(
        nn.Conv2d(3, 16, 3),
        nn.Conv2d(16, 32, kernel_size=(3, 5), stride=(2, 1), padding=(1, 2), dilation=(2, 1), groups=4, bias=False),
        nn.Conv2d(32, 32, 1, padding=1, dilation=3),
        nn.ReLU(),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
        nn.MaxPool2d(3, stride=2, padding=1, dilation=2, ceil_mode=True),
        nn.MaxPool2d((3, 2), stride=(2, 1)),
        nn.AvgPool2d(2),
        nn.AvgPool2d((3, 3), stride=1, padding=1),
        nn.AdaptiveAvgPool2d((6, 6)),
        nn.AdaptiveAvgPool2d(1),
        nn.Dropout(),
        nn.Dropout(p=0.25, inplace=True),
        nn.Flatten(),
        nn.Flatten(0, 2),
        nn.LocalResponseNorm(5, alpha=0.0001, beta=0.75, k=2.0),
        nn.LocalResponseNorm(3),
        nn.BatchNorm2d(16),
        nn.BatchNorm2d(8, eps=0.001, momentum=0.01, affine=False, track_running_stats=False),
        nn.BatchNorm2d(4, bias=False),
        nn.Linear(9216, 4608),
        nn.Linear(10, 3, bias=False),
        nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(True), nn.Sequential(nn.Linear(4, 2))),
        nn.Sequential(),
    ),
    "repeated identical layers": nn.Sequential(nn.ReLU(), nn.ReLU(), nn.Linear(2, 2), nn.Linear(2, 2)),
    "a single leaf": nn.Conv2d(64, 256, kernel_size=3, padding=1),
    "an empty Sequential": nn.Sequential(),
    "CrossEntropyLoss": nn.CrossEntropyLoss(),
    "AlexNetModel": AlexNetModel(),
}

json.dump({k: repr(m) for k, m in cases.items()}, sys.stdout)
