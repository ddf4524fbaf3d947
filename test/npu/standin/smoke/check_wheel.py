"""Checks of the wheel variant of the npu stand-in.

PYTHONPATH=<prefix>:<dir holding torch> python3 check_wheel.py
(TORCHBRIDGE_STANDIN_NPU_AUDIT=1 also lists ops outside torch_npu's list.)
"""
import copy
import os
import subprocess
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch_npu


def expect_error(what, fn, *words):
    try:
        fn()
    except RuntimeError as e:
        msg = str(e).splitlines()[0]
        assert all(w in msg for w in words), (what, msg)
        print(f"ok   {what}: {type(e).__name__}: {msg}")
        return
    raise AssertionError(f"{what}: no error")


class TinyAlexNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(
            nn.Dropout(0.5), nn.Linear(16 * 4 * 4, 32), nn.ReLU(inplace=True),
            nn.Dropout(0.5), nn.Linear(32, 10))

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


def train_step(model, device, x, y):
    model = model.to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    torch.manual_seed(1)  # same dropout masks: the CPU fallback uses the CPU generator
    loss = F.cross_entropy(model(x.to(device)), y.to(device))
    opt.zero_grad()
    loss.backward()
    grads = [p.grad.cpu() for p in model.parameters()]
    opt.step()
    return loss.cpu(), grads, [p.detach().cpu() for p in model.parameters()]


def main():
    assert torch.npu.is_available() and torch.npu.device_count() == 2, torch.npu.device_count()
    x = torch.ones(3, device="npu")
    assert torch.equal((x * 2).cpu(), torch.full((3,), 2.0)), x
    assert torch.ones(2, device="npu:1").device == torch.device("npu:1")
    print("ok   ones on npu / npu:1")

    y = torch.arange(6.0).to("npu:1").view(2, 3).t().contiguous().to("npu:0")
    assert torch.equal(y.cpu(), torch.arange(6.0).view(2, 3).t()), y
    print("ok   copies npu:1 -> npu:0 -> cpu, views")

    torch.manual_seed(0)
    a = torch.randn(5, device="npu").cpu()
    torch.manual_seed(0)
    assert torch.equal(a, torch.randn(5)), a
    print("ok   seeded randn on npu == on cpu")

    if not os.environ.get("TORCHBRIDGE_STANDIN_NPU_AUDIT"):
        expect_error("op outside torch_npu's list", lambda: torch.lgamma(x), "aten::lgamma.out", "npu_ops.txt")
    expect_error("npu:2 with 2 devices", lambda: torch.ones(2, device="npu:2"), "invalid device index 2", "2 npu devices")

    env = dict(os.environ, ASCEND_RT_VISIBLE_DEVICES="1")
    out = subprocess.run([sys.executable, "-c", "import torch, torch_npu; print(torch.npu.device_count())"],
                         env=env, capture_output=True, text=True, check=True).stdout.strip()
    assert out == "1", out
    print("ok   ASCEND_RT_VISIBLE_DEVICES=1 -> 1 device")

    torch.manual_seed(0)
    model = TinyAlexNet()
    xb, yb = torch.randn(4, 3, 16, 16), torch.tensor([1, 3, 5, 7])
    ref = train_step(copy.deepcopy(model), "cpu", xb, yb)
    got = train_step(copy.deepcopy(model), "npu", xb, yb)
    worst = 0.0
    for r, g in zip([ref[0]] + ref[1] + ref[2], [got[0]] + got[1] + got[2]):
        worst = max(worst, (r - g).abs().max().item())
    assert worst <= 1e-6, worst
    print(f"ok   tiny AlexNet step on npu matches cpu (max abs diff {worst:.3g}, loss {got[0].item():.6f})")


if __name__ == "__main__":
    main()
