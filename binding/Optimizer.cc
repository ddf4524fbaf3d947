#include "Optimizer.h"

#include <cmath>

#include "Tensor.h"
#include "routes.h"

namespace tb {

Napi::Function SGD::Init(Napi::Env env) {
  return DefineClass(env, "SGD",
                     {
                         InstanceMethod<&SGD::Step>("step"),
                         InstanceMethod("zeroGrad", &SGD::ZeroGrad),
                         InstanceMethod<&SGD::Buffer>("buffer"),
                         InstanceMethod<&SGD::SetBuffer>("setBuffer"),
                         InstanceMethod("dispose", &SGD::Dispose),
                     });
}

// Each shares its TensorImpl with the caller's tensor, so Module.to() and
// setData() reach the optimizer too.
std::vector<at::Tensor> ParamsArg(const Napi::CallbackInfo& info, const char* op) {
  auto params = Tensor::List(info[0], op);
  for (const auto& p : params) {
    TB_THROW_TYPE_IF(!p.is_leaf(), info.Env(), std::string(op) + ": can't optimize a non-leaf Tensor");
  }
  return params;
}

Napi::Value ZeroGrads(const Napi::CallbackInfo& info, std::vector<at::Tensor>& params) {
  auto env = info.Env();
  bool toNone = !info[0].IsBoolean() || info[0].As<Napi::Boolean>().Value();
  TB_TRY
  for (auto& p : params) {
    auto& g = p.mutable_grad();
    if (!g.defined()) continue;
    if (toNone) g.reset();
    else g = g.detach().zero_();
  }
  return env.Undefined();
  TB_CATCH(env, "zeroGrad")
}

namespace {

size_t IndexArg(const Napi::CallbackInfo& info, size_t count, const char* op) {
  double i = TB_NUMBER(info, 0, op);
  TB_THROW_TYPE_IF(!(i >= 0 && i < count && i == static_cast<size_t>(i)), info.Env(),
                   std::string(op) + ": parameter index out of range");
  return static_cast<size_t>(i);
}

// A state tensor loaded from a dict: a copy with its parameter's shape, dtype and device.
at::Tensor StateTensor(const Napi::Value& v, const at::Tensor& param, const char* op, const char* what, size_t i) {
  auto& src = Tensor::From(v, op);
  TORCH_CHECK(src.sizes() == param.sizes(), what, " of parameter ", i, " has shape ", src.sizes(),
              " but its parameter has shape ", param.sizes());
  return src.detach().to(param.options(), false, true);
}

}  // namespace

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

// step(start, end, lr, momentum, dampening, weightDecay, nesterov, maximize, fused = true):
// torch.optim.SGD's update for params [start, end). With `fused`, ATen's fused SGD
// kernel (one pass over memory) where it applies: bit-identical to the per-tensor
// loop without momentum, and within float32 rounding with it (its vectorised
// momentum update rounds differently, about 1 ulp). Otherwise the per-tensor loop,
// op for op torch.optim.SGD's single-tensor path (Python's default on the CPU).
Napi::Value SGD::Step(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  const char* op = "SGD.step";
  CheckLive(op);
  TB_ARGC(info, 8, op);
  double s = TB_NUMBER(info, 0, op), e = TB_NUMBER(info, 1, op);
  double lr = TB_NUMBER(info, 2, op), momentum = TB_NUMBER(info, 3, op), dampening = TB_NUMBER(info, 4, op),
         wd = TB_NUMBER(info, 5, op);
  bool nesterov = TB_BOOL(info, 6, op), maximize = TB_BOOL(info, 7, op);
  bool allowFused = info.Length() < 9 || info[8].IsUndefined() || TB_BOOL(info, 8, op);
  TB_THROW_TYPE_IF(!(s >= 0 && e >= s && e <= params_.size()), env, "SGD.step: bad parameter range");
  TB_TRY
  at::NoGradGuard noGrad;
  std::vector<size_t> live;
  for (size_t i = static_cast<size_t>(s); i < static_cast<size_t>(e); ++i)
    if (params_[i].grad().defined()) live.push_back(i);
  if (live.empty()) return env.Undefined();

  // Fused: every param on one device, dense floats, and momentum buffers all
  // present or all absent (the kernel's is_first_step initialises them).
  bool fused = allowFused, anyBuf = false, allBuf = true;
  for (auto i : live) {
    fused = fused && Fusable(params_[i], state_[i]) && params_[i].device() == params_[live[0]].device();
    anyBuf = anyBuf || state_[i].defined();
    allBuf = allBuf && state_[i].defined();
  }
  fused = fused && (momentum == 0 || anyBuf == allBuf);
  if (fused) {
    std::vector<at::Tensor> ps, gs, bufs;
    for (auto i : live) {
      ps.push_back(params_[i]);
      gs.push_back(params_[i].grad());
      if (momentum != 0) {
        if (!state_[i].defined()) state_[i] = at::empty_like(params_[i].grad());
        bufs.push_back(state_[i]);
      }
    }
    at::_fused_sgd_(ps, gs, bufs, wd, momentum, lr, dampening, nesterov, maximize, /*is_first_step=*/!anyBuf);
    CountRoute(Route::kSgdFused);
    return env.Undefined();
  }
  CountRoute(Route::kSgdPerTensor);
  for (auto i : live) {
    auto& p = params_[i];
    at::Tensor g = maximize ? -p.grad() : p.grad();
    if (wd != 0) g = g.add(p, wd);
    if (momentum != 0) {
      auto& buf = state_[i];
      if (!buf.defined()) buf = g.clone().detach();
      else buf.mul_(momentum).add_(g, 1 - dampening);
      g = nesterov ? g.add(buf, momentum) : buf;
    }
    p.add_(g, -lr);
  }
  return env.Undefined();
  TB_CATCH(env, op)
}

Napi::Value SGD::Buffer(const Napi::CallbackInfo& info) {
  CheckLive("buffer");
  auto& b = state_[IndexArg(info, params_.size(), "buffer")];
  return b.defined() ? Tensor::Wrap(info.Env(), b) : info.Env().Null();
}

// setBuffer(i, tensor|null): loads a momentum buffer (a copy, on the param's device).
Napi::Value SGD::SetBuffer(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  CheckLive("setBuffer");
  size_t i = IndexArg(info, params_.size(), "setBuffer");
  TB_TRY
  if (info[1].IsNull() || info[1].IsUndefined()) {
    state_[i].reset();
  } else {
    state_[i] = StateTensor(info[1], params_[i], "setBuffer", "momentum buffer", i);
  }
  return env.Undefined();
  TB_CATCH(env, "setBuffer")
}

// ------------------------------------------------------------------ Adam

Napi::Function Adam::Init(Napi::Env env) {
  return DefineClass(env, "Adam",
                     {
                         InstanceMethod<&Adam::Step>("step"),
                         InstanceMethod("zeroGrad", &Adam::ZeroGrad),
                         InstanceMethod<&Adam::GetState>("state"),
                         InstanceMethod<&Adam::SetState>("setState"),
                         InstanceMethod("dispose", &Adam::Dispose),
                     });
}

// step(start, end, lr, beta1, beta2, eps, weightDecay, amsgrad, maximize, decoupled):
// torch.optim.Adam's single-tensor update (AdamW's with `decoupled`), op for op,
// so the result is bit-identical to Python's on the CPU.
Napi::Value Adam::Step(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  const char* op = "Adam.step";
  CheckLive(op);
  TB_ARGC(info, 10, op);
  double s = TB_NUMBER(info, 0, op), e = TB_NUMBER(info, 1, op);
  double lr = TB_NUMBER(info, 2, op), beta1 = TB_NUMBER(info, 3, op), beta2 = TB_NUMBER(info, 4, op),
         eps = TB_NUMBER(info, 5, op), wd = TB_NUMBER(info, 6, op);
  bool amsgrad = TB_BOOL(info, 7, op), maximize = TB_BOOL(info, 8, op), decoupled = TB_BOOL(info, 9, op);
  TB_THROW_TYPE_IF(!(s >= 0 && e >= s && e <= params_.size()), env, "Adam.step: bad parameter range");
  TB_TRY
  at::NoGradGuard noGrad;
  for (size_t i = static_cast<size_t>(s); i < static_cast<size_t>(e); ++i) {
    auto& p = params_[i];
    if (!p.grad().defined()) continue;
    auto& st = state_[i];
    if (!st.expAvg.defined()) {
      st.expAvg = at::zeros_like(p, at::MemoryFormat::Preserve);
      st.expAvgSq = at::zeros_like(p, at::MemoryFormat::Preserve);
    }
    if (amsgrad && !st.maxExpAvgSq.defined()) st.maxExpAvgSq = at::zeros_like(p, at::MemoryFormat::Preserve);
    at::Tensor g = maximize ? -p.grad() : p.grad();
    st.step += 1;
    if (wd != 0) {
      if (decoupled) p.mul_(1 - lr * wd);
      else g = g.add(p, wd);
    }
    st.expAvg.lerp_(g, 1 - beta1);
    st.expAvgSq.mul_(beta2).addcmul_(g, g, 1 - beta2);
    double bc1 = 1 - std::pow(beta1, st.step), bc2 = 1 - std::pow(beta2, st.step);
    double stepSize = lr / bc1, bc2Sqrt = std::pow(bc2, 0.5);  // Python: bias_correction2 ** 0.5
    at::Tensor denom;
    if (amsgrad) {
      at::maximum_out(st.maxExpAvgSq, st.maxExpAvgSq, st.expAvgSq);
      denom = (st.maxExpAvgSq.sqrt() / bc2Sqrt).add_(eps);
    } else {
      denom = (st.expAvgSq.sqrt() / bc2Sqrt).add_(eps);
    }
    p.addcdiv_(st.expAvg, denom, -stepSize);
  }
  return env.Undefined();
  TB_CATCH(env, op)
}

// state(i) -> {step, exp_avg, exp_avg_sq, max_exp_avg_sq?} or null before the first step.
Napi::Value Adam::GetState(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  CheckLive("state");
  auto& st = state_[IndexArg(info, params_.size(), "state")];
  if (!st.expAvg.defined()) return env.Null();
  auto out = Napi::Object::New(env);
  out.Set("step", st.step);
  out.Set("exp_avg", Tensor::Wrap(env, st.expAvg));
  out.Set("exp_avg_sq", Tensor::Wrap(env, st.expAvgSq));
  if (st.maxExpAvgSq.defined()) out.Set("max_exp_avg_sq", Tensor::Wrap(env, st.maxExpAvgSq));
  return out;
}

// setState(i, null) clears; setState(i, step, expAvg, expAvgSq, maxExpAvgSq|null) loads copies.
Napi::Value Adam::SetState(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  const char* op = "setState";
  CheckLive(op);
  size_t i = IndexArg(info, params_.size(), op);
  if (info[1].IsNull() || info[1].IsUndefined()) {
    state_[i] = AdamState();
    return env.Undefined();
  }
  TB_ARGC(info, 5, op);
  double step = TB_NUMBER(info, 1, op);
  TB_THROW_TYPE_IF(!(step >= 0 && step == std::floor(step)), env, "setState: step must be a whole number >= 0");
  TB_TRY
  AdamState st;
  st.step = step;
  st.expAvg = StateTensor(info[2], params_[i], op, "exp_avg", i);
  st.expAvgSq = StateTensor(info[3], params_[i], op, "exp_avg_sq", i);
  if (!info[4].IsNull() && !info[4].IsUndefined()) st.maxExpAvgSq = StateTensor(info[4], params_[i], op, "max_exp_avg_sq", i);
  state_[i] = std::move(st);
  return env.Undefined();
  TB_CATCH(env, op)
}

}  // namespace tb
