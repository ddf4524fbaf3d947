// Ascend NPU bring-up, by the route the build picked (see CMakeLists.txt):
// libtorch_npu (linked, init_npu) or wheel (torch_npu imported into an embedded
// Python, then driven through libtorch's PrivateUse1 device). Errors are c10::Error.
#pragma once
#include "common.h"

namespace tb::npu {
// "libtorch_npu", "wheel", or nullptr in a build without npu.
const char* Route();
// True once Init has succeeded in this process.
bool Ready();
// Devices visible to torch_npu (ASCEND_RT_VISIBLE_DEVICES applied); 0 before Init.
int DeviceCount();
// Brings torch_npu up (once) and checks that `device` exists.
void Init(const c10::Device& device);
void Synchronize(c10::DeviceIndex index);
// Called before each backward. The autograd engine sizes its per-device threads
// once, at the first backward in the process, from the devices registered then;
// on the wheel route 'npu' registers only when torch_npu is imported, so import it
// first (as Python programs import torch_npu at the top). Failures are left for
// Init to report.
void BeforeAutograd();
// libtorch_npu route: finalize_npu. Safe to call when not initialised.
void Finalize();
}  // namespace tb::npu
