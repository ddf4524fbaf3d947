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

namespace {

// The fused kernel trusts that gradient and momentum buffer match the parameter
// element for element. set_data() (Tensor.setData, Module.to) can change a
// parameter's shape under them, and the kernel would then read and write out of
// bounds; such parameters take the per-tensor path, where ATen checks shapes.
bool Fusable(const at::Tensor& p, const at::Tensor& buf) {
  auto t = p.scalar_type();
  const auto& g = p.grad();
  return p.layout() == at::kStrided && g.layout() == at::kStrided && g.device() == p.device() &&
         g.sizes() == p.sizes() && g.scalar_type() == t &&
         (!buf.defined() || (buf.sizes() == p.sizes() && buf.scalar_type() == t && buf.device() == p.device())) &&
         (t == at::kFloat || t == at::kDouble || t == at::kHalf || t == at::kBFloat16);
}

}  // namespace

// step(start, end, lr, momentum, dampening, weightDecay, nesterov, maximize):
// torch.optim.SGD's update for params [start, end). Uses ATen's fused SGD kernel
// (one pass over memory, bit-identical to the per-tensor loop) where it applies.
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
  std::vector<size_t> live;
  for (size_t i = static_cast<size_t>(s); i < static_cast<size_t>(e); ++i)
    if (params_[i].grad().defined()) live.push_back(i);
  if (live.empty()) return env.Undefined();

  // Fused: every param on one device, dense floats, and momentum buffers all
  // present or all absent (the kernel's is_first_step initialises them).
  bool fused = true, anyBuf = false, allBuf = true;
  for (auto i : live) {
    fused = fused && Fusable(params_[i], buffers_[i]) && params_[i].device() == params_[live[0]].device();
    anyBuf = anyBuf || buffers_[i].defined();
    allBuf = allBuf && buffers_[i].defined();
  }
  fused = fused && (momentum == 0 || anyBuf == allBuf);
  if (fused) {
    std::vector<at::Tensor> ps, gs, bufs;
    for (auto i : live) {
      ps.push_back(params_[i]);
      gs.push_back(params_[i].grad());
      if (momentum != 0) {
        if (!buffers_[i].defined()) buffers_[i] = at::empty_like(params_[i].grad());
        bufs.push_back(buffers_[i]);
      }
    }
    at::_fused_sgd_(ps, gs, bufs, wd, momentum, lr, dampening, nesterov, maximize, /*is_first_step=*/!anyBuf);
    return env.Undefined();
  }
  for (auto i : live) {
    auto& p = params_[i];
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
