#pragma once
#include "common.h"

namespace tb {
void InitFunctional(Napi::Env env, Napi::Object exports);
}
