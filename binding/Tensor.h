// Tensor: one JS object per at::Tensor handle. dispose() frees it now; the
// finalizer is only a backstop. CPU bytes are reported to V8 so GC sees them.
#pragma once
#include "common.h"

namespace tb {

class Tensor : public Napi::ObjectWrap<Tensor> {
 public:
  static Napi::Function Init(Napi::Env env);
  // A new JS Tensor owning `t`.
  static Napi::Object Wrap(Napi::Env env, at::Tensor t);
  // The at::Tensor behind a JS value; throws a JS Error for anything else.
  static at::Tensor& From(const Napi::Value& v, const char* op);
  // The tensors of a JS array of Tensors (sharing their storage).
  static std::vector<at::Tensor> List(const Napi::Value& v, const char* op);
  static bool Is(const Napi::Value& v);

  explicit Tensor(const Napi::CallbackInfo& info);
  ~Tensor() override = default;
  void Finalize(Napi::Env env) override;

  at::Tensor& Get(const char* op);

 private:
  void Set(Napi::Env env, at::Tensor t);
  void Release(Napi::Env env);

  // Factories.
  static Napi::Value FromData(const Napi::CallbackInfo& info);
  static Napi::Value Fill(const Napi::CallbackInfo& info);
  static Napi::Value Random(const Napi::CallbackInfo& info);
  static Napi::Value Arange(const Napi::CallbackInfo& info);
  static Napi::Value Cat(const Napi::CallbackInfo& info);
  static Napi::Value Stack(const Napi::CallbackInfo& info);

  // Properties and life cycle.
  Napi::Value Shape(const Napi::CallbackInfo& info);
  Napi::Value Strides(const Napi::CallbackInfo& info);
  Napi::Value Dtype(const Napi::CallbackInfo& info);
  Napi::Value DeviceOf(const Napi::CallbackInfo& info);
  Napi::Value IsDisposed(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  Napi::Value Data(const Napi::CallbackInfo& info);
  Napi::Value Item(const Napi::CallbackInfo& info);
  Napi::Value To(const Napi::CallbackInfo& info);

  // Autograd.
  Napi::Value RequiresGrad(const Napi::CallbackInfo& info);
  Napi::Value SetRequiresGrad(const Napi::CallbackInfo& info);
  Napi::Value Grad(const Napi::CallbackInfo& info);
  Napi::Value Backward(const Napi::CallbackInfo& info);

  // Math, by family.
  Napi::Value Unary(const Napi::CallbackInfo& info);
  Napi::Value Binary(const Napi::CallbackInfo& info);
  Napi::Value Reduce(const Napi::CallbackInfo& info);
  Napi::Value Shaped(const Napi::CallbackInfo& info);
  Napi::Value Clamp(const Napi::CallbackInfo& info);
  Napi::Value MaxDim(const Napi::CallbackInfo& info);
  Napi::Value IndexSelect(const Napi::CallbackInfo& info);
  Napi::Value Narrow(const Napi::CallbackInfo& info);
  Napi::Value InPlace(const Napi::CallbackInfo& info);
  Napi::Value SetData(const Napi::CallbackInfo& info);

  at::Tensor tensor_;
  int64_t reportedBytes_ = 0;
};

}  // namespace tb
