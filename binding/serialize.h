#pragma once
#include "common.h"

namespace tb {
void InitSerialize(Napi::Env env, Napi::Object exports);
}
