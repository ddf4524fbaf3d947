// Devices, RNG, threads, CPU kernels and grad mode: process-wide libtorch state.
#include "device.h"

#include <ATen/detail/CUDAHooksInterface.h>
#include "cpu_linear.h"
#include <torch/csrc/api/include/torch/version.h>

#ifdef TB_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#endif

#include <algorithm>
#include <cmath>
#include <thread>

#include "Tensor.h"
#include "npu.h"

namespace tb {

namespace {

bool CudaUsable() { return at::globalContext().hasCUDA() && at::detail::getCUDAHooks().deviceCount() > 0; }

// backends(): what was compiled in, what is usable now, and which libtorch.
Napi::Value Backends(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto compiled = Napi::Object::New(env), available = Napi::Object::New(env);
  compiled.Set("cpu", true);
  available.Set("cpu", true);
#ifdef TB_WITH_CUDA
  compiled.Set("cuda", true);
#else
  compiled.Set("cuda", false);
#endif
  available.Set("cuda", CudaUsable());
  compiled.Set("npu", npu::Route() != nullptr);
  available.Set("npu", npu::Ready());
  auto out = Napi::Object::New(env);
  out.Set("compiled", compiled);
  out.Set("available", available);
  out.Set("cudaDeviceCount", static_cast<double>(CudaUsable() ? at::detail::getCUDAHooks().deviceCount() : 0));
  out.Set("npuRoute", npu::Route() ? Napi::Value(Napi::String::New(env, npu::Route())) : env.Null());
  out.Set("npuDeviceCount", static_cast<double>(npu::DeviceCount()));
  out.Set("libtorch", TORCH_VERSION);
  out.Set("cxx11Abi", static_cast<bool>(_GLIBCXX_USE_CXX11_ABI));
  out.Set("threads", at::get_num_threads());
  out.Set("parallelInfo", at::get_parallel_info());
  return out;
}

// initDevice(name): brings up an accelerator before first use and checks that the
// device exists. For npu, see npu.cc.
Napi::Value InitDevice(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto name = TB_STRING(info, 0, "initDevice");
  auto dev = ParseDevice(env, name, "initDevice");
  TB_TRY
  if (dev.is_cuda()) {
    TORCH_CHECK(CudaUsable(), "CUDA is not available (built with CUDA: ",
#ifdef TB_WITH_CUDA
                "yes",
#else
                "no",
#endif
                ")");
    auto count = at::detail::getCUDAHooks().deviceCount();
    TORCH_CHECK(dev.index() < count, "device ", name, " does not exist: ", count, " CUDA device(s)");
  }
  if (dev.is_privateuseone()) {
    bool first = !npu::Ready();
    npu::Init(dev);
    // libtorch_npu route: finalize_npu when this environment exits.
    if (first && npu::Route() && std::string(npu::Route()) == "libtorch_npu") env.AddCleanupHook([] { npu::Finalize(); });
  }
  return env.Undefined();
  TB_CATCH(env, "initDevice")
}

// synchronize(device): waits for queued kernels (for timing).
Napi::Value Synchronize(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto dev = ParseDevice(env, TB_STRING(info, 0, "synchronize"), "synchronize");
  TB_TRY
  if (dev.is_cuda()) at::detail::getCUDAHooks().deviceSynchronize(dev.has_index() ? dev.index() : 0);
  if (dev.is_privateuseone()) npu::Synchronize(dev.has_index() ? dev.index() : -1);
  return env.Undefined();
  TB_CATCH(env, "synchronize")
}

// cudaMemory(): {allocated, reserved, peak} bytes of the CUDA caching allocator.
Napi::Value CudaMemory(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto out = Napi::Object::New(env);
#ifdef TB_WITH_CUDA
  TB_TRY
  if (CudaUsable()) {
    auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(0);
    using c10::CachingAllocator::StatType;
    auto idx = static_cast<size_t>(StatType::AGGREGATE);
    out.Set("allocated", static_cast<double>(stats.allocated_bytes[idx].current));
    out.Set("reserved", static_cast<double>(stats.reserved_bytes[idx].current));
    out.Set("peak", static_cast<double>(stats.allocated_bytes[idx].peak));
  }
  TB_CATCH(env, "cudaMemory")
#endif
  return out;
}

// manualSeed(seed): an integer in [-2**63, 2**64); negatives wrap as in Python.
// Casting NaN, infinities or out-of-range doubles to an integer is undefined.
Napi::Value ManualSeed(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  double seed = TB_NUMBER(info, 0, "manualSeed");
  if (!(std::trunc(seed) == seed && seed >= -9223372036854775808.0 && seed < 18446744073709551616.0)) {
    throw Napi::RangeError::New(env, "manualSeed: expected an integer but received " + info[0].ToString().Utf8Value());
  }
  TB_TRY
  at::manual_seed(seed < 0 ? static_cast<uint64_t>(static_cast<int64_t>(seed)) : static_cast<uint64_t>(seed));
  return env.Undefined();
  TB_CATCH(env, "manualSeed")
}

// The CPU generator's state as a uint8 tensor, for checkpoints.
Napi::Value GetRngState(const Napi::CallbackInfo& info) {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return Tensor::Wrap(info.Env(), gen.get_state());
}

Napi::Value SetRngState(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto& state = Tensor::From(info[0], "setRngState");
  TB_TRY
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(state);
  return env.Undefined();
  TB_CATCH(env, "setRngState")
}

// setNumThreads(n): an integer in [1, max(64, 4 x cores)]. OpenMP can't report a
// failure to make threads: libgomp exits the process when asked for 2**31 - 1.
// Read as a double, since Int32Value would wrap 2**32 + 3 to 3.
Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  double n = TB_NUMBER(info, 0, "setNumThreads");
  const double max = std::max(64.0, 4.0 * std::thread::hardware_concurrency());
  if (!(n >= 1 && n <= max && std::trunc(n) == n)) {
    throw Napi::RangeError::New(env, "setNumThreads: expected an integer between 1 and " + std::to_string(int(max)) +
                                         " but received " + info[0].ToString().Utf8Value());
  }
  TB_TRY
  at::set_num_threads(static_cast<int>(n));
  return env.Undefined();
  TB_CATCH(env, "setNumThreads")
}

Napi::Value GetNumThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), at::get_num_threads());
}

