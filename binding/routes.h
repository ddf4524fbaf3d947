// Which branch the speed-motivated code paths took: SGD's fused or per-tensor
// update, maxPool2d's channels_last or plain route. Counted per thread, so that a
// test can assert that the route it means to check really ran.
#pragma once
#include "common.h"

#include <array>

namespace tb {

enum class Route : int {
  kSgdFused,             // at::_fused_sgd_
  kSgdPerTensor,         // torch.optim.SGD's single-tensor loop, op for op
  kMaxPoolChannelsLast,  // re-laid out to channels_last, handed back NCHW
  kMaxPoolPlain,         // at::max_pool2d on the input as it came
  kMaxPoolAten,          // forced: at::max_pool2d_with_indices, for the tests' reference
  kCount,
};

void CountRoute(Route r);

// This thread's counts so far. A worker thread's counts for one job, taken as the
// difference of two of these, are added to the thread that asked for the job
// (AddRouteCounts), so that a route taken in forwardAsync counts where it was called.
using RouteCountArray = std::array<double, static_cast<size_t>(Route::kCount)>;
RouteCountArray RouteCountsHere();
void AddRouteCounts(const RouteCountArray& delta);

// routeCounts() -> {sgdFused, sgdPerTensor, maxPool2dChannelsLast, maxPool2dPlain, maxPool2dAten}
void InitRoutes(Napi::Env env, Napi::Object exports);

}  // namespace tb
