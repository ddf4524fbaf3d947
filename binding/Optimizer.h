// SGD: holds the parameters and their momentum buffers. Hyper-parameters live in
// the TypeScript param groups (so schedulers can read and write them) and come
// in with each step().
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

}  // namespace tb
