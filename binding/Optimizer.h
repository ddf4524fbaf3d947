// Optimizers hold the parameters and their per-parameter state (SGD's momentum
// buffers, Adam's moments). Hyper-parameters live in the TypeScript param groups
// (so schedulers can read and write them) and come in with each step().
#pragma once
#include "common.h"

namespace tb {

class SGD : public Napi::ObjectWrap<SGD> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit SGD(const Napi::CallbackInfo& info);

 private:
  Napi::Value Step(const Napi::CallbackInfo& info);
  Napi::Value ZeroGrad(const Napi::CallbackInfo& info);
  Napi::Value Buffer(const Napi::CallbackInfo& info);
  Napi::Value SetBuffer(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  void CheckLive(const char* op);
  size_t Index(const Napi::CallbackInfo& info, const char* op);

  std::vector<at::Tensor> params_;
  std::vector<at::Tensor> buffers_;  // undefined until the first momentum step
  bool disposed_ = false;
};

class Adam : public Napi::ObjectWrap<Adam> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit Adam(const Napi::CallbackInfo& info);

 private:
  struct State {
    double step = 0;  // Python keeps it in a float32 tensor; whole numbers, so exact either way
    at::Tensor expAvg, expAvgSq, maxExpAvgSq;
  };
  Napi::Value Step(const Napi::CallbackInfo& info);
  Napi::Value ZeroGrad(const Napi::CallbackInfo& info);
  Napi::Value GetState(const Napi::CallbackInfo& info);
  Napi::Value SetState(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  void CheckLive(const char* op);

  std::vector<at::Tensor> params_;
  std::vector<State> state_;  // undefined tensors until the first step
  bool disposed_ = false;
};

}  // namespace tb