// setCpuLinearKernel("onednn" | "blas"): which library runs fp32 Linear on the CPU.
Napi::Value SetCpuLinearKernel(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto kernel = TB_STRING(info, 0, "setCpuLinearKernel");
  TB_THROW_TYPE_IF(kernel != "onednn" && kernel != "blas", env,
                   "setCpuLinearKernel: expected 'onednn' or 'blas' but received '" + kernel + "'");
  tb::SetCpuLinearKernel(kernel);
  return env.Undefined();
}

Napi::Value GetCpuLinearKernel(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), tb::CpuLinearKernel());
}

Napi::Value SetGradEnabled(const Napi::CallbackInfo& info) {
  at::GradMode::set_enabled(TB_BOOL(info, 0, "setGradEnabled"));
  return info.Env().Undefined();
}

Napi::Value IsGradEnabled(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), at::GradMode::is_enabled());
}

}  // namespace

void InitDeviceFns(Napi::Env env, Napi::Object exports) {
  exports.Set("backends", Napi::Function::New<Backends>(env, "backends"));
  exports.Set("initDevice", Napi::Function::New<InitDevice>(env, "initDevice"));
  exports.Set("synchronize", Napi::Function::New<Synchronize>(env, "synchronize"));
  exports.Set("cudaMemory", Napi::Function::New<CudaMemory>(env, "cudaMemory"));
  exports.Set("manualSeed", Napi::Function::New<ManualSeed>(env, "manualSeed"));
  exports.Set("getRngState", Napi::Function::New<GetRngState>(env, "getRngState"));
  exports.Set("setRngState", Napi::Function::New<SetRngState>(env, "setRngState"));
  exports.Set("setNumThreads", Napi::Function::New<SetNumThreads>(env, "setNumThreads"));
  exports.Set("getNumThreads", Napi::Function::New<GetNumThreads>(env, "getNumThreads"));
  exports.Set("setCpuLinearKernel", Napi::Function::New<SetCpuLinearKernel>(env, "setCpuLinearKernel"));
  exports.Set("getCpuLinearKernel", Napi::Function::New<GetCpuLinearKernel>(env, "getCpuLinearKernel"));
  exports.Set("setGradEnabled", Napi::Function::New<SetGradEnabled>(env, "setGradEnabled"));
  exports.Set("isGradEnabled", Napi::Function::New<IsGradEnabled>(env, "isGradEnabled"));
}

}  // namespace tb
