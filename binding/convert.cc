// Names shared with the TypeScript side: dtypes and devices.
#include "common.h"

#include <cmath>
#include <limits>

namespace tb {

namespace {
const std::pair<const char*, at::ScalarType> kDtypes[] = {
    {"float32", at::kFloat}, {"float64", at::kDouble}, {"float16", at::kHalf}, {"bfloat16", at::kBFloat16},
    {"int64", at::kLong},    {"int32", at::kInt},      {"uint8", at::kByte},   {"bool", at::kBool},
};
}  // namespace

namespace {
std::string Prefix(const char* op) { return op ? std::string(op) + ": " : std::string(); }
}  // namespace

at::ScalarType ParseDtype(Napi::Env env, const std::string& name, const char* op) {
  for (auto& [n, t] : kDtypes)
    if (name == n) return t;
  throw Napi::TypeError::New(env, Prefix(op) + "Unknown dtype '" + name + "'");
}

std::string DtypeName(at::ScalarType t) {
  for (auto& [n, s] : kDtypes)
    if (s == t) return n;
  return c10::toString(t);
}

// 'cpu', 'cuda', 'cuda:1', 'npu', 'npu:0'. npu is libtorch's PrivateUse1 backend,
// which torch_npu registers.
c10::Device ParseDevice(Napi::Env env, const std::string& name, const char* op) {
  auto colon = name.find(':');
  std::string type = name.substr(0, colon);
  int index = -1;
  if (colon != std::string::npos) {
    // All digits and within DeviceIndex (int8): stoi alone would take 'cuda:1x' as
    // 1, and the cast would wrap 'cuda:300' to 44 and 'cuda:-2' to an index that
    // only debug builds of libtorch check.
    auto digits = name.substr(colon + 1);
    bool ok = !digits.empty() && digits.size() <= 9 && digits.find_first_not_of("0123456789") == std::string::npos;
    if (ok) index = std::stoi(digits);
    if (!ok || index > std::numeric_limits<c10::DeviceIndex>::max()) {
      throw Napi::TypeError::New(env, Prefix(op) + "Invalid device '" + name + "'");
    }
  }
  if (type == "cpu") return c10::Device(c10::kCPU);
  if (type == "cuda") return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(index));
  if (type == "npu") return c10::Device(c10::DeviceType::PrivateUse1, static_cast<c10::DeviceIndex>(index));
  throw Napi::TypeError::New(env, Prefix(op) + "Unknown device '" + name + "'");
}

std::string DeviceName(const c10::Device& d) {
  std::string type = d.is_cpu() ? "cpu" : d.is_cuda() ? "cuda" : d.is_privateuseone() ? "npu" : d.str();
  if (d.is_cpu() || !d.has_index()) return type;
  return type + ":" + std::to_string(d.index());
}

std::vector<int64_t> IntList(const Napi::Value& v, const char* op, const char* what) {
  auto env = v.Env();
  TB_THROW_TYPE_IF(!v.IsArray(), env, std::string(op) + ": " + what + " must be an array of integers");
  auto a = v.As<Napi::Array>();
  std::vector<int64_t> out(a.Length());
  for (uint32_t i = 0; i < a.Length(); ++i) {
    auto e = a.Get(i);
    TB_THROW_TYPE_IF(!e.IsNumber(), env, std::string(op) + ": " + what + " must be an array of integers");
    double d = e.As<Napi::Number>().DoubleValue();
    TB_THROW_TYPE_IF(!std::isfinite(d) || std::trunc(d) != d || std::fabs(d) > 9.0e15, env,
                     std::string(op) + ": " + what + " must be an array of integers");
    out[i] = static_cast<int64_t>(d);
  }
  return out;
}

std::vector<double> DoubleList(const Napi::Value& v, const char* op, const char* what) {
  auto env = v.Env();
  TB_THROW_TYPE_IF(!v.IsArray(), env, std::string(op) + ": " + what + " must be an array of numbers");
  auto a = v.As<Napi::Array>();
  std::vector<double> out(a.Length());
  for (uint32_t i = 0; i < a.Length(); ++i) {
    auto e = a.Get(i);
    TB_THROW_TYPE_IF(!e.IsNumber(), env, std::string(op) + ": " + what + " must be an array of numbers");
    out[i] = e.As<Napi::Number>().DoubleValue();
  }
  return out;
}

}  // namespace tb
