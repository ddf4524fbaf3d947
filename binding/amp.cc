// Automatic mixed precision: libtorch's autocast, switched per device type.
#include "amp.h"

#include <ATen/autocast_mode.h>

namespace tb {

namespace {

// autocastEnter(deviceType, dtype) -> [wasEnabled, previousDtype]
Napi::Value AutocastEnter(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  const char* op = "autocast";
  auto type = ParseDevice(env, TB_STRING(info, 0, op)).type();
  auto dtype = ParseDtype(env, TB_STRING(info, 1, op));
  TB_THROW_TYPE_IF(dtype != at::kBFloat16 && dtype != at::kHalf, env, "autocast: dtype must be bfloat16 or float16");
  TB_TRY
  auto prev = Napi::Array::New(env, 2);
  prev.Set(0u, at::autocast::is_autocast_enabled(type));
  prev.Set(1u, DtypeName(at::autocast::get_autocast_dtype(type)));
  at::autocast::set_autocast_dtype(type, dtype);
  at::autocast::set_autocast_enabled(type, true);
  at::autocast::increment_nesting();
  return prev;
  TB_CATCH(env, op)
}

// autocastExit(deviceType, wasEnabled, previousDtype): restores the outer state;
// leaving the outermost region clears the cast cache, as Python's does.
Napi::Value AutocastExit(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  const char* op = "autocast";
  auto type = ParseDevice(env, TB_STRING(info, 0, op)).type();
  bool enabled = TB_BOOL(info, 1, op);
  auto dtype = ParseDtype(env, TB_STRING(info, 2, op));
  TB_TRY
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  at::autocast::set_autocast_enabled(type, enabled);
  at::autocast::set_autocast_dtype(type, dtype);
  return env.Undefined();
  TB_CATCH(env, op)
}

}  // namespace

void InitAmp(Napi::Env env, Napi::Object exports) {
  exports.Set("autocastEnter", Napi::Function::New<AutocastEnter>(env, "autocastEnter"));
  exports.Set("autocastExit", Napi::Function::New<AutocastExit>(env, "autocastExit"));
}

}  // namespace tb
