"""Reference for test/parity/safetensors_parity.test.ts: Hugging Face's own
safetensors package (safetensors.torch.save_file / load_file) against
torchbridge's saveSafetensors / loadSafetensors. Each file is paired with a
torch.save .pt of the same tensors, so both sides compare against what libtorch
itself wrote, bit for bit.

usage: safetensors_ref.py check
    exits 3 with a message on stderr when safetensors is not importable.
usage: safetensors_ref.py read SF PT
    load_file(SF) and torch.load(PT); prints JSON: the metadata (safe_open),
    the keys of each, and per tensor its dtype, shape and whether its bytes
    equal the .pt tensor's.
usage: safetensors_ref.py write SF PT
    writes the dtype zoo with save_file(metadata=...) and torch.save.
usage: safetensors_ref.py write-unsupported SF
    writes int8 and int16 tensors, which torchbridge's Tensor cannot hold.
usage: safetensors_ref.py alexnet SF PT PYSF PYPT
    load_file(SF) against torch.load(PT), then into the reference AlexNetModel
    with strict=True; prints the keys, the keys whose bytes differ and the
    parameter count. Then torch.manual_seed(7); AlexNetModel(); its state_dict
    to PYSF (save_file) and PYPT (torch.save).
"""
import json
import math
import sys

try:
    import safetensors
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file
except ImportError as e:  # the test turns this into a failure with the message
    sys.stderr.write(f"Python's safetensors package is not importable ({e}); "
                     "install it with: python3 -m pip install safetensors\n")
    sys.exit(3)

import torch


def same_bits(a, b):
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    return torch.equal(a.contiguous().reshape(-1).view(torch.uint8), b.contiguous().reshape(-1).view(torch.uint8))


def zoo():
    nan, inf = math.nan, math.inf
    return {
        "f32": torch.tensor([[0.0, -0.0, 1.5], [-2.25, 3.4028234663852886e38, 1.401298464324817e-45], [inf, -inf, nan]],
                            dtype=torch.float32),
        "f64": torch.tensor([0.1, -1e-300, 5e-324, 1.7976931348623157e308, -inf, nan], dtype=torch.float64),
        "f16": torch.tensor([0.0, -0.0, 1.0, 65504.0, 2.0 ** -24, 1.099609375, -inf, nan], dtype=torch.float16),
        "bf16": torch.tensor([1.1015625, -3.3895313892515355e38, 2.0 ** -133, inf, nan, -0.0], dtype=torch.bfloat16),
        "i64": torch.tensor([2 ** 62, -2 ** 63, 2 ** 63 - 1, 0, -1], dtype=torch.int64),
        "i32": torch.tensor([-2 ** 31, 2 ** 31 - 1, 7], dtype=torch.int32),
        "u8": torch.tensor([0, 255, 7, 128], dtype=torch.uint8),
        "bool": torch.tensor([[True, False], [False, True]]),
        "scalar": torch.tensor(2.5, dtype=torch.float32),
        "empty": torch.zeros(0, 3, dtype=torch.float32),
        "cube": torch.arange(24, dtype=torch.float64).reshape(2, 3, 4) / 7,
    }


def main():
    cmd = sys.argv[1]
    if cmd == "check":
        print(json.dumps({"safetensors": safetensors.__version__, "torch": torch.__version__}))
    elif cmd == "read":
        sf, pt = sys.argv[2], sys.argv[3]
        ours = load_file(sf)
        with safe_open(sf, framework="pt") as f:
            metadata = f.metadata()
            keys_in_file = list(f.keys())
        ref = torch.load(pt)
        print(json.dumps({
            "metadata": metadata,
            "keys": sorted(ours.keys()),
            "ptKeys": sorted(ref.keys()),
            "keysInFile": keys_in_file,
            "tensors": {k: {"dtype": str(t.dtype).replace("torch.", ""), "shape": list(t.shape),
                            "sameBits": k in ref and same_bits(t, ref[k])} for k, t in ours.items()},
        }))
    elif cmd == "write":
        sf, pt = sys.argv[2], sys.argv[3]
        tensors = zoo()
        save_file(tensors, sf, metadata={"format": "pt", "note": "ünïcode ✓", "empty": ""})
        torch.save(tensors, pt)
    elif cmd == "write-unsupported":
        save_file({"ok": torch.ones(2), "i16": torch.tensor([1, -2], dtype=torch.int16),
                   "i8": torch.tensor([3], dtype=torch.int8)}, sys.argv[2])
    elif cmd == "alexnet":
        from alexnet import AlexNetModel
        sf, pt, py_sf, py_pt = sys.argv[2:6]
        ours, ref = load_file(sf), torch.load(pt)
        model = AlexNetModel()
        model.load_state_dict(ours, strict=True)
        print(json.dumps({
            "keys": sorted(ours.keys()), "ptKeys": sorted(ref.keys()),
            "differ": sorted(k for k in ours if k not in ref or not same_bits(ours[k], ref[k])),
            "params": sum(p.numel() for p in model.parameters()),
        }))
        del ours, ref, model
        torch.manual_seed(7)
        state = AlexNetModel().state_dict()
        save_file(state, py_sf)
        torch.save(state, py_pt)
    else:
        raise SystemExit(f"unknown command {cmd}")


main()
