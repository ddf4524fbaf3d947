#pragma once
#include "common.h"

namespace tb {
void InitAmp(Napi::Env env, Napi::Object exports);
}
