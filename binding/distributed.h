// Distributed collectives on c10d, libtorch's own engine: a TCPStore and a
// ProcessGroupGloo, joined through the same PrefixStore path as Python's
// init_process_group, so torchbridge and Python ranks meet in one group.
#pragma once
#include "common.h"

namespace tb {
// distributed: { info(), ProcessGroup }
void InitDistributed(Napi::Env env, Napi::Object exports);
}  // namespace tb
