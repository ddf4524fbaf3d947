// Linear on the CPU through oneDNN. at::linear runs fp32 GEMMs in MKL's sgemm,
// which on AMD CPUs takes a slow generic path (2-3x slower than oneDNN's brgemm
// matmul on the same cores). The forward and both backward GEMMs go through
// libtorch's own mkldnn::_linear_pointwise op, so nothing is compiled here
// against oneDNN. The results are fp32, equal to at::linear's to rounding
// (a different summation order), not bit for bit: SetCpuLinearKernel("blas")
// restores at::linear.
#include "cpu_linear.h"

#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/autocast_mode.h>
#include <torch/csrc/autograd/custom_function.h>

#include <atomic>

namespace tb {

namespace {

std::atomic<bool> useOneDnn{true};

// The op as registered by libtorch, or nullptr where this libtorch lacks it
// (no oneDNN, or older than 2.0).
const c10::OperatorHandle* LinearPointwiseOp() {
  static const c10::OperatorHandle* handle = [] () -> const c10::OperatorHandle* {
    auto op = c10::Dispatcher::singleton().findOp({"mkldnn::_linear_pointwise", ""});
    if (!op || !op->hasKernelForDispatchKey(c10::DispatchKey::CPU)) return nullptr;
    return new c10::OperatorHandle(*op);
  }();
  return handle;
}

// x [N, in] @ w[out, in]^T (+ b). w may be a transposed view.
at::Tensor LinearPointwise(const at::Tensor& x, const at::Tensor& w, const std::optional<at::Tensor>& b) {
  torch::jit::Stack stack;
  stack.reserve(6);
  stack.emplace_back(x);
  stack.emplace_back(w);
  stack.emplace_back(b ? c10::IValue(*b) : c10::IValue());
  stack.emplace_back(std::string("none"));
  stack.emplace_back(c10::List<std::optional<at::Scalar>>());
  stack.emplace_back(c10::IValue());
  LinearPointwiseOp()->callBoxed(&stack);
  return stack.back().toTensor();
}

struct OneDnnLinear : public torch::autograd::Function<OneDnnLinear> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, const at::Tensor& w,
                            const std::optional<at::Tensor>& b) {
    ctx->save_for_backward({x, w});
    ctx->saved_data["bias"] = b.has_value();
    return LinearPointwise(x, w, b);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const auto& x = saved[0];
    const auto& w = saved[1];
    const auto gy = grads[0].contiguous();
    at::Tensor gx, gw, gb;
    if (ctx->needs_input_grad(0)) gx = LinearPointwise(gy, w.t(), std::nullopt);    // gy @ W
    if (ctx->needs_input_grad(1)) gw = LinearPointwise(gy.t(), x.t(), std::nullopt);  // gy^T @ x
    // A missing bias is not an autograd input: its gradient slot stays undefined.
    if (ctx->saved_data["bias"].toBool() && ctx->needs_input_grad(2)) gb = gy.sum(0);
    return {gx, gw, gb};
  }
};

bool OneDnnApplies(const at::Tensor& x, const at::Tensor& w, const std::optional<at::Tensor>& b) {
  if (!useOneDnn.load(std::memory_order_relaxed) || LinearPointwiseOp() == nullptr) return false;
  // oneDNN has no empty primitives; at::linear handles those shapes (and the errors).
  if (x.dim() != 2 || w.dim() != 2 || x.size(1) != w.size(1) || x.numel() == 0 || w.numel() == 0) return false;
  if (!x.device().is_cpu() || !w.device().is_cpu() || x.scalar_type() != at::kFloat ||
      w.scalar_type() != at::kFloat || x.is_mkldnn() || x.is_sparse() || w.is_sparse())
    return false;
  if (b && (!b->device().is_cpu() || b->scalar_type() != at::kFloat || b->dim() != 1 || b->size(0) != w.size(0)))
    return false;
  // Under CPU autocast at::linear casts to the autocast dtype; leave that to it.
  return !at::autocast::is_autocast_enabled(at::kCPU);
}

}  // namespace

at::Tensor CpuAwareLinear(const at::Tensor& x, const at::Tensor& w, const std::optional<at::Tensor>& b) {
  if (!OneDnnApplies(x, w, b)) return at::linear(x, w, b);
  // oneDNN reads memory densely (an expanded bias would be read wrong); the
  // backward's transposed views are then of dense tensors. No-ops for the usual inputs.
  std::optional<at::Tensor> bias;
  if (b) bias = b->contiguous();
  return OneDnnLinear::apply(x.contiguous(), w.contiguous(), bias);
}

void SetCpuLinearKernel(const std::string& kernel) { useOneDnn.store(kernel == "onednn"); }

std::string CpuLinearKernel() { return useOneDnn.load() && LinearPointwiseOp() != nullptr ? "onednn" : "blas"; }

}  // namespace tb
