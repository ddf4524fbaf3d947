// libtorch_npu variant: the C++ API of torch_npu/csrc/libs/init_npu.h, as a
// libtorch_npu built by Ascend's build_libtorch_npu.py exports it. Nothing
// initialises the device behind the caller's back: tensors on npu need
// init_npu first (like a host that never runs the NPU runtime's init).
#include "torch_npu/csrc/libs/init_npu.h"

#include <c10/util/Exception.h>

#include "standin.h"

namespace torchbridge_standin {

void maybe_initialise(c10::DeviceIndex) {
  require_initialised("create an npu tensor");
}

// BUILD_LIBTORCH: NPUHooksInterface::init() has nothing to do.
void hooks_lazy_init() {}

} // namespace torchbridge_standin

namespace sb = torchbridge_standin;

namespace torch_npu {

void init_npu(const c10::DeviceIndex device_index) {
  sb::check_loaded();
  // "npu" without an index means the current (default 0) device.
  const c10::DeviceIndex index = device_index < 0 ? sb::current_device() : device_index;
  sb::check_device_index(index);
  sb::set_default_device(index);
  sb::set_initialised(true);
}

void init_npu(const std::string& device_str) {
  sb::check_loaded();
  const at::Device device(device_str);
  TORCH_CHECK(
      device.type() == sb::kNpu, "NPU device init fail, except got NPU device, but got ", device_str);
  init_npu(device.index());
}

void init_npu(const at::Device& device) {
  TORCH_CHECK(
      device.type() == sb::kNpu, "NPU device init fail, except got NPU device, but got ", device.str());
  init_npu(device.index());
}

void finalize_npu() {
  if (!sb::is_initialised()) {
    TORCH_WARN("Please init npu device first!");
    return;
  }
  sb::set_initialised(false);
}

} // namespace torch_npu

namespace torch {
namespace npu {

void synchronize(int64_t device_index) {
  sb::require_initialised("synchronize");
  if (device_index >= 0) sb::check_device_index(device_index);
  // Host memory, synchronous kernels: nothing is ever pending.
}

} // namespace npu
} // namespace torch

namespace c10 {
namespace npu {

DeviceIndex current_device() {
  if (!sb::is_initialised()) {
    TORCH_WARN("Please init npu device first!");
    return -1;
  }
  return sb::current_device();
}

} // namespace npu
} // namespace c10
