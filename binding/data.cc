// The batched CIFAR pipeline: gather, pad, random-crop, flip, scale and normalise
// a whole batch in one call, with tensor ops that run on the images' device.
#include "data.h"

#include "Tensor.h"

namespace tb {

namespace {

// An Int32Array with one entry per image, each in [lo, hi], as a long tensor on `dev`.
// Checked on the host so that bad input never reaches a device kernel.
at::Tensor FromInts(const Napi::Value& v, const char* what, size_t n, int64_t lo, int64_t hi,
                    const c10::Device& dev) {
  auto env = v.Env();
  TB_THROW_TYPE_IF(!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array, env,
                   std::string("augmentBatch: ") + what + " must be an Int32Array");
  auto a = v.As<Napi::Int32Array>();
  TB_THROW_TYPE_IF(a.ElementLength() != n, env,
                   std::string("augmentBatch: ") + what + " must have one entry per image");
  for (size_t i = 0; i < n; ++i) {
    if (a[i] < lo || a[i] > hi) {
      throw Napi::RangeError::New(env, std::string("augmentBatch: ") + what + "[" + std::to_string(i) + "] = " +
                                           std::to_string(a[i]) + " is outside [" + std::to_string(lo) + ", " +
                                           std::to_string(hi) + "]");
    }
  }
  return at::from_blob(a.Data(), {static_cast<int64_t>(n)}, at::kInt).to(dev, at::kLong);
}

// augmentBatch(images uint8 [N,C,H,W], indices, tops, lefts, flips (Int32Array each),
//              mean[C], std[C], padding) -> float32 [B,C,H,W].
// Pixel (y, x) of image b is padded[idx[b], c, y + top[b], (flip ? W-1-x : x) + left[b]]
// scaled by 1/255 and normalised: exactly RandomCrop + RandomHorizontalFlip +
// ToTensor + Normalize for the same choices.
Napi::Value AugmentBatch(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  const char* op = "augmentBatch";
  TB_ARGC(info, 8, op);
  auto& images = Tensor::From(info[0], op);
  TB_THROW_TYPE_IF(!info[1].IsTypedArray(), env, "augmentBatch: indices must be an Int32Array");
  size_t b = info[1].As<Napi::TypedArray>().ElementLength();
  auto mean = DoubleList(info[5], op, "mean"), stdev = DoubleList(info[6], op, "std");
  int64_t pad = TB_NUMBER(info, 7, op).Int64Value();
  TB_TRY
  TORCH_CHECK(images.dim() == 4 && images.scalar_type() == at::kByte,
              "images must be a uint8 tensor [N, C, H, W], got ", images.scalar_type(), " ", images.sizes());
  const auto dev = images.device();
  const int64_t C = images.size(1), H = images.size(2), W = images.size(3), B = static_cast<int64_t>(b);
  TORCH_CHECK(static_cast<int64_t>(mean.size()) == C && static_cast<int64_t>(stdev.size()) == C,
              "mean and std need ", C, " values");
  TORCH_CHECK(pad >= 0, "padding must be >= 0");
  auto idx = FromInts(info[1], "indices", b, 0, images.size(0) - 1, dev);
  auto top = FromInts(info[2], "tops", b, 0, 2 * pad, dev), left = FromInts(info[3], "lefts", b, 0, 2 * pad, dev);
  auto flip = FromInts(info[4], "flips", b, 0, 1, dev).ne(0);

  at::NoGradGuard noGrad;
  auto batch = images.index_select(0, idx);
  if (pad > 0) batch = at::constant_pad_nd(batch, {pad, pad, pad, pad}, 0);
  auto ll = at::TensorOptions().dtype(at::kLong).device(dev);
  auto rows = at::arange(H, ll).unsqueeze(0) + top.unsqueeze(1);  // [B, H]
  auto xs = at::arange(W, ll).unsqueeze(0).expand({B, W});
  auto cols = at::where(flip.unsqueeze(1), (W - 1) - xs, xs) + left.unsqueeze(1);  // [B, W]
  c10::List<std::optional<at::Tensor>> index;
  index.push_back(at::arange(B, ll).view({B, 1, 1, 1}));
  index.push_back(at::arange(C, ll).view({1, C, 1, 1}));
  index.push_back(rows.view({B, 1, H, 1}));
  index.push_back(cols.view({B, 1, 1, W}));
  // Divide by a device tensor, not a scalar: CUDA turns x / scalar into x * (1/scalar),
  // which is 1 ulp off torchvision's CPU ToTensor for about half the byte values.
  auto out = at::index(batch, index).to(at::kFloat).div_(at::scalar_tensor(255.0, at::TensorOptions().dtype(at::kFloat).device(dev)));
  auto fopts = at::TensorOptions().dtype(at::kFloat);
  auto m = at::tensor(mean, at::TensorOptions().dtype(at::kDouble)).to(fopts).to(dev).view({1, C, 1, 1});
  auto s = at::tensor(stdev, at::TensorOptions().dtype(at::kDouble)).to(fopts).to(dev).view({1, C, 1, 1});
  return Tensor::Wrap(env, out.sub_(m).div_(s));
  TB_CATCH(env, op)
}

}  // namespace

void InitData(Napi::Env env, Napi::Object exports) {
  exports.Set("augmentBatch", Napi::Function::New<AugmentBatch>(env, "augmentBatch"));
}

}  // namespace tb
