// nn.functional: the layers' math. Modules themselves live in TypeScript and
// call these with their parameters, as torch.nn modules call torch.nn.functional.
#include "functional.h"

#include "Tensor.h"
#include "cpu_linear.h"
#include "routes.h"

namespace tb {

namespace {

std::optional<at::Tensor> OptTensor(const Napi::Value& v, const char* op) {
  if (v.IsNull() || v.IsUndefined()) return std::nullopt;
  return Tensor::From(v, op);
}

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
Napi::Value Conv2d(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  const char* op = "conv2d";
  auto& x = Tensor::From(info[0], op);
  auto& w = Tensor::From(info[1], op);
  auto b = OptTensor(info[2], op);
  auto stride = IntList(info[3], op, "stride"), padding = IntList(info[4], op, "padding"),
       dilation = IntList(info[5], op, "dilation");
  int64_t groups = TB_NUMBER(info, 6, op).Int64Value();
  TB_TRY
  if (PaddingOnlyOutputs(w, padding, dilation) &&
      (x.suggest_memory_format() == at::MemoryFormat::ChannelsLast ||
       w.suggest_memory_format() == at::MemoryFormat::ChannelsLast)) {
    // oneDNN's brgemm convolution (libtorch 2.13, AVX-512) segfaults in its
    // channels_last kernel when some outputs see only padding (float32 with a
    // bias, bfloat16 always); torch.nn.functional.conv2d crashes Python too. The
    // NCHW kernel is sound: run that one and hand back channels_last as asked.
    auto y = at::conv2d(x.contiguous(), w.contiguous(), b, stride, padding, dilation, groups);
    return Tensor::Wrap(env, y.contiguous(x.suggest_memory_format()));
  }
  return Tensor::Wrap(env, at::conv2d(x, w, b, stride, padding, dilation, groups));
  TB_CATCH(env, op)
}

// linear(x, weight, bias|null)
Napi::Value Linear(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  const char* op = "linear";
  auto& x = Tensor::From(info[0], op);
  auto& w = Tensor::From(info[1], op);
  auto b = OptTensor(info[2], op);
  TB_TRY
  return Tensor::Wrap(env, CpuAwareLinear(x, w, b));
  TB_CATCH(env, op)
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
Napi::Value MaxPool2d(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  const char* op = "maxPool2d";
  auto& x = Tensor::From(info[0], op);
  auto k = IntList(info[1], op, "kernelSize"), s = IntList(info[2], op, "stride"),
       p = IntList(info[3], op, "padding"), d = IntList(info[4], op, "dilation");
  bool ceil = TB_BOOL(info, 5, op);
  std::string route = info.Length() < 7 || info[6].IsUndefined() ? "auto" : TB_STRING(info, 6, op);
  TB_THROW_TYPE_IF(route != "auto" && route != "aten", env, "maxPool2d: route must be 'auto' or 'aten'");
  TB_TRY
  if (route == "aten") {
    auto y = std::get<0>(at::max_pool2d_with_indices(x, k, s, p, d, ceil));
    CountRoute(Route::kMaxPoolAten);
    return Tensor::Wrap(env, y);
  }
  if (PoolInChannelsLast(x)) {
    auto y = at::max_pool2d(x.contiguous(at::MemoryFormat::ChannelsLast), k, s, p, d, ceil);
    CountRoute(Route::kMaxPoolChannelsLast);
    return Tensor::Wrap(env, y.contiguous());
  }
  auto y = at::max_pool2d(x, k, s, p, d, ceil);
  CountRoute(Route::kMaxPoolPlain);
  return Tensor::Wrap(env, y);
  TB_CATCH(env, op)
}

// avgPool2d(x, kernel, stride, padding, ceilMode, countIncludePad)
Napi::Value AvgPool2d(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  const char* op = "avgPool2d";
  auto& x = Tensor::From(info[0], op);
  auto k = IntList(info[1], op, "kernelSize"), s = IntList(info[2], op, "stride"),
       p = IntList(info[3], op, "padding");
  bool ceil = TB_BOOL(info, 4, op), countPad = TB_BOOL(info, 5, op);
  TB_TRY
  return Tensor::Wrap(env, at::avg_pool2d(x, k, s, p, ceil, countPad));
  TB_CATCH(env, op)
}

Napi::Value AdaptiveAvgPool2d(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  const char* op = "adaptiveAvgPool2d";
  auto& x = Tensor::From(info[0], op);
  auto size = IntList(info[1], op, "outputSize");
  TB_TRY
  return Tensor::Wrap(env, at::adaptive_avg_pool2d(x, size));
  TB_CATCH(env, op)
}

// dropout(x, p, train, inplace): the global generator, as in Python.
Napi::Value Dropout(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  const char* op = "dropout";
  auto& x = Tensor::From(info[0], op);
  double p = TB_NUMBER(info, 1, op);
  bool train = TB_BOOL(info, 2, op), inplace = TB_BOOL(info, 3, op);
  TB_TRY
  return Tensor::Wrap(env, inplace ? at::dropout_(x, p, train) : at::dropout(x, p, train));
  TB_CATCH(env, op)
}

// localResponseNorm(x, size, alpha, beta, k): the same op sequence as
// torch.nn.functional.local_response_norm, so values and gradients match.
Napi::Value LocalResponseNorm(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  const char* op = "localResponseNorm";
  auto& x = Tensor::From(info[0], op);
  int64_t size = TB_NUMBER(info, 1, op).Int64Value();
  double alpha = TB_NUMBER(info, 2, op), beta = TB_NUMBER(info, 3, op), k = TB_NUMBER(info, 4, op);
  TB_TRY
  TORCH_CHECK(x.dim() >= 3, "Expected 3D or higher dimensionality input (got ", x.dim(), " dimensions)");
  if (x.numel() == 0) return Tensor::Wrap(env, x);
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
  return Tensor::Wrap(env, x / div);
  TB_CATCH(env, op)
}

// batchNorm(x, runningMean|null, runningVar|null, weight|null, bias|null, training, momentum, eps)
Napi::Value BatchNorm(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  const char* op = "batchNorm";
  auto& x = Tensor::From(info[0], op);
  auto rm = OptTensor(info[1], op), rv = OptTensor(info[2], op), w = OptTensor(info[3], op),
       b = OptTensor(info[4], op);
  bool training = TB_BOOL(info, 5, op);
  double momentum = TB_NUMBER(info, 6, op), eps = TB_NUMBER(info, 7, op);
  TB_TRY
  return Tensor::Wrap(env, at::batch_norm(x, w, b, rm, rv, training, momentum, eps, true));
  TB_CATCH(env, op)
}

// crossEntropy(logits, target, weight|null, reduction, ignoreIndex, labelSmoothing)
Napi::Value CrossEntropy(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  const char* op = "crossEntropy";
  auto& x = Tensor::From(info[0], op);
  auto& y = Tensor::From(info[1], op);
  auto w = OptTensor(info[2], op);
  auto red = Reduction(env, TB_STRING(info, 3, op), op);
  int64_t ignore = TB_NUMBER(info, 4, op).Int64Value();
  double smoothing = TB_NUMBER(info, 5, op);
  TB_TRY
  return Tensor::Wrap(env, at::cross_entropy_loss(x, y, w, red, ignore, smoothing));
  TB_CATCH(env, op)
}

}  // namespace

void InitFunctional(Napi::Env env, Napi::Object exports) {
  auto f = Napi::Object::New(env);
  f.Set("conv2d", Napi::Function::New<Conv2d>(env, "conv2d"));
  f.Set("linear", Napi::Function::New<Linear>(env, "linear"));
  f.Set("maxPool2d", Napi::Function::New<MaxPool2d>(env, "maxPool2d"));
  f.Set("avgPool2d", Napi::Function::New<AvgPool2d>(env, "avgPool2d"));
  f.Set("adaptiveAvgPool2d", Napi::Function::New<AdaptiveAvgPool2d>(env, "adaptiveAvgPool2d"));
  f.Set("dropout", Napi::Function::New<Dropout>(env, "dropout"));
  f.Set("localResponseNorm", Napi::Function::New<LocalResponseNorm>(env, "localResponseNorm"));
  f.Set("batchNorm", Napi::Function::New<BatchNorm>(env, "batchNorm"));
  f.Set("crossEntropy", Napi::Function::New<CrossEntropy>(env, "crossEntropy"));
  exports.Set("functional", f);
}

}  // namespace tb
