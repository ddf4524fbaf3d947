#pragma once
#include "common.h"

namespace tb {
void InitDeviceFns(Napi::Env env, Napi::Object exports);
}
