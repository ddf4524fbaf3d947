// Optimizers hold the parameters and their per-parameter state (SGD's momentum
// buffers, Adam's moments). Hyper-parameters live in the TypeScript param groups
// (so schedulers can read and write them) and come in with each step().
#pragma once
#include "common.h"

namespace tb {

// new X(params: Tensor[]): the leaf tensors to optimize.
std::vector<at::Tensor> ParamsArg(const Napi::CallbackInfo& info, const char* op);
// zeroGrad(setToNone): None by default, as PyTorch 2 does.
Napi::Value ZeroGrads(const Napi::CallbackInfo& info, std::vector<at::Tensor>& params);

// What every optimizer holds and does alike: its parameters, one PerParam state
// for each, zeroGrad() and an idempotent dispose(). T is the wrapped class (CRTP).
template <typename T, typename PerParam>
class OptimizerWrap : public Napi::ObjectWrap<T> {
 protected:
  OptimizerWrap(const Napi::CallbackInfo& info, const char* name)
      : Napi::ObjectWrap<T>(info), params_(ParamsArg(info, name)), state_(params_.size()) {}

  void CheckLive(const char* op) {
    if (disposed_) throw Napi::Error::New(this->Env(), std::string(op) + ": Optimizer already disposed");
  }
  Napi::Value ZeroGrad(const Napi::CallbackInfo& info) {
    CheckLive("zeroGrad");
    return ZeroGrads(info, params_);
  }
  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    params_.clear();
    state_.clear();
    disposed_ = true;
    return info.Env().Undefined();
  }

  std::vector<at::Tensor> params_;
  std::vector<PerParam> state_;
  bool disposed_ = false;
};

// SGD's state is the momentum buffer: undefined until the first momentum step.
class SGD : public OptimizerWrap<SGD, at::Tensor> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit SGD(const Napi::CallbackInfo& info) : OptimizerWrap(info, "SGD") {}

 private:
  Napi::Value Step(const Napi::CallbackInfo& info);
  Napi::Value Buffer(const Napi::CallbackInfo& info);
  Napi::Value SetBuffer(const Napi::CallbackInfo& info);
};

struct AdamState {
  double step = 0;  // Python keeps it in a float32 tensor; whole numbers, so exact either way
  at::Tensor expAvg, expAvgSq, maxExpAvgSq;  // undefined until the first step
};

class Adam : public OptimizerWrap<Adam, AdamState> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit Adam(const Napi::CallbackInfo& info) : OptimizerWrap(info, "Adam") {}

 private:
  Napi::Value Step(const Napi::CallbackInfo& info);
  Napi::Value GetState(const Napi::CallbackInfo& info);
  Napi::Value SetState(const Napi::CallbackInfo& info);
};

}  // namespace tb
