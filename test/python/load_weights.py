"""Loads weights saved by `torchbridge train --checkpoint` into the reference
AlexNetModel with torch.load (weights_only, the default) + load_state_dict(strict=True)
and prints the parameter count and fc3.bias, so the test can compare values."""
import json
import sys

import torch

from alexnet import AlexNetModel

state = torch.load(sys.argv[1])
model = AlexNetModel()
model.load_state_dict(state, strict=True)
print(json.dumps({
    "params": sum(p.numel() for p in model.parameters()),
    "fc3_bias": model.fc3.bias.tolist(),
}))
