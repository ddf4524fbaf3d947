#pragma once
#include "common.h"

namespace tb {
// forwardAsync(x, steps) -> Promise<Tensor>: a module's forward plan on a worker thread.
void InitPlan(Napi::Env env, Napi::Object exports);
}
