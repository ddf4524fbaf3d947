"""Test stand-in for torch_npu -- NOT Huawei's torch_npu.

torchbridge's fake Ascend NPU backend (test/npu/standin in the torchbridge
repository): it registers PyTorch's PrivateUse1 device as "npu", keeps "device"
memory on the host and runs the ops of torch_npu's op list on the CPU; any
other op raises. It mimics the layout of `pip install torch_npu`
(torch_npu/lib/libtorch_npu.so, lazy init through torch_npu.npu._lazy_init())
so code paths for the real package can be tested without Ascend hardware.
There is no CANN, no real kernel, no NPU random generator and no NPU format.
"""
import ctypes
import os

import torch  # first: libtorch must be loaded before libtorch_npu.so

__version__ = "2.13.0+standin"

_lib_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib", "libtorch_npu.so")
# RTLD_GLOBAL as the real extension loads it; its static initialisers register
# the backend, guard, allocator, hooks and kernels.
_lib = ctypes.CDLL(_lib_path, mode=ctypes.RTLD_GLOBAL)
for _name, _args, _res in (
    ("torchbridge_standin_npu_init", [], ctypes.c_int),
    ("torchbridge_standin_npu_is_initialised", [], ctypes.c_int),
    ("torchbridge_standin_npu_device_count", [], ctypes.c_int),
    ("torchbridge_standin_npu_load_error", [], ctypes.c_char_p),
    ("torchbridge_standin_npu_current_device", [], ctypes.c_int),
    ("torchbridge_standin_npu_set_device", [ctypes.c_int], ctypes.c_int),
    ("torchbridge_standin_npu_manual_seed_all", [ctypes.c_uint64], ctypes.c_int),
):
    _fn = getattr(_lib, _name)
    _fn.argtypes = _args
    _fn.restype = _res
del _name, _args, _res, _fn

_load_error = _lib.torchbridge_standin_npu_load_error().decode()
if _load_error:
    raise ImportError("torch_npu (stand-in): " + _load_error)

from . import npu  # noqa: E402

# What torch_npu does for torch: torch.npu, Tensor.npu(), Tensor.is_npu, ...
torch._register_device_module("npu", npu)
torch.utils.generate_methods_for_privateuse1_backend(for_tensor=True, for_module=True, for_storage=True)
