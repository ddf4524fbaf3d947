// torchbridge's npu stand-in: the same declarations as torch_npu's
// torch_npu/csrc/libs/init_npu.h (the API a libtorch_npu build exports).
// Not Huawei's header.
#pragma once

#include <c10/core/Device.h>
#include <cstdint>
#include <string>

#include "torch_npu/csrc/core/npu/NPUMacros.h"

namespace torch_npu {

// Initialise the NPU runtime and make device_index current. Throws
// c10::Error if the index is not a visible device.
TORCH_NPU_API void init_npu(const c10::DeviceIndex device_index = 0);
TORCH_NPU_API void init_npu(const std::string& device_str);
TORCH_NPU_API void init_npu(const at::Device& device);

// Marks the runtime uninitialised again (warns if it was not initialised).
TORCH_NPU_API void finalize_npu();

} // namespace torch_npu

namespace torch {
namespace npu {

// Waits for the device (-1: the current one).
TORCH_NPU_API void synchronize(int64_t device_index = -1);

} // namespace npu
} // namespace torch

namespace c10 {
namespace npu {

// The current device, or -1 (with a warning) before init_npu.
C10_NPU_API DeviceIndex current_device();

} // namespace npu
} // namespace c10
