"""The training recipes of src/train/recipes.ts in Python PyTorch: what the
parity test (recipe_ref.py) and the training twin (bench/python_train.py) use.
Each returns (optimizer, scheduler, criterion, test_time_flip)."""
import torch
import torch.nn as nn

# padding: RandomCrop(32, padding) before the flip.
DEFAULTS = {
    "reference": {"batch_size": 128, "lr": 0.1, "weight_decay": 5e-4, "padding": 4},
    "fast": {"batch_size": 64, "lr": 0.1, "weight_decay": 5e-4, "padding": 2},
}


def one_cycle(optimizer, lr, epochs, steps_per_epoch):
    return torch.optim.lr_scheduler.OneCycleLR(optimizer, lr, epochs=epochs, steps_per_epoch=steps_per_epoch,
                                               div_factor=25, final_div_factor=1e4, pct_start=0.3)


def reference(model, epochs, steps_per_epoch, lr=None, weight_decay=None):
    d = DEFAULTS["reference"]
    opt = torch.optim.SGD(model.parameters(), lr=1.0, weight_decay=d["weight_decay"] if weight_decay is None else weight_decay)
    return opt, one_cycle(opt, d["lr"] if lr is None else lr, epochs, steps_per_epoch), nn.CrossEntropyLoss(), False


def fast(model, epochs, steps_per_epoch, lr=None, weight_decay=None):
    d = DEFAULTS["fast"]
    params = list(model.parameters())
    weights = [p for p in params if p.ndim > 1]
    biases = [p for p in params if p.ndim <= 1]
    groups = [{"params": weights}] + ([{"params": biases, "weight_decay": 0.0}] if biases else [])
    opt = torch.optim.SGD(groups, lr=1.0, momentum=0.9, nesterov=True,
                          weight_decay=d["weight_decay"] if weight_decay is None else weight_decay)
    return opt, one_cycle(opt, d["lr"] if lr is None else lr, epochs, steps_per_epoch), nn.CrossEntropyLoss(label_smoothing=0.2), True


RECIPES = {"reference": reference, "fast": fast}


def test_logits(model, x, test_time_flip):
    """The logits a recipe scores test images by: with test_time_flip, the mean over each image and its mirror image."""
    out = model(x)
    return (out + model(x.flip(3))) / 2 if test_time_flip else out
