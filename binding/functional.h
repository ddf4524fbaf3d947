// nn.functional's layer ops, each parsed once into a BoundOp that runs on any
// thread: addon.functional.<op>(x, ...) runs it at once, forwardAsync (plan.cc)
// runs a list of them on a worker. One parser and one body per op, so the
// synchronous and the asynchronous forward choose the same kernels.
#pragma once
#include "common.h"

#include <functional>
#include <optional>

namespace tb {

// The arguments of one op after its input: info[1..] of a direct call, or
// args[0..] of a forward-plan step. Indices are those of the direct call (the
// input is 0), so a message reads "conv2d: argument 6 must be a number" either way.
class OpArgs {
 public:
  // `values` are the arguments from index 1. `op` prefixes every message.
  // `onWorker`: the op will run on a worker thread, so tensors are taken as new
  // handles sharing storage (detach()): the JS thread may then dispose, setData or
  // autograd the originals without touching the TensorImpls the worker reads.
  OpArgs(Napi::Env env, std::vector<Napi::Value> values, std::string op, bool onWorker);

  // Like CallbackInfo::Length(): one past the last argument's index.
  size_t Length() const { return values_.size() + 1; }
  // Undefined past the end, as info[i] is.
  Napi::Value operator[](size_t i) const;
  const char* Op() const { return op_.c_str(); }
  Napi::Env Env() const { return env_; }
  bool OnWorker() const { return onWorker_; }

  at::Tensor GetTensor(size_t i) const;
  std::optional<at::Tensor> GetOptTensor(size_t i) const;  // null or undefined: none
  std::vector<int64_t> GetInts(size_t i, const char* what) const;
  double GetNumber(size_t i) const;
  int64_t GetInt(size_t i) const;  // a number, truncated as Napi's Int64Value does
  bool GetBool(size_t i) const;
  std::string GetString(size_t i) const;

 private:
  Napi::Env env_;
  std::vector<Napi::Value> values_;
  std::string op_;
  bool onWorker_;
};

// An op with its arguments bound: y = op(x). Made on the JS thread, run on any.
// mayWriteInput false turns an in-place op (relu_, dropout_) out of place, with
// the same values: a forward plan never writes into its caller's input.
using BoundOp = std::function<at::Tensor(const at::Tensor& x, bool mayWriteInput)>;

// The layer op `name` with `args` bound: conv2d, linear, relu, maxPool2d,
// avgPool2d, adaptiveAvgPool2d, dropout, flatten, localResponseNorm, batchNorm.
// Throws a TypeError naming args.Op() for malformed arguments; an unknown name
// gives std::nullopt.
std::optional<BoundOp> BindLayerOp(const std::string& name, const OpArgs& args);
bool IsLayerOp(const std::string& name);

void InitFunctional(Napi::Env env, Napi::Object exports);

}  // namespace tb
