"""Reference for test/tensor.test.ts: torch.save interop.

usage: serialize_ref.py read FILE
    torch.load(FILE) with the default (weights_only=True) loader, and again
    with weights_only=True spelled out; prints a JSON description of the
    value: tensors as {dtype, shape, values, contiguous, storage}.
usage: serialize_ref.py write FILE
    torch.manual_seed(0); torch.save(nn.Linear(3, 2).state_dict(), FILE);
    prints the same JSON description of the state dict.
"""
import json
import sys

import torch
import torch.nn as nn


def describe(v, storages):
    if isinstance(v, torch.Tensor):
        flat = v.detach().reshape(-1)
        if v.dtype in (torch.int64, torch.int32, torch.uint8):
            values = [str(int(x)) for x in flat.tolist()]
        elif v.dtype == torch.bool:
            values = [bool(x) for x in flat.tolist()]
        else:
            values = [float(x) for x in flat.float().tolist()] if v.dtype in (torch.float16, torch.bfloat16) else flat.tolist()
        ptr = v.untyped_storage().data_ptr()
        storages.setdefault(ptr, len(storages))
        return {"tensor": True, "dtype": str(v.dtype).replace("torch.", ""), "shape": list(v.shape), "values": values,
                "contiguous": v.is_contiguous(), "storage": storages[ptr], "stride": list(v.stride()),
                "requires_grad": v.requires_grad}
    if isinstance(v, dict):
        return {"dict": type(v).__name__, "items": [[k, describe(x, storages)] for k, x in v.items()]}
    if isinstance(v, (list, tuple)):
        return {"list": type(v).__name__, "items": [describe(x, storages) for x in v]}
    if isinstance(v, float):
        return {"float": v}
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return v
    if isinstance(v, int):
        return {"int": str(v)}
    raise TypeError(type(v))


def main():
    mode, path = sys.argv[1], sys.argv[2]
    if mode == "write":
        torch.manual_seed(0)
        sd = nn.Linear(3, 2).state_dict()
        torch.save(sd, path)
        print(json.dumps(describe(sd, {})))
    else:
        default = torch.load(path)
        explicit = torch.load(path, weights_only=True)
        a, b = describe(default, {}), describe(explicit, {})
        assert a == b
        print(json.dumps(a))


if __name__ == "__main__":
    main()
