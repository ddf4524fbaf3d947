// Shared by every translation unit of the addon: libtorch + node-addon-api,
// error translation and argument-checking macros. Precompiled (see CMakeLists.txt).
#pragma once

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/generated/variable_factories.h>
#include <torch/csrc/autograd/grad_mode.h>
// When a worker thread is terminated mid-call, N-API can no longer throw; without
// this, node-addon-api's Error::ThrowAsJavaScriptException throws a C++
// exception from a noexcept callback instead, and std::terminate aborts the process.
#define NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS
#include <napi.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace tb {

// Closed by a cleanup hook when the environment is torn down (process.exit() with a
// worker running, worker.terminate()). Node then deletes thread-safe functions even
// while a native thread still holds one, so such a thread may call or release one only
// holding `mu` with `open` true.
struct EnvGate {
  std::mutex mu;
  bool open = true;
};

// Per-environment state (constructors), kept with SetInstanceData so that the
// addon works in worker threads and has no static constructors.
struct InstanceData {
  Napi::FunctionReference tensorCtor;
  Napi::FunctionReference sgdCtor;
  std::shared_ptr<EnvGate> gate = std::make_shared<EnvGate>();
};

inline InstanceData& Instance(Napi::Env env) { return *env.GetInstanceData<InstanceData>(); }

// libtorch's message without the C++ backtrace, prefixed by the operation's name.
inline std::string Describe(const char* op, const std::exception& e) {
  if (auto* ce = dynamic_cast<const c10::Error*>(&e)) {
    return std::string(op) + ": " + ce->what_without_backtrace();
  }
  return std::string(op) + ": " + e.what();
}

}  // namespace tb

// Wrap a native body so every libtorch failure becomes a JS Error naming `op`.
#define TB_TRY try {
#define TB_CATCH(env, op)                                             \
  }                                                                   \
  catch (const Napi::Error&) {                                        \
    throw;                                                            \
  }                                                                   \
  catch (const std::exception& e) {                                   \
    throw Napi::Error::New(env, tb::Describe(op, e));                 \
  }

// Argument checks for the raw addon. The TypeScript layer validates first with
// friendlier messages; these keep direct callers from crashing the process.
#define TB_THROW_TYPE_IF(cond, env, msg) \
  if (cond) throw Napi::TypeError::New(env, msg)
#define TB_ARGC(info, n, op)                                                       \
  TB_THROW_TYPE_IF((info).Length() < (n), (info).Env(),                            \
                   std::string(op) + ": expected " + std::to_string(n) + " arguments")
#define TB_NUMBER(info, i, op) tb::NumberArg(info, i, op)
#define TB_BOOL(info, i, op) tb::BoolArg(info, i, op)
#define TB_STRING(info, i, op) tb::StringArg(info, i, op)

namespace tb {

inline std::string ArgError(const std::string& op, size_t i, const char* expected) {
  return op + ": argument " + std::to_string(i) + " must be " + expected;
}
inline Napi::Number NumberArg(const Napi::CallbackInfo& info, size_t i, const std::string& op) {
  TB_THROW_TYPE_IF(!info[i].IsNumber(), info.Env(), ArgError(op, i, "a number"));
  return info[i].As<Napi::Number>();
}
inline bool BoolArg(const Napi::CallbackInfo& info, size_t i, const std::string& op) {
  TB_THROW_TYPE_IF(!info[i].IsBoolean(), info.Env(), ArgError(op, i, "a boolean"));
  return info[i].As<Napi::Boolean>().Value();
}
inline std::string StringArg(const Napi::CallbackInfo& info, size_t i, const std::string& op) {
  TB_THROW_TYPE_IF(!info[i].IsString(), info.Env(), ArgError(op, i, "a string"));
  return info[i].As<Napi::String>().Utf8Value();
}

}  // namespace tb

namespace tb {

// Conversions shared by the wrappers (defined in convert.cc). With `op`, a bad
// name's TypeError names the operation: "<op>: Unknown dtype 'x'".
at::ScalarType ParseDtype(Napi::Env env, const std::string& name, const char* op = nullptr);
std::string DtypeName(at::ScalarType t);
c10::Device ParseDevice(Napi::Env env, const std::string& name, const char* op = nullptr);
std::string DeviceName(const c10::Device& d);
std::vector<int64_t> IntList(const Napi::Value& v, const char* op, const char* what);
std::vector<double> DoubleList(const Napi::Value& v, const char* op, const char* what);

}  // namespace tb
