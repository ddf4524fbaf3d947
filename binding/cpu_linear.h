// Linear layers on the CPU through oneDNN's matmul instead of the BLAS (MKL)
// that at::linear calls. See cpu_linear.cc for why and when.
#pragma once

#include "common.h"

namespace tb {

// y = x W^T + b, with autograd. Falls back to at::linear where the oneDNN path
// does not apply (not CPU float32, autocast on, no oneDNN, or switched off).
at::Tensor CpuAwareLinear(const at::Tensor& x, const at::Tensor& w, const std::optional<at::Tensor>& b);

// The process-wide switch: "onednn" (default) or "blas" (at::linear, bit for bit
// what Python PyTorch computes).
void SetCpuLinearKernel(const std::string& kernel);
std::string CpuLinearKernel();

}  // namespace tb
