"""torch_npu.npu of the torch_npu test stand-in (not Huawei's torch_npu).

torch calls _lazy_init() before the first npu tensor is made (torch.npu is this
module); the stand-in's libtorch_npu.so calls it too, as torch_npu's
npu_lazy_init() does.
"""
import threading

import torch
import torch_npu

_initialized = False
_lock = threading.Lock()


def _is_in_bad_fork():
    return False  # no device state survives or breaks across fork here


def _lib():
    return torch_npu._lib


def is_available():
    return device_count() > 0


def device_count():
    return _lib().torchbridge_standin_npu_device_count()


def is_initialized():
    return _initialized and bool(_lib().torchbridge_standin_npu_is_initialised())


def _lazy_init():
    global _initialized
    if is_initialized():
        return
    with _lock:
        if is_initialized():
            return
        if device_count() <= 0:
            raise RuntimeError(
                "npu (stand-in): no npu device is visible "
                "(TORCHBRIDGE_STANDIN_NPU_DEVICES / ASCEND_RT_VISIBLE_DEVICES)")
        if _lib().torchbridge_standin_npu_init() != 0:
            raise RuntimeError("npu (stand-in): device initialisation failed")
        _initialized = True


def init():
    _lazy_init()


def current_device():
    _lazy_init()
    return _lib().torchbridge_standin_npu_current_device()


def set_device(device):
    if isinstance(device, int):
        index = device
    else:
        device = torch.device(device)
        index = 0 if device.index is None else device.index
    _lazy_init()
    if _lib().torchbridge_standin_npu_set_device(index) != 0:
        raise RuntimeError(f"npu (stand-in): invalid device index {index}: "
                           f"there are {device_count()} npu devices")


def synchronize(device=None):
    _lazy_init()  # host memory and synchronous kernels: nothing is pending


def manual_seed(seed):
    # The CPU fallback draws from the CPU generator (see README); the npu
    # generators are seeded for API parity only.
    manual_seed_all(seed)


def manual_seed_all(seed):
    _lib().torchbridge_standin_npu_manual_seed_all(int(seed) & 0xFFFFFFFFFFFFFFFF)
