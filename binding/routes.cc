#include "routes.h"

namespace tb {

namespace {

thread_local RouteCountArray counts{};

const char* const kNames[] = {"sgdFused", "sgdPerTensor", "maxPool2dChannelsLast", "maxPool2dPlain", "maxPool2dAten"};
static_assert(sizeof(kNames) / sizeof(kNames[0]) == static_cast<size_t>(Route::kCount), "one name per route");

Napi::Value RouteCounts(const Napi::CallbackInfo& info) {
  auto out = Napi::Object::New(info.Env());
  for (size_t i = 0; i < counts.size(); ++i) out.Set(kNames[i], counts[i]);
  return out;
}

}  // namespace

void CountRoute(Route r) { counts[static_cast<size_t>(r)] += 1; }

RouteCountArray RouteCountsHere() { return counts; }

void AddRouteCounts(const RouteCountArray& delta) {
  for (size_t i = 0; i < counts.size(); ++i) counts[i] += delta[i];
}

void InitRoutes(Napi::Env env, Napi::Object exports) {
  exports.Set("routeCounts", Napi::Function::New<RouteCounts>(env, "routeCounts"));
}

}  // namespace tb
