// Automatic mixed precision: libtorch's autocast, switched per device type.
#include "amp.h"

#include <ATen/autocast_mode.h>

#include <map>

#include "Tensor.h"

namespace tb {

namespace {

// autocastEnter(deviceType, dtype) -> [wasEnabled, previousDtype]
Napi::Value AutocastEnter(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  const char* op = "autocast";
  auto type = ParseDevice(env, TB_STRING(info, 0, op), op).type();
  auto dtype = ParseDtype(env, TB_STRING(info, 1, op), op);
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
  auto type = ParseDevice(env, TB_STRING(info, 0, op), op).type();
  bool enabled = TB_BOOL(info, 1, op);
  auto dtype = ParseDtype(env, TB_STRING(info, 2, op), op);
  TB_TRY
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  at::autocast::set_autocast_enabled(type, enabled);
  at::autocast::set_autocast_dtype(type, dtype);
  return env.Undefined();
  TB_CATCH(env, op)
}

// ampUnscale(grads: Tensor[], foundInf, invScale): grads *= invScale in place,
// and foundInf becomes 1 if any of them holds an inf or NaN (GradScaler.unscale_).
Napi::Value AmpUnscale(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  const char* op = "GradScaler.unscale";
  TB_ARGC(info, 3, op);
  auto grads = Tensor::List(info[0], op);
  auto& foundInf = Tensor::From(info[1], op);
  auto& invScale = Tensor::From(info[2], op);
  TB_TRY
  at::NoGradGuard noGrad;
  // The kernel wants one device and dtype per call, as Python groups them.
  std::map<std::pair<std::string, at::ScalarType>, std::vector<at::Tensor>> groups;
  for (auto& g : grads) groups[{g.device().str(), g.scalar_type()}].push_back(g);
  for (auto& [key, list] : groups) {
    TORCH_CHECK(list[0].device() == foundInf.device(), "gradients on ", key.first, " but the scale is on ",
                foundInf.device().str());
    at::_amp_foreach_non_finite_check_and_unscale_(list, foundInf, invScale);
  }
  return env.Undefined();
  TB_CATCH(env, op)
}

// ampUpdateScale(scale, growthTracker, foundInf, growthFactor, backoffFactor,
// growthInterval): the scale's backoff and growth, in place (GradScaler.update).
Napi::Value AmpUpdateScale(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  const char* op = "GradScaler.update";
  TB_ARGC(info, 6, op);
  auto& scale = Tensor::From(info[0], op);
  auto& tracker = Tensor::From(info[1], op);
  auto& foundInf = Tensor::From(info[2], op);
  double growth = TB_NUMBER(info, 3, op), backoff = TB_NUMBER(info, 4, op);
  int64_t interval = TB_NUMBER(info, 5, op).Int64Value();
  TB_TRY
  at::NoGradGuard noGrad;
  at::_amp_update_scale_(scale, tracker, foundInf, growth, backoff, interval);
  return env.Undefined();
  TB_CATCH(env, op)
}

}  // namespace

void InitAmp(Napi::Env env, Napi::Object exports) {
  exports.Set("autocastEnter", Napi::Function::New<AutocastEnter>(env, "autocastEnter"));
  exports.Set("autocastExit", Napi::Function::New<AutocastExit>(env, "autocastExit"));
  exports.Set("ampUnscale", Napi::Function::New<AmpUnscale>(env, "ampUnscale"));
  exports.Set("ampUpdateScale", Napi::Function::New<AmpUpdateScale>(env, "ampUpdateScale"));
}

}  // namespace tb
