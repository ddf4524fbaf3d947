#pragma once
#include "common.h"

namespace tb {
// Registers the caching CPU allocator with libtorch (once per process).
void InstallCpuAllocator();
}
