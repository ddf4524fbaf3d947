#include "Optimizer.h"

#include "Tensor.h"

namespace tb {

Napi::Function SGD::Init(Napi::Env env) {
  return DefineClass(env, "SGD",
                     {
                         InstanceMethod<&SGD::Step>("step"),
                         InstanceMethod<&SGD::ZeroGrad>("zeroGrad"),
                         InstanceMethod<&SGD::Buffer>("buffer"),
                         InstanceMethod<&SGD::SetBuffer>("setBuffer"),
                         InstanceMethod<&SGD::Dispose>("dispose"),
                     });
}

// new SGD(params: Tensor[])
SGD::SGD(const Napi::CallbackInfo& info) : Napi::ObjectWrap<SGD>(info) {
  auto env = info.Env();
  TB_THROW_TYPE_IF(!info[0].IsArray(), env, "SGD: params must be an array of tensors");
  auto arr = info[0].As<Napi::Array>();
  for (uint32_t i = 0; i < arr.Length(); ++i) {
    auto& p = Tensor::From(arr.Get(i), "SGD");
    TB_THROW_TYPE_IF(!p.is_leaf(), env, "SGD: can't optimize a non-leaf Tensor");
    params_.push_back(p);  // shares the TensorImpl: Module.to() updates it in place
  }
  buffers_.resize(params_.size());
}

void SGD::CheckLive(const char* op) {
  if (disposed_) throw Napi::Error::New(Env(), std::string(op) + ": Optimizer already disposed");
}

size_t SGD::Index(const Napi::CallbackInfo& info, const char* op) {
  double i = TB_NUMBER(info, 0, op);
  TB_THROW_TYPE_IF(!(i >= 0 && i < params_.size() && i == static_cast<size_t>(i)), info.Env(),
                   std::string(op) + ": parameter index out of range");
  return static_cast<size_t>(i);
}

// step(start, end, lr, momentum, dampening, weightDecay, nesterov, maximize):
// torch.optim.SGD's single-tensor update for params [start, end).
Napi::Value SGD::Step(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  const char* op = "SGD.step";
  CheckLive(op);
  TB_ARGC(info, 8, op);
  double s = TB_NUMBER(info, 0, op), e = TB_NUMBER(info, 1, op);
  double lr = TB_NUMBER(info, 2, op), momentum = TB_NUMBER(info, 3, op), dampening = TB_NUMBER(info, 4, op),
         wd = TB_NUMBER(info, 5, op);
  bool nesterov = TB_BOOL(info, 6, op), maximize = TB_BOOL(info, 7, op);
  TB_THROW_TYPE_IF(!(s >= 0 && e >= s && e <= params_.size()), env, "SGD.step: bad parameter range");
  TB_TRY
  at::NoGradGuard noGrad;
  for (size_t i = static_cast<size_t>(s); i < static_cast<size_t>(e); ++i) {
    auto& p = params_[i];
    if (!p.grad().defined()) continue;
    at::Tensor g = maximize ? -p.grad() : p.grad();
    if (wd != 0) g = g.add(p, wd);
    if (momentum != 0) {
      auto& buf = buffers_[i];
      if (!buf.defined()) buf = g.clone().detach();
      else buf.mul_(momentum).add_(g, 1 - dampening);
      g = nesterov ? g.add(buf, momentum) : buf;
    }
    p.add_(g, -lr);
  }
  return env.Undefined();
  TB_CATCH(env, op)
}

// zeroGrad(setToNone)
Napi::Value SGD::ZeroGrad(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  CheckLive("zeroGrad");
  bool toNone = !info[0].IsBoolean() || info[0].As<Napi::Boolean>().Value();
  TB_TRY
  for (auto& p : params_) {
    auto& g = p.mutable_grad();
    if (!g.defined()) continue;
    if (toNone) g.reset();
    else g = g.detach().zero_();
  }
  return env.Undefined();
  TB_CATCH(env, "zeroGrad")
}

Napi::Value SGD::Buffer(const Napi::CallbackInfo& info) {
  CheckLive("buffer");
  auto& b = buffers_[Index(info, "buffer")];
  return b.defined() ? Tensor::Wrap(info.Env(), b) : info.Env().Null();
}

// setBuffer(i, tensor|null): loads a momentum buffer (a copy, on the param's device).
Napi::Value SGD::SetBuffer(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  CheckLive("setBuffer");
  size_t i = Index(info, "setBuffer");
  TB_TRY
  if (info[1].IsNull() || info[1].IsUndefined()) {
    buffers_[i].reset();
  } else {
    auto& src = Tensor::From(info[1], "setBuffer");
    TORCH_CHECK(src.sizes() == params_[i].sizes(), "momentum buffer ", i, " has shape ", src.sizes(),
                " but its parameter has shape ", params_[i].sizes());
    buffers_[i] = src.detach().to(params_[i].options(), false, true);
  }
  return env.Undefined();
  TB_CATCH(env, "setBuffer")
}

Napi::Value SGD::Dispose(const Napi::CallbackInfo& info) {
  params_.clear();
  buffers_.clear();
  disposed_ = true;
  return info.Env().Undefined();
}

}  // namespace tb
