#pragma once
#include "common.h"

namespace tb {
void InitData(Napi::Env env, Napi::Object exports);
}
