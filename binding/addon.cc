// Entry point: one InstanceData per environment (main thread or worker).
#include "Optimizer.h"
#include "allocator.h"
#include "amp.h"
#include "Tensor.h"
#include "data.h"
#include "device.h"
#include "distributed.h"
#include "functional.h"
#include "plan.h"
#include "routes.h"
#include "serialize.h"

namespace tb {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  InstallCpuAllocator();
  auto* data = new InstanceData();
  env.SetInstanceData(data);
  // Registered before any thread-safe function of this environment, and run in the same
  // pass as their hooks, before Node deletes them.
  env.AddCleanupHook([gate = data->gate] {
    std::lock_guard<std::mutex> lock(gate->mu);
    gate->open = false;
  });
  auto tensor = Tensor::Init(env);
  data->tensorCtor = Napi::Persistent(tensor);
  auto sgd = SGD::Init(env);
  data->sgdCtor = Napi::Persistent(sgd);
  exports.Set("Tensor", tensor);
  exports.Set("SGD", sgd);
  exports.Set("Adam", Adam::Init(env));
  InitFunctional(env, exports);
  InitPlan(env, exports);
  InitData(env, exports);
  InitSerialize(env, exports);
  InitDeviceFns(env, exports);
  InitAmp(env, exports);
  InitRoutes(env, exports);
  InitDistributed(env, exports);
  return exports;
}

}  // namespace tb

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return tb::Init(env, exports); }
NODE_API_MODULE(torchbridge, InitAddon)
