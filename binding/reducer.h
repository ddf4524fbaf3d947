// Reducer: DistributedDataParallel's gradient averaging on c10d. Hooks on the
// parameters start each bucket's all-reduce during backward, as PyTorch's reducer does.
#pragma once
#include "common.h"

namespace tb {
// The Reducer class, for distributed.Reducer (only in builds with distributed).
Napi::Function InitReducer(Napi::Env env);
}  // namespace tb
