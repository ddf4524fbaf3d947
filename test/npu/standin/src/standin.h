// Internal interface shared by the stand-in's translation units.
#pragma once

#include <c10/core/Device.h>

#include <cstdint>
#include <string>

namespace torchbridge_standin {

constexpr c10::DeviceType kNpu = c10::DeviceType::PrivateUse1;

// Visible devices: TORCHBRIDGE_STANDIN_NPU_DEVICES physical ones (default 2),
// filtered and renumbered by ASCEND_RT_VISIBLE_DEVICES. Read once, like CANN
// reads it at aclInit. Never throws.
c10::DeviceIndex device_count() noexcept;

// Throws c10::Error naming the index and the count unless 0 <= index < count.
void check_device_index(int64_t index);

// Thread-local current device (new threads start at the default device, which
// init_npu / set_device on the main path update).
c10::DeviceIndex current_device() noexcept;
void set_device(c10::DeviceIndex index);  // checked
void set_device_unchecked(c10::DeviceIndex index) noexcept;
void set_default_device(c10::DeviceIndex index);  // checked; also sets current

// Runtime state. init_npu (libtorch_npu variant) or torch_npu.npu._lazy_init()
// (wheel variant) marks it initialised; finalize_npu clears it.
bool is_initialised() noexcept;
void set_initialised(bool value) noexcept;

// Throws unless initialised; `what` says what was attempted.
void require_initialised(const char* what);

// What a tensor factory on the device does first, as torch_npu's
// maybe_initialize_npu(): libtorch_npu variant: require init_npu to have run;
// wheel variant: run the Python-side lazy init (torch_npu.npu._lazy_init()).
void maybe_initialise(c10::DeviceIndex index);

// The PrivateUse1 hooks' init() (torch_npu's NPUHooksInterface::init):
// nothing for libtorch_npu, npu_lazy_init() for the wheel. Variant-specific.
void hooks_lazy_init();

// Message of a failure during library-load registration, empty if none.
// Registration errors are caught (no throw out of a static initialiser) and
// reported by the first use instead.
const std::string& load_error() noexcept;
void set_load_error(const std::string& msg) noexcept;
void check_loaded();

// Re-seeds every device's default generator.
void manual_seed_all(uint64_t seed);

} // namespace torchbridge_standin
