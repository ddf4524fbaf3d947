// The stand-in's kernels: the memory / view / copy ops torch_npu implements
// itself (npu_native_functions.yaml), done directly on host memory, and a
// boxed fallback that runs torch_npu's op list (npu_ops.txt) on the CPU and
// refuses every other op, as a real NPU would not have it.
#include "standin.h"

#include <ATen/EmptyTensor.h>
#include <cstdlib>
#include <ATen/native/CPUFallback.h>
#include <ATen/native/Resize.h>
#include <ATen/ops/_local_scalar_dense_native.h>
#include <ATen/ops/_reshape_alias_native.h>
#include <ATen/ops/as_strided_native.h>
#include <ATen/ops/copy_native.h>
#include <ATen/ops/from_blob.h>
#include <ATen/ops/resize_native.h>
#include <ATen/ops/set_native.h>
#include <ATen/ops/unfold_native.h>
#include <ATen/ops/view_as_complex_native.h>
#include <ATen/ops/view_as_real_native.h>
#include <ATen/ops/view_native.h>
#include <c10/core/DeviceGuard.h>
#include <torch/library.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_set>

namespace torchbridge_standin {

extern const char* const kNpuOps[];  // npu_ops.cc, generated from npu_ops.txt
extern const std::size_t kNpuOpCount;

namespace {

// ---------------------------------------------------------------- helpers

c10::Device checked_npu_device(std::optional<c10::Device> device_opt) {
  c10::Device device = c10::device_or_default(device_opt);
  TORCH_CHECK(device.type() == kNpu, "npu (stand-in): expected an npu device, got ", device);
  if (device.has_index()) check_device_index(device.index());
  return device;
}

// A CPU tensor over an npu tensor's host memory: same sizes, strides, dtype
// and conj/neg bits. The npu tensor must outlive it (used within one kernel).
at::Tensor host_alias(const at::Tensor& t) {
  at::Tensor a = at::from_blob(t.data_ptr(), t.sizes(), t.strides(), t.options().device(at::kCPU));
  a._set_conj(t.is_conj());
  a._set_neg(t.is_neg());
  return a;
}

bool is_npu(const at::Tensor& t) {
  return t.device().type() == kNpu;
}

// ---------------------------------------------------------------- factories

// What both factories check before allocating; returns the device to allocate on.
c10::Device prepare_factory(std::optional<c10::Device> device_opt, std::optional<c10::Layout> layout,
                            std::optional<bool> pin_memory) {
  const auto device = checked_npu_device(device_opt);
  TORCH_CHECK(
      c10::layout_or_default(layout) == c10::Layout::Strided,
      "npu (stand-in): only strided tensors are supported");
  TORCH_CHECK(!c10::pinned_memory_or_default(pin_memory), "Only dense CPU tensors can be pinned");
  maybe_initialise(device.index());
  return device;
}

at::Tensor empty_memory_format(
    c10::IntArrayRef size,
    std::optional<c10::ScalarType> dtype,
    std::optional<c10::Layout> layout,
    std::optional<c10::Device> device_opt,
    std::optional<bool> pin_memory,
    std::optional<c10::MemoryFormat> memory_format) {
  const auto device = prepare_factory(device_opt, layout, pin_memory);
  const c10::DeviceGuard guard(device);
  return at::detail::empty_generic(
      size, c10::GetAllocator(kNpu), c10::DispatchKeySet(c10::DispatchKey::PrivateUse1),
      c10::dtype_or_default(dtype), memory_format);
}

at::Tensor empty_strided(
    c10::IntArrayRef size,
    c10::IntArrayRef stride,
    std::optional<c10::ScalarType> dtype,
    std::optional<c10::Layout> layout,
    std::optional<c10::Device> device_opt,
    std::optional<bool> pin_memory) {
  const auto device = prepare_factory(device_opt, layout, pin_memory);
  const c10::DeviceGuard guard(device);
  return at::detail::empty_strided_generic(
      size, stride, c10::GetAllocator(kNpu), c10::DispatchKeySet(c10::DispatchKey::PrivateUse1),
      c10::dtype_or_default(dtype));
}

// ---------------------------------------------------------------- views
// Views must alias: the CPU fallback would hand back copies.

at::Tensor as_strided(
    const at::Tensor& self, c10::IntArrayRef size, c10::IntArrayRef stride,
    std::optional<int64_t> storage_offset) {
  return at::native::as_strided_tensorimpl(self, size, stride, storage_offset);
}

at::Tensor view(const at::Tensor& self, c10::IntArrayRef size) {
  return at::native::view(self, size);
}

at::Tensor reshape_alias(const at::Tensor& self, c10::IntArrayRef size, c10::IntArrayRef stride) {
  return at::native::_reshape_alias(self, size, stride);
}

at::Tensor unfold(const at::Tensor& self, int64_t dimension, int64_t size, int64_t step) {
  return at::native::unfold(self, dimension, size, step);
}

at::Tensor view_as_real(const at::Tensor& self) {
  return at::native::view_as_real(self);
}

at::Tensor view_as_complex(const at::Tensor& self) {
  return at::native::view_as_complex(self);
}

// ---------------------------------------------------------------- storage

const at::Tensor& resize_(
    const at::Tensor& self, c10::IntArrayRef size, std::optional<c10::MemoryFormat> memory_format) {
  const c10::OptionalDeviceGuard guard(self.device());
  return at::native::resize_(self, size, memory_format);
}

at::Tensor& set_empty_(at::Tensor& self) {
  const c10::OptionalDeviceGuard guard(self.device());
  c10::Storage storage(c10::Storage::use_byte_size_t(), 0, c10::GetAllocator(kNpu), /*resizable=*/true);
  return self.set_(storage, 0, {0}, {});
}

at::Tensor& set_source_storage_(at::Tensor& self, c10::Storage source) {
  return at::native::set_(self, source);
}

at::Tensor& set_source_storage_offset_(
    at::Tensor& self, c10::Storage source, int64_t storage_offset, c10::IntArrayRef size,
    c10::IntArrayRef stride) {
  return at::native::set_storage_cpu_(self, source, storage_offset, size, stride);
}

at::Tensor& set_source_tensor_(at::Tensor& self, const at::Tensor& source) {
  return at::native::set_tensor_(self, source);
}

// ---------------------------------------------------------------- copies

// copy_ (composite) sends anything involving a PrivateUse1 tensor here:
// cpu<->npu and npu<->npu are all host memcpy / CPU copy kernels.
at::Tensor copy_from(const at::Tensor& self, const at::Tensor& dst, bool non_blocking) {
  TORCH_CHECK(self.defined() && dst.defined(), "npu (stand-in): copy of an undefined tensor");
  TORCH_CHECK(
      (is_npu(self) || self.is_cpu()) && (is_npu(dst) || dst.is_cpu()),
      "npu (stand-in): cannot copy from ", self.device(), " to ", dst.device());
  if (self.numel() == 0 || dst.numel() == 0) return dst;
  at::Tensor d = is_npu(dst) ? host_alias(dst) : dst;
  const at::Tensor s = is_npu(self) ? host_alias(self) : self;
  at::native::copy_(d, s, non_blocking);
  return dst;
}

at::Tensor copy_from_and_resize(const at::Tensor& self, const at::Tensor& dst) {
  if (is_npu(dst)) {
    resize_(dst, self.sizes(), std::nullopt);
  } else {
    at::native::resize_(dst, self.sizes(), std::nullopt);
  }
  return copy_from(self, dst, false);
}

c10::Scalar local_scalar_dense(const at::Tensor& self) {
  return at::native::_local_scalar_dense_cpu(host_alias(self));
}

// ---------------------------------------------------------------- fallback

// TORCHBRIDGE_STANDIN_NPU_DENY="name.overload,...": ops taken off the list, so
// that tests can show what an op the NPU lacks does on a path that has none.
const std::unordered_set<std::string_view>& allowed_ops() {
  static const auto* set = [] {
    auto* s = new std::unordered_set<std::string_view>();
    for (std::size_t i = 0; i < kNpuOpCount; ++i) s->insert(kNpuOps[i]);
    static const std::string deny = std::getenv("TORCHBRIDGE_STANDIN_NPU_DENY") ? std::getenv("TORCHBRIDGE_STANDIN_NPU_DENY") : "";
    for (std::size_t start = 0; start < deny.size();) {
      auto end = deny.find(',', start);
      if (end == std::string::npos) end = deny.size();
      s->erase(std::string_view(deny).substr(start, end - start));
      start = end + 1;
    }
    return s;
  }();
  return *set;
}

// npu_ops.txt spells aten ops without the namespace: "name" for the default
// overload, "name.overload" otherwise. Other namespaces never match.
bool is_allowed(const c10::OperatorName& op) {
  constexpr std::string_view kAten = "aten::";
  std::string_view name = op.name;
  if (name.substr(0, kAten.size()) != kAten) return false;
  std::string key(name.substr(kAten.size()));
  if (!op.overload_name.empty()) key += "." + op.overload_name;
  return allowed_ops().count(key) != 0;
}

// TORCHBRIDGE_STANDIN_NPU_AUDIT=1: run refused ops on the CPU anyway and
// print each once to stderr, to list everything a workload would need.
bool audit_mode() {
  static const bool on = [] {
    const char* e = std::getenv("TORCHBRIDGE_STANDIN_NPU_AUDIT");
    return e != nullptr && *e != '\0' && std::string(e) != "0";
  }();
  return on;
}

void report_refused(const c10::OperatorName& op) {
  static std::mutex mu;
  static auto* seen = new std::unordered_set<std::string>();
  std::string name = c10::toString(op);
  std::lock_guard<std::mutex> lock(mu);
  if (seen->insert(name).second) {
    std::fprintf(stderr, "npu (stand-in) audit: refused op %s (run on CPU because of TORCHBRIDGE_STANDIN_NPU_AUDIT)\n",
                 name.c_str());
  }
}

// Random ops in the list run here on the CPU with the CPU default generator
// (a seeded npu run matches a seeded cpu run; the real NPU has its own
// generator). An explicit npu Generator argument is refused by the CPU kernel.
void npu_fallback(const c10::OperatorHandle& op, torch::jit::Stack* stack) {
  const auto& name = op.schema().operator_name();
  if (!is_allowed(name)) {
    if (audit_mode()) {
      report_refused(name);
    } else {
      TORCH_CHECK_NOT_IMPLEMENTED(
          false, "npu (stand-in): ", name,
          " is not implemented for the NPU: it is not in torch_npu's op list "
          "(test/npu/standin/npu_ops.txt)");
    }
  }
  // Listed ops that ATen only has for CUDA (fused RNN cells, sync batch norm
  // statistics, ...): the real NPU runs them, the stand-in has no CPU kernel.
  TORCH_CHECK_NOT_IMPLEMENTED(
      op.hasComputedKernelForDispatchKey(c10::DispatchKey::CPU), "npu (stand-in): ", name,
      " is in torch_npu's op list, but the stand-in cannot run it: ATen has no CPU kernel for it");
  // error_on_views: an op returning an alias of an input cannot be faked by
  // copying through the CPU; say so rather than return a detached copy.
  at::native::cpu_fallback(op, stack, /*error_on_views=*/true);
}

} // namespace

// Called from device.cc's single load-time registration (which catches).
void register_kernels() {
  static std::unique_ptr<torch::Library> aten(
      new torch::Library(torch::Library::IMPL, "aten", c10::DispatchKey::PrivateUse1, __FILE__, __LINE__));
  aten->impl("empty.memory_format", TORCH_FN(empty_memory_format));
  aten->impl("empty_strided", TORCH_FN(empty_strided));
  aten->impl("as_strided", TORCH_FN(as_strided));
  aten->impl("view", TORCH_FN(view));
  aten->impl("_reshape_alias", TORCH_FN(reshape_alias));
  aten->impl("unfold", TORCH_FN(unfold));
  aten->impl("view_as_real", TORCH_FN(view_as_real));
  aten->impl("view_as_complex", TORCH_FN(view_as_complex));
  aten->impl("resize_", TORCH_FN(resize_));
  aten->impl("set_", TORCH_FN(set_empty_));
  aten->impl("set_.source_Storage", TORCH_FN(set_source_storage_));
  aten->impl("set_.source_Storage_storage_offset", TORCH_FN(set_source_storage_offset_));
  aten->impl("set_.source_Tensor", TORCH_FN(set_source_tensor_));
  aten->impl("_copy_from", TORCH_FN(copy_from));
  aten->impl("_copy_from_and_resize", TORCH_FN(copy_from_and_resize));
  aten->impl("_local_scalar_dense", TORCH_FN(local_scalar_dense));

  // torch_npu has its own kernel for every op of its list, so on a real NPU
  // a listed op runs as itself, not through ATen's device-generic composite
  // (convolution_overrideable's composite, for one, only throws). Give the
  // listed composite-explicit ops the CPU-running kernel directly, except:
  //  - composite-implicit ops: they decompose, and keep autograd that way;
  //  - views (aliasing returns): ATen's composite keeps the aliasing;
  //  - ops without tensor inputs (factories): they allocate through empty;
  //  - the copy / memory machinery the CPU fallback itself relies on.
  static const std::unordered_set<std::string_view> keep_composite = {
      "copy_", "_to_copy", "clone", "_lazy_clone", "empty_like", "new_empty_strided",
      "_pin_memory", "is_pinned", "resize_as_", "as_strided_",
  };
  auto& dispatcher = c10::Dispatcher::singleton();
  for (std::size_t i = 0; i < kNpuOpCount; ++i) {
    const std::string entry = kNpuOps[i];
    if (keep_composite.count(entry)) continue;
    const auto dot = entry.find('.');
    const c10::OperatorName name(
        "aten::" + entry.substr(0, dot), dot == std::string::npos ? "" : entry.substr(dot + 1));
    const auto handle = dispatcher.findOp(name);
    if (!handle || handle->hasKernelForDispatchKey(c10::DispatchKey::PrivateUse1)) continue;
    if (handle->hasKernelForDispatchKey(c10::DispatchKey::CompositeImplicitAutograd)) continue;
    if (!handle->hasKernelForDispatchKey(c10::DispatchKey::CompositeExplicitAutograd) &&
        !handle->hasKernelForDispatchKey(c10::DispatchKey::CompositeExplicitAutogradNonFunctional)) {
      continue;  // no composite in the way: the backend fallback gets it
    }
    const auto& schema = handle->schema();
    bool view = false;
    for (const auto& r : schema.returns()) {
      if (r.alias_info() != nullptr && !r.alias_info()->isWrite()) view = true;
    }
    bool has_tensor = false;
    for (const auto& a : schema.arguments()) {
      if (a.type()->str().find("Tensor") != std::string::npos) has_tensor = true;
    }
    if (view || !has_tensor) continue;
    aten->impl(entry.c_str(), torch::CppFunction::makeFromBoxedFunction<&npu_fallback>());
  }

  static std::unique_ptr<torch::Library> all(
      new torch::Library(torch::Library::IMPL, "_", c10::DispatchKey::PrivateUse1, __FILE__, __LINE__));
  all->fallback(torch::CppFunction::makeFromBoxedFunction<&npu_fallback>());
}

} // namespace torchbridge_standin
