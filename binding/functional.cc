// nn.functional: the layers' math. Modules themselves live in TypeScript and
// call these with their parameters, as torch.nn modules call torch.nn.functional.
// Each layer op is a binder (arguments -> BoundOp, see functional.h), shared by
// the direct call here and by forwardAsync's plan (plan.cc).
#include "functional.h"

#include <unordered_map>

#include "Tensor.h"
#include "cpu_linear.h"
#include "routes.h"

namespace tb {

// ---- OpArgs ------------------------------------------------------------------

OpArgs::OpArgs(Napi::Env env, std::vector<Napi::Value> values, std::string op, bool onWorker)
    : env_(env), values_(std::move(values)), op_(std::move(op)), onWorker_(onWorker) {}

Napi::Value OpArgs::operator[](size_t i) const {
  return i >= 1 && i - 1 < values_.size() ? values_[i - 1] : env_.Undefined();
}

at::Tensor OpArgs::GetTensor(size_t i) const {
  const at::Tensor& t = Tensor::From((*this)[i], Op());
  return onWorker_ ? t.detach() : t;
}

std::optional<at::Tensor> OpArgs::GetOptTensor(size_t i) const {
  auto v = (*this)[i];
  if (v.IsNull() || v.IsUndefined()) return std::nullopt;
  return GetTensor(i);
}

std::vector<int64_t> OpArgs::GetInts(size_t i, const char* what) const { return IntList((*this)[i], Op(), what); }

double OpArgs::GetNumber(size_t i) const {
  auto v = (*this)[i];
  TB_THROW_TYPE_IF(!v.IsNumber(), env_, ArgError(op_, i, "a number"));
  return v.As<Napi::Number>().DoubleValue();
}

int64_t OpArgs::GetInt(size_t i) const {
  auto v = (*this)[i];
  TB_THROW_TYPE_IF(!v.IsNumber(), env_, ArgError(op_, i, "a number"));
  return v.As<Napi::Number>().Int64Value();
}

bool OpArgs::GetBool(size_t i) const {
  auto v = (*this)[i];
  TB_THROW_TYPE_IF(!v.IsBoolean(), env_, ArgError(op_, i, "a boolean"));
  return v.As<Napi::Boolean>().Value();
}

std::string OpArgs::GetString(size_t i) const {
  auto v = (*this)[i];
  TB_THROW_TYPE_IF(!v.IsString(), env_, ArgError(op_, i, "a string"));
  return v.As<Napi::String>().Utf8Value();
}

namespace {

int64_t Reduction(Napi::Env env, const std::string& r, const char* op) {
  if (r == "mean") return at::Reduction::Mean;
  if (r == "sum") return at::Reduction::Sum;
  if (r == "none") return at::Reduction::None;
  throw Napi::TypeError::New(env, std::string(op) + ": Unknown reduction '" + r + "'");
}

// Whether some output of a convolution sees only padding: the kernel's reach,
// dilation * (size - 1), is less than the padding in a spatial dimension.
bool PaddingOnlyOutputs(const at::Tensor& w, const std::vector<int64_t>& padding, const std::vector<int64_t>& dilation) {
  if (w.dim() != 4 || padding.empty() || dilation.empty()) return false;
  for (int i = 0; i < 2; ++i) {
    int64_t p = padding[padding.size() == 1 ? 0 : i], d = dilation[dilation.size() == 1 ? 0 : i];
    if (static_cast<double>(d) * static_cast<double>(w.size(2 + i) - 1) < static_cast<double>(p)) return true;
  }
  return false;
}

// conv2d(x, weight, bias|null, stride, padding, dilation, groups)
BoundOp BindConv2d(const OpArgs& a) {
  auto w = a.GetTensor(1);
  auto b = a.GetOptTensor(2);
  auto stride = a.GetInts(3, "stride"), padding = a.GetInts(4, "padding"), dilation = a.GetInts(5, "dilation");
  int64_t groups = a.GetInt(6);
  return [=](const at::Tensor& x, bool) {
    if (PaddingOnlyOutputs(w, padding, dilation) &&
        (x.suggest_memory_format() == at::MemoryFormat::ChannelsLast ||
         w.suggest_memory_format() == at::MemoryFormat::ChannelsLast)) {
      // oneDNN's brgemm convolution (libtorch 2.13, AVX-512) segfaults in its
      // channels_last kernel when some outputs see only padding (float32 with a
      // bias, bfloat16 always); torch.nn.functional.conv2d crashes Python too. The
      // NCHW kernel is sound: run that one and hand back channels_last as asked.
      auto y = at::conv2d(x.contiguous(), w.contiguous(), b, stride, padding, dilation, groups);
      return y.contiguous(x.suggest_memory_format());
    }
    return at::conv2d(x, w, b, stride, padding, dilation, groups);
  };
}

// linear(x, weight, bias|null)
BoundOp BindLinear(const OpArgs& a) {
  auto w = a.GetTensor(1);
  auto b = a.GetOptTensor(2);
  return [=](const at::Tensor& x, bool) { return CpuAwareLinear(x, w, b); };
}

// relu(x, inplace): forward plans only; the direct call is Tensor.relu / relu_.
BoundOp BindRelu(const OpArgs& a) {
  bool inplace = a.GetBool(1);
  return [=](const at::Tensor& x, bool mayWriteInput) {
    if (!inplace || !mayWriteInput) return x.relu();
    at::Tensor y = x;
    return y.relu_();
  };
}

// flatten(x, startDim, endDim): forward plans only; the direct call is Tensor.flatten.
BoundOp BindFlatten(const OpArgs& a) {
  int64_t start = a.GetInt(1), end = a.GetInt(2);
  return [=](const at::Tensor& x, bool) { return x.flatten(start, end); };
}

// ATen's NCHW max-pool kernel on the CPU vectorises along the width, 7-15 wide in
// small-image CNNs; its channels_last kernel vectorises along the channels and
// runs 10-20x faster there. Max-pooling only selects values, and both kernels scan
// each window in the same order, so values, indices and gradients stay bit for bit
// the same. The result is handed back NCHW, as it came.
bool PoolInChannelsLast(const at::Tensor& x) {
  return x.device().is_cpu() && x.dim() == 4 && x.size(1) >= 16 && x.size(3) < 64 && x.is_contiguous() &&
         !x.is_contiguous(at::MemoryFormat::ChannelsLast);
}

// maxPool2d(x, kernel, stride, padding, dilation, ceilMode, route = 'auto'):
// route 'aten' skips the choice above and calls ATen's max_pool2d_with_indices on
// x as it is (the tests' reference for the channels_last route).
BoundOp BindMaxPool2d(const OpArgs& a) {
  auto k = a.GetInts(1, "kernelSize"), s = a.GetInts(2, "stride"), p = a.GetInts(3, "padding"),
       d = a.GetInts(4, "dilation");
  bool ceil = a.GetBool(5);
  std::string route = a.Length() < 7 || a[6].IsUndefined() ? "auto" : a.GetString(6);
  TB_THROW_TYPE_IF(route != "auto" && route != "aten", a.Env(), std::string(a.Op()) + ": route must be 'auto' or 'aten'");
  bool aten = route == "aten";
  return [=](const at::Tensor& x, bool) {
    if (aten) {
      auto y = std::get<0>(at::max_pool2d_with_indices(x, k, s, p, d, ceil));
      CountRoute(Route::kMaxPoolAten);
      return y;
    }
    if (PoolInChannelsLast(x)) {
      auto y = at::max_pool2d(x.contiguous(at::MemoryFormat::ChannelsLast), k, s, p, d, ceil);
      CountRoute(Route::kMaxPoolChannelsLast);
      return y.contiguous();
    }
    auto y = at::max_pool2d(x, k, s, p, d, ceil);
    CountRoute(Route::kMaxPoolPlain);
    return y;
  };
}

// avgPool2d(x, kernel, stride, padding, ceilMode, countIncludePad)
BoundOp BindAvgPool2d(const OpArgs& a) {
  auto k = a.GetInts(1, "kernelSize"), s = a.GetInts(2, "stride"), p = a.GetInts(3, "padding");
  bool ceil = a.GetBool(4), countPad = a.GetBool(5);
  return [=](const at::Tensor& x, bool) { return at::avg_pool2d(x, k, s, p, ceil, countPad); };
}

// adaptiveAvgPool2d(x, outputSize)
BoundOp BindAdaptiveAvgPool2d(const OpArgs& a) {
  auto size = a.GetInts(1, "outputSize");
  return [=](const at::Tensor& x, bool) { return at::adaptive_avg_pool2d(x, size); };
}

// This thread's batch shard (setBatchShard): inputs are rows [offset, offset + rows) of a
// batch of `total` rows that other ranks of a data-parallel job hold the rest of.
struct BatchShard {
  int64_t offset = 0, total = 0;  // total 0: none
};
thread_local BatchShard batchShard;

// dropout(x, p, train, inplace): the global generator, as in Python. Within a batch shard, the
// mask is drawn for the whole batch and this shard's rows kept: at::dropout's own steps (CPU:
// bernoulli_, div_, mul) on the whole batch's shape, so that every rank drops exactly what one
// process training the whole batch drops, and the ranks' generators stay equal.
BoundOp BindDropout(const OpArgs& a) {
  double p = a.GetNumber(1);
  bool train = a.GetBool(2), inplace = a.GetBool(3);
  return [=](const at::Tensor& x, bool mayWriteInput) {
    const auto shard = batchShard;
    if (shard.total > 0 && train && p > 0 && p < 1 && x.dim() >= 1 && x.numel() > 0) {
      TORCH_CHECK(shard.offset + x.size(0) <= shard.total, "the input's ", x.size(0), " rows do not fit the batch shard at row ",
                  shard.offset, " of ", shard.total);
      auto shape = x.sizes().vec();
      shape[0] = shard.total;
      at::Tensor noise;
      {
        at::NoGradGuard noGrad;
        noise = at::empty(shape, x.options().requires_grad(false)).bernoulli_(1 - p).narrow(0, shard.offset, x.size(0));
        noise.div_(1 - p);
      }
      if (!inplace || !mayWriteInput) return x * noise;
      at::Tensor y = x;
      return y.mul_(noise);
    }
    if (!inplace || !mayWriteInput) return at::dropout(x, p, train);
    at::Tensor y = x;
    return at::dropout_(y, p, train);
  };
}

// setBatchShard(offset, total) / setBatchShard(): sets (clears) this thread's batch shard.
Napi::Value SetBatchShard(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  const char* op = "setBatchShard";
  if (info.Length() == 0 || info[0].IsNull() || info[0].IsUndefined()) {
    batchShard = BatchShard{};
    return env.Undefined();
  }
  TB_ARGC(info, 2, op);
  int64_t offset = TB_NUMBER(info, 0, op).Int64Value(), total = TB_NUMBER(info, 1, op).Int64Value();
  TB_THROW_TYPE_IF(offset < 0 || total < 1 || offset >= total, env,
                   std::string(op) + ": expected 0 <= offset < total but received offset " + std::to_string(offset) + ", total " +
                       std::to_string(total));
  batchShard = BatchShard{offset, total};
  return env.Undefined();
}

// localResponseNorm(x, size, alpha, beta, k): the same op sequence as
// torch.nn.functional.local_response_norm, so values and gradients match.
BoundOp BindLocalResponseNorm(const OpArgs& a) {
  int64_t size = a.GetInt(1);
  double alpha = a.GetNumber(2), beta = a.GetNumber(3), k = a.GetNumber(4);
  return [=](const at::Tensor& x, bool) {
    TORCH_CHECK(x.dim() >= 3, "Expected 3D or higher dimensionality input (got ", x.dim(), " dimensions)");
    if (x.numel() == 0) return x;
    auto div = x.mul(x);
    if (x.dim() == 3) {
      div = at::constant_pad_nd(div.unsqueeze(1), {0, 0, size / 2, (size - 1) / 2});
      div = at::avg_pool2d(div, {size, 1}, 1).squeeze(1);
    } else {
      auto sizes = x.sizes();
      div = div.view({sizes[0], 1, sizes[1], sizes[2], -1});
      div = at::constant_pad_nd(div, {0, 0, 0, 0, size / 2, (size - 1) / 2});
      div = at::avg_pool3d(div, {size, 1, 1}, 1).squeeze(1);
      div = div.view(sizes);
    }
    div = div.mul(alpha).add(k).pow(beta);
    return x / div;
  };
}

// batchNorm(x, runningMean|null, runningVar|null, weight|null, bias|null, training,
// momentum, eps, inputDims?): with inputDims, x must have that many dimensions
// (BatchNorm2d's check, "expected 4D input (got 2D input)").
BoundOp BindBatchNorm(const OpArgs& a) {
  auto rm = a.GetOptTensor(1), rv = a.GetOptTensor(2), w = a.GetOptTensor(3), b = a.GetOptTensor(4);
  bool training = a.GetBool(5);
  double momentum = a.GetNumber(6), eps = a.GetNumber(7);
  int64_t dims = a[8].IsUndefined() ? -1 : a.GetInt(8);
  // Training updates the running statistics in place: from a worker thread that
  // would race with the JS thread and with other calls in flight.
  if (a.OnWorker() && training && (rm || rv)) {
    throw Napi::Error::New(a.Env(), std::string(a.Op()) +
                                           ": batch norm in training mode updates its running statistics, which a "
                                           "worker thread must not do; call eval() first, or use forward()");
  }
  return [=](const at::Tensor& x, bool) {
    TORCH_CHECK(dims < 0 || x.dim() == dims, "expected ", dims, "D input (got ", x.dim(), "D input)");
    return at::batch_norm(x, w, b, rm, rv, training, momentum, eps, true);
  };
}

using Binder = BoundOp (*)(const OpArgs&);

const std::unordered_map<std::string, Binder>& LayerOps() {
  static const auto* ops = new std::unordered_map<std::string, Binder>{
      {"conv2d", &BindConv2d},
      {"linear", &BindLinear},
      {"relu", &BindRelu},
      {"flatten", &BindFlatten},
      {"maxPool2d", &BindMaxPool2d},
      {"avgPool2d", &BindAvgPool2d},
      {"adaptiveAvgPool2d", &BindAdaptiveAvgPool2d},
      {"dropout", &BindDropout},
      {"localResponseNorm", &BindLocalResponseNorm},
      {"batchNorm", &BindBatchNorm},
  };
  return *ops;
}

// addon.functional.<op>(x, ...args): the bound op, run now on the JS thread.
Napi::Value CallLayerOp(const Napi::CallbackInfo& info, const char* op) {
  auto env = info.Env();
  at::Tensor x = Tensor::From(info[0], op);
  std::vector<Napi::Value> rest;
  for (size_t i = 1; i < info.Length(); ++i) rest.push_back(info[i]);
  auto run = *BindLayerOp(op, OpArgs(env, std::move(rest), op, /*onWorker=*/false));
  TB_TRY
  return Tensor::Wrap(env, run(x, true));
  TB_CATCH(env, op)
}

template <const char* Name>
Napi::Value Direct(const Napi::CallbackInfo& info) {
  return CallLayerOp(info, Name);
}

// crossEntropy(logits, target, weight|null, reduction, ignoreIndex, labelSmoothing)
Napi::Value CrossEntropy(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  const char* op = "crossEntropy";
  auto& x = Tensor::From(info[0], op);
  auto& y = Tensor::From(info[1], op);
  std::optional<at::Tensor> w;
  if (!info[2].IsNull() && !info[2].IsUndefined()) w = Tensor::From(info[2], op);
  auto red = Reduction(env, TB_STRING(info, 3, op), op);
  int64_t ignore = TB_NUMBER(info, 4, op).Int64Value();
  double smoothing = TB_NUMBER(info, 5, op);
  TB_TRY
  return Tensor::Wrap(env, at::cross_entropy_loss(x, y, w, red, ignore, smoothing));
  TB_CATCH(env, op)
}

// The names of the direct calls, as template arguments.
constexpr char kConv2d[] = "conv2d", kLinear[] = "linear", kMaxPool2d[] = "maxPool2d", kAvgPool2d[] = "avgPool2d",
               kAdaptiveAvgPool2d[] = "adaptiveAvgPool2d", kDropout[] = "dropout",
               kLocalResponseNorm[] = "localResponseNorm", kBatchNorm[] = "batchNorm";

}  // namespace

std::optional<BoundOp> BindLayerOp(const std::string& name, const OpArgs& args) {
  auto it = LayerOps().find(name);
  if (it == LayerOps().end()) return std::nullopt;
  return it->second(args);
}

bool IsLayerOp(const std::string& name) { return LayerOps().count(name) > 0; }

void InitFunctional(Napi::Env env, Napi::Object exports) {
  auto f = Napi::Object::New(env);
  f.Set("conv2d", Napi::Function::New<Direct<kConv2d>>(env, kConv2d));
  f.Set("linear", Napi::Function::New<Direct<kLinear>>(env, kLinear));
  f.Set("maxPool2d", Napi::Function::New<Direct<kMaxPool2d>>(env, kMaxPool2d));
  f.Set("avgPool2d", Napi::Function::New<Direct<kAvgPool2d>>(env, kAvgPool2d));
  f.Set("adaptiveAvgPool2d", Napi::Function::New<Direct<kAdaptiveAvgPool2d>>(env, kAdaptiveAvgPool2d));
  f.Set("dropout", Napi::Function::New<Direct<kDropout>>(env, kDropout));
  f.Set("localResponseNorm", Napi::Function::New<Direct<kLocalResponseNorm>>(env, kLocalResponseNorm));
  f.Set("batchNorm", Napi::Function::New<Direct<kBatchNorm>>(env, kBatchNorm));
  f.Set("crossEntropy", Napi::Function::New<CrossEntropy>(env, "crossEntropy"));
  f.Set("setBatchShard", Napi::Function::New<SetBatchShard>(env, "setBatchShard"));
  exports.Set("functional", f);
}

}  // namespace tb
