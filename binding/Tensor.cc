#include "Tensor.h"
#include "npu.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <optional>
#include <unordered_map>

namespace tb {

namespace {

// Marks the JS objects this class constructs. Is() checks the tag rather than the
// prototype chain, which JS can forge (Object.setPrototypeOf, Reflect.construct):
// unwrapping an SGD as a Tensor would read the wrong C++ object.
constexpr napi_type_tag kTensorTag = {0x7a1c3e5b9d2f4a68ULL, 0x91b0c4d7e2f35a16ULL};

int64_t CpuBytes(const at::Tensor& t) {
  return t.defined() && t.device().is_cpu() ? static_cast<int64_t>(t.nbytes()) : 0;
}

at::TensorOptions Options(const Napi::CallbackInfo& info, size_t dtypeArg, const char* op) {
  auto dtype = ParseDtype(info.Env(), TB_STRING(info, dtypeArg, op), op);
  auto device = ParseDevice(info.Env(), TB_STRING(info, dtypeArg + 1, op), op);
  return at::TensorOptions().dtype(dtype).device(device);
}

// Either a Tensor or a JS number, as the second operand of a binary op.
bool IsScalar(const Napi::Value& v) { return v.IsNumber() || v.IsBoolean(); }
// An integral number becomes an integer Scalar, as a Python int would, so that
// int64 * 3 stays int64 (a double Scalar would promote it to float32); any
// other number is a float, as in Python.
at::Scalar ToScalar(const Napi::Value& v, const char* op) {
  if (v.IsBoolean()) return at::Scalar(v.As<Napi::Boolean>().Value());
  TB_THROW_TYPE_IF(!v.IsNumber(), v.Env(), std::string(op) + ": expected a number or a boolean");
  double d = v.As<Napi::Number>().DoubleValue();
  if (std::trunc(d) == d && std::fabs(d) <= 9007199254740992.0) return at::Scalar(static_cast<int64_t>(d));
  return at::Scalar(d);
}

std::optional<at::IntArrayRef> OptDims(const Napi::Value& v, std::vector<int64_t>& store, const char* op) {
  if (v.IsNull() || v.IsUndefined()) return std::nullopt;
  store = IntList(v, op, "dims");
  return at::IntArrayRef(store);
}

}  // namespace

Napi::Function Tensor::Init(Napi::Env env) {
  return DefineClass(
      env, "Tensor",
      {
          StaticMethod<&Tensor::FromData>("fromData"),
          StaticMethod<&Tensor::Fill>("fill"),
          StaticMethod<&Tensor::Random>("random"),
          StaticMethod<&Tensor::Arange>("arange"),
          StaticMethod<&Tensor::Cat>("cat"),
          StaticMethod<&Tensor::Stack>("stack"),
          InstanceMethod<&Tensor::Shape>("shape"),
          InstanceMethod<&Tensor::Strides>("strides"),
          InstanceMethod<&Tensor::Dtype>("dtype"),
          InstanceMethod<&Tensor::DeviceOf>("device"),
          InstanceMethod<&Tensor::IsDisposed>("isDisposed"),
          InstanceMethod<&Tensor::Dispose>("dispose"),
          InstanceMethod<&Tensor::Data>("data"),
          InstanceMethod<&Tensor::Item>("item"),
          InstanceMethod<&Tensor::To>("to"),
          InstanceMethod<&Tensor::RequiresGrad>("requiresGrad"),
          InstanceMethod<&Tensor::SetRequiresGrad>("setRequiresGrad"),
          InstanceMethod<&Tensor::Grad>("grad"),
          InstanceMethod<&Tensor::Backward>("backward"),
          InstanceMethod<&Tensor::Unary>("unary"),
          InstanceMethod<&Tensor::Binary>("binary"),
          InstanceMethod<&Tensor::Reduce>("reduce"),
          InstanceMethod<&Tensor::Shaped>("shaped"),
          InstanceMethod<&Tensor::Clamp>("clamp"),
          InstanceMethod<&Tensor::MaxDim>("maxDim"),
          InstanceMethod<&Tensor::IndexSelect>("indexSelect"),
          InstanceMethod<&Tensor::Narrow>("narrow"),
          InstanceMethod<&Tensor::InPlace>("inPlace"),
          InstanceMethod<&Tensor::SetData>("setData"),
      });
}

Tensor::Tensor(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Tensor>(info) {
  // Only Wrap() constructs tensors; it passes the handle as an External.
  if (info.Length() != 1 || !info[0].IsExternal()) {
    throw Napi::TypeError::New(info.Env(), "Tensor: use a factory (fromData, fill, random, arange)");
  }
  Set(info.Env(), std::move(*info[0].As<Napi::External<at::Tensor>>().Data()));
  info.This().As<Napi::Object>().TypeTag(&kTensorTag);
}

Napi::Object Tensor::Wrap(Napi::Env env, at::Tensor t) {
  return Instance(env).tensorCtor.New({Napi::External<at::Tensor>::New(env, &t)});
}

std::vector<at::Tensor> Tensor::List(const Napi::Value& v, const char* op) {
  TB_THROW_TYPE_IF(!v.IsArray(), v.Env(), std::string(op) + ": expected an array of tensors");
  auto arr = v.As<Napi::Array>();
  std::vector<at::Tensor> out;
  out.reserve(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); ++i) out.push_back(Tensor::From(arr.Get(i), op));
  return out;
}

bool Tensor::Is(const Napi::Value& v) {
  return v.IsObject() && v.As<Napi::Object>().CheckTypeTag(&kTensorTag);
}

at::Tensor& Tensor::From(const Napi::Value& v, const char* op) {
  if (!Is(v)) throw Napi::TypeError::New(v.Env(), std::string(op) + ": expected a Tensor");
  return Unwrap(v.As<Napi::Object>())->Get(op);
}

at::Tensor& Tensor::Get(const char* op) {
  if (!tensor_.defined()) throw Napi::Error::New(Env(), std::string(op) + ": Tensor already disposed");
  return tensor_;
}

void Tensor::Set(Napi::Env env, at::Tensor t) {
  tensor_ = std::move(t);
  reportedBytes_ = CpuBytes(tensor_);
  if (reportedBytes_) Napi::MemoryManagement::AdjustExternalMemory(env, reportedBytes_);
}

void Tensor::Release(Napi::Env env) {
  tensor_.reset();
  if (reportedBytes_) Napi::MemoryManagement::AdjustExternalMemory(env, -reportedBytes_);
  reportedBytes_ = 0;
}

void Tensor::Finalize(Napi::Env env) { Release(env); }

// ---- factories -------------------------------------------------------------

// fromData(typedArray, shape, dtype, device): copies the bytes.
Napi::Value Tensor::FromData(const Napi::CallbackInfo& info) {
  const char* op = "tensor";
  auto env = info.Env();
  TB_ARGC(info, 4, op);
  TB_THROW_TYPE_IF(!info[0].IsTypedArray(), env, "tensor: data must be a TypedArray");
  auto arr = info[0].As<Napi::TypedArray>();
  auto shape = IntList(info[1], op, "shape");
  auto opts = Options(info, 2, op);
  TB_TRY
  auto cpu = at::empty(shape, opts.device(at::kCPU));
  size_t need = cpu.nbytes();
  TB_THROW_TYPE_IF(arr.ByteLength() != need, env,
                   "tensor: data has " + std::to_string(arr.ByteLength()) + " bytes but shape and dtype need " +
                       std::to_string(need));
  auto* src = static_cast<uint8_t*>(arr.ArrayBuffer().Data()) + arr.ByteOffset();
  if (need) std::memcpy(cpu.data_ptr(), src, need);
  return Wrap(env, opts.device().is_cpu() ? cpu : cpu.to(opts.device()));
  TB_CATCH(env, op)
}

// fill(kind, shape, dtype, device, value): zeros, ones, full, empty.
Napi::Value Tensor::Fill(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto kind = TB_STRING(info, 0, "fill");
  auto shape = IntList(info[1], kind.c_str(), "shape");
  auto opts = Options(info, 2, kind.c_str());
  TB_TRY
  if (kind == "zeros") return Wrap(env, at::zeros(shape, opts));
  if (kind == "ones") return Wrap(env, at::ones(shape, opts));
  if (kind == "empty") return Wrap(env, at::empty(shape, opts));
  if (kind == "full") return Wrap(env, at::full(shape, ToScalar(info[4], kind.c_str()), opts));
  throw Napi::TypeError::New(env, "fill: unknown kind " + kind);
  TB_CATCH(env, kind.c_str())
}

// random(kind, shape, dtype, device, a, b, seed?): randn, rand, randint, randperm.
// The global generator, or with a seed a fresh CPU generator seeded as
// torch.Generator().manual_seed(seed), which draws what Python's would.
Napi::Value Tensor::Random(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto kind = TB_STRING(info, 0, "random");
  // kind names the operation in every later message, so it is checked first.
  if (kind != "randn" && kind != "rand" && kind != "randperm" && kind != "randint")
    throw Napi::TypeError::New(env, "random: unknown kind '" + kind + "'; expected randn, rand, randperm or randint");
  auto shape = IntList(info[1], kind.c_str(), "shape");
  auto opts = Options(info, 2, kind.c_str());
  std::optional<at::Generator> gen;
  if (info.Length() > 6 && !info[6].IsUndefined()) {
    double seed = TB_NUMBER(info, 6, kind);
    TB_THROW_TYPE_IF(!(seed >= 0 && seed <= 9007199254740991.0 && std::floor(seed) == seed), env,
                     kind + ": seed must be an integer from 0 to 2**53 - 1");
    gen = at::make_generator<at::CPUGeneratorImpl>(static_cast<uint64_t>(seed));
  }
  TB_TRY
  if (kind == "randn") return Wrap(env, at::randn(shape, gen, opts));
  if (kind == "rand") return Wrap(env, at::rand(shape, gen, opts));
  if (kind == "randperm") return Wrap(env, at::randperm(TB_NUMBER(info, 4, "randperm").Int64Value(), gen, opts));
  // randint, the one kind left
  return Wrap(env, at::randint(TB_NUMBER(info, 4, "randint").Int64Value(),
                                 TB_NUMBER(info, 5, "randint").Int64Value(), shape, gen, opts));
  TB_CATCH(env, kind.c_str())
}

// arange(start, end, step, dtype, device)
Napi::Value Tensor::Arange(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  double start = TB_NUMBER(info, 0, "arange"), end = TB_NUMBER(info, 1, "arange"),
         step = TB_NUMBER(info, 2, "arange");
  auto opts = Options(info, 3, "arange");
  TB_TRY
  return Wrap(env, at::arange(start, end, step, opts));
  TB_CATCH(env, "arange")
}

Napi::Value Tensor::Cat(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto list = Tensor::List(info[0], "cat");
  int64_t dim = TB_NUMBER(info, 1, "cat").Int64Value();
  TB_TRY
  return Wrap(env, at::cat(list, dim));
  TB_CATCH(env, "cat")
}

Napi::Value Tensor::Stack(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto list = Tensor::List(info[0], "stack");
  int64_t dim = TB_NUMBER(info, 1, "stack").Int64Value();
  TB_TRY
  return Wrap(env, at::stack(list, dim));
  TB_CATCH(env, "stack")
}

// ---- properties ------------------------------------------------------------

static Napi::Array ToArray(Napi::Env env, at::IntArrayRef v) {
  auto a = Napi::Array::New(env, v.size());
  for (size_t i = 0; i < v.size(); ++i) a.Set(i, Napi::Number::New(env, static_cast<double>(v[i])));
  return a;
}

Napi::Value Tensor::Shape(const Napi::CallbackInfo& info) { return ToArray(info.Env(), Get("shape").sizes()); }
Napi::Value Tensor::Strides(const Napi::CallbackInfo& info) { return ToArray(info.Env(), Get("strides").strides()); }
Napi::Value Tensor::Dtype(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), DtypeName(Get("dtype").scalar_type()));
}
Napi::Value Tensor::DeviceOf(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), DeviceName(Get("device").device()));
}
Napi::Value Tensor::IsDisposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), !tensor_.defined());
}
Napi::Value Tensor::Dispose(const Napi::CallbackInfo& info) {
  Release(info.Env());  // idempotent
  return info.Env().Undefined();
}

// data(): a TypedArray copy on the CPU. Half types come back as float32.
Napi::Value Tensor::Data(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto& t = Get("data");
  TB_TRY
  auto c = t.detach().to(at::kCPU).contiguous();
  auto st = c.scalar_type();
  if (st == at::kHalf || st == at::kBFloat16) c = c.to(at::kFloat), st = at::kFloat;
  if (st == at::kBool) c = c.to(at::kByte), st = at::kByte;
  auto buf = Napi::ArrayBuffer::New(env, c.nbytes());
  if (c.nbytes()) std::memcpy(buf.Data(), c.data_ptr(), c.nbytes());
  size_t n = c.numel();
  switch (st) {
    case at::kFloat: return Napi::Float32Array::New(env, n, buf, 0);
    case at::kDouble: return Napi::Float64Array::New(env, n, buf, 0);
    case at::kLong: return Napi::BigInt64Array::New(env, n, buf, 0);
    case at::kInt: return Napi::Int32Array::New(env, n, buf, 0);
    case at::kByte: return Napi::Uint8Array::New(env, n, buf, 0);
    default: throw Napi::TypeError::New(env, "data: unsupported dtype " + DtypeName(st));
  }
  TB_CATCH(env, "data")
}

Napi::Value Tensor::Item(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto& t = Get("item");
  TB_TRY
  return Napi::Number::New(env, t.item<double>());
  TB_CATCH(env, "item")
}

// to(device|null, dtype|null, memoryFormat|null)
Napi::Value Tensor::To(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto& t = Get("to");
  TB_TRY
  at::Tensor r = t;
  if (info[0].IsString()) r = r.to(ParseDevice(env, info[0].As<Napi::String>(), "to"));
  if (info[1].IsString()) r = r.to(ParseDtype(env, info[1].As<Napi::String>(), "to"));
  if (info[2].IsString()) {
    auto fmt = info[2].As<Napi::String>().Utf8Value();
    r = r.contiguous(fmt == "channels_last" ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous);
  }
  return Wrap(env, r);
  TB_CATCH(env, "to")
}

// ---- autograd --------------------------------------------------------------

Napi::Value Tensor::RequiresGrad(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), Get("requiresGrad").requires_grad());
}
Napi::Value Tensor::SetRequiresGrad(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  bool flag = TB_BOOL(info, 0, "requiresGrad");
  auto& t = Get("requiresGrad");
  TB_TRY
  t.requires_grad_(flag);
  return env.Undefined();
  TB_CATCH(env, "requiresGrad")
}
Napi::Value Tensor::Grad(const Napi::CallbackInfo& info) {
  auto& g = Get("grad").grad();
  return g.defined() ? Wrap(info.Env(), g) : info.Env().Null();
}
// backward(gradient|null, retainGraph)
Napi::Value Tensor::Backward(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto& t = Get("backward");
  at::Tensor gradient = Is(info[0]) ? From(info[0], "backward") : at::Tensor();
  bool retain = info[1].IsBoolean() && info[1].As<Napi::Boolean>().Value();
  TB_TRY
  npu::BeforeAutograd();
  t.backward(gradient, retain);
  return env.Undefined();
  TB_CATCH(env, "backward")
}

// ---- math ------------------------------------------------------------------

using UnaryFn = at::Tensor (*)(const at::Tensor&);
static const std::unordered_map<std::string, UnaryFn>& UnaryOps() {
  static const auto* ops = new std::unordered_map<std::string, UnaryFn>{
      {"neg", [](const at::Tensor& t) { return t.neg(); }},
      {"exp", [](const at::Tensor& t) { return t.exp(); }},
      {"log", [](const at::Tensor& t) { return t.log(); }},
      {"sqrt", [](const at::Tensor& t) { return t.sqrt(); }},
      {"abs", [](const at::Tensor& t) { return t.abs(); }},
      {"relu", [](const at::Tensor& t) { return t.relu(); }},
      {"sigmoid", [](const at::Tensor& t) { return t.sigmoid(); }},
      {"tanh", [](const at::Tensor& t) { return t.tanh(); }},
      {"contiguous", [](const at::Tensor& t) { return t.contiguous(); }},
      {"clone", [](const at::Tensor& t) { return t.clone(); }},
      {"detach", [](const at::Tensor& t) { return t.detach(); }},
      {"t", [](const at::Tensor& t) { return t.t(); }},
      {"isnan", [](const at::Tensor& t) { return t.isnan(); }},
  };
  return *ops;
}

Napi::Value Tensor::Unary(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto name = TB_STRING(info, 0, "unary");
  auto& t = Get(name.empty() ? "unary" : name.c_str());
  auto it = UnaryOps().find(name);
  TB_THROW_TYPE_IF(it == UnaryOps().end(), env, "unary: unknown op " + name);
  TB_TRY
  return Wrap(env, it->second(t));
  TB_CATCH(env, name.c_str())
}

// binary(name, other: Tensor|number, alpha)
Napi::Value Tensor::Binary(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto name = TB_STRING(info, 0, "binary");
  const char* op = name.empty() ? "binary" : name.c_str();  // errors name the op (the method when it is '')
  auto& a = Get(op);
  bool scalar = IsScalar(info[1]);
  at::Tensor b = scalar ? at::Tensor() : From(info[1], op);
  at::Scalar s = scalar ? ToScalar(info[1], op) : at::Scalar(0);
  at::Scalar alpha = info[2].IsNumber() ? ToScalar(info[2], op) : at::Scalar(1);
  TB_TRY
  at::Tensor r;
  if (name == "add") r = scalar ? a.add(s, alpha) : a.add(b, alpha);
  else if (name == "sub") r = scalar ? a.sub(s, alpha) : a.sub(b, alpha);
  else if (name == "mul") r = scalar ? a.mul(s) : a.mul(b);
  else if (name == "div") r = scalar ? a.div(s) : a.div(b);
  else if (name == "pow") r = scalar ? a.pow(s) : a.pow(b);
  else if (name == "eq") r = scalar ? a.eq(s) : a.eq(b);
  else if (name == "gt") r = scalar ? a.gt(s) : a.gt(b);
  else if (name == "lt") r = scalar ? a.lt(s) : a.lt(b);
  else if (name == "matmul" && !scalar) r = a.matmul(b);
  else throw Napi::TypeError::New(env, "binary: unknown op " + name + (scalar ? " with a number" : ""));
  return Wrap(env, r);
  TB_CATCH(env, op)
}

// reduce(name, dims|null, keepdim): sum, mean, max, min, argmax, softmax, logSoftmax.
Napi::Value Tensor::Reduce(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto name = TB_STRING(info, 0, "reduce");
  const char* op = name.empty() ? "reduce" : name.c_str();  // errors name the op (the method when it is '')
  auto& t = Get(op);
  std::vector<int64_t> store;
  auto dims = OptDims(info[1], store, op);
  bool keep = info[2].IsBoolean() && info[2].As<Napi::Boolean>().Value();
  TB_TRY
  at::Tensor r;
  if (name == "sum") r = dims ? t.sum(*dims, keep) : t.sum();
  else if (name == "mean") r = dims ? t.mean(*dims, keep) : t.mean();
  else if (name == "max" && !dims) r = t.max();
  else if (name == "min" && !dims) r = t.min();
  else if (name == "argmax") r = dims ? t.argmax(store.at(0), keep) : t.argmax();
  else if (name == "softmax" && dims) r = t.softmax(store.at(0));
  else if (name == "logSoftmax" && dims) r = t.log_softmax(store.at(0));
  else throw Napi::TypeError::New(env, "reduce: unsupported " + name);
  return Wrap(env, r);
  TB_CATCH(env, op)
}

// shaped(name, ints): reshape, view, permute, flatten [start, end], transpose [a, b],
// squeeze [dim?], unsqueeze [dim], expand.
Napi::Value Tensor::Shaped(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto name = TB_STRING(info, 0, "shaped");
  const char* op = name.empty() ? "shaped" : name.c_str();  // errors name the op (the method when it is '')
  auto& t = Get(op);
  auto v = IntList(info[1], op, "sizes");
  TB_TRY
  at::Tensor r;
  if (name == "reshape") r = t.reshape(v);
  else if (name == "view") r = t.view(v);
  else if (name == "permute") r = t.permute(v);
  else if (name == "expand") r = t.expand(v);
  else if (name == "flatten" && v.size() == 2) r = t.flatten(v[0], v[1]);
  else if (name == "transpose" && v.size() == 2) r = t.transpose(v[0], v[1]);
  else if (name == "squeeze") r = v.empty() ? t.squeeze() : t.squeeze(v[0]);
  else if (name == "unsqueeze" && v.size() == 1) r = t.unsqueeze(v[0]);
  else throw Napi::TypeError::New(env, "shaped: unsupported " + name);
  return Wrap(env, r);
  TB_CATCH(env, op)
}

// clamp(min|null, max|null)
Napi::Value Tensor::Clamp(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto& t = Get("clamp");
  std::optional<at::Scalar> lo, hi;
  if (info[0].IsNumber()) lo = ToScalar(info[0], "clamp");
  if (info[1].IsNumber()) hi = ToScalar(info[1], "clamp");
  TB_TRY
  return Wrap(env, t.clamp(lo, hi));
  TB_CATCH(env, "clamp")
}

// maxDim(dim, keepdim) -> [values, indices]
Napi::Value Tensor::MaxDim(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  int64_t dim = TB_NUMBER(info, 0, "max").Int64Value();
  bool keep = info[1].IsBoolean() && info[1].As<Napi::Boolean>().Value();
  auto& t = Get("max");
  TB_TRY
  auto [values, indices] = t.max(dim, keep);
  auto out = Napi::Array::New(env, 2);
  out.Set(0u, Wrap(env, values));
  out.Set(1u, Wrap(env, indices));
  return out;
  TB_CATCH(env, "max")
}

Napi::Value Tensor::IndexSelect(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  int64_t dim = TB_NUMBER(info, 0, "indexSelect").Int64Value();
  auto& index = From(info[1], "indexSelect");
  auto& t = Get("indexSelect");
  TB_TRY
  return Wrap(env, t.index_select(dim, index));
  TB_CATCH(env, "indexSelect")
}

Napi::Value Tensor::Narrow(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  int64_t dim = TB_NUMBER(info, 0, "narrow").Int64Value();
  int64_t start = TB_NUMBER(info, 1, "narrow").Int64Value();
  int64_t length = TB_NUMBER(info, 2, "narrow").Int64Value();
  auto& t = Get("narrow");
  TB_TRY
  return Wrap(env, t.narrow(dim, start, length));
  TB_CATCH(env, "narrow")
}

// inPlace(name, a, b): relu_, zero_, fill_ (a), uniform_ (a, b), normal_ (a, b), copy_ (tensor).
// Returns nothing: the JS side keeps its own handle.
Napi::Value Tensor::InPlace(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto name = TB_STRING(info, 0, "inPlace");
  const char* op = name.empty() ? "inPlace" : name.c_str();  // errors name the op (the method when it is '')
  auto& t = Get(op);
  TB_TRY
  if (name == "relu_") t.relu_();
  else if (name == "zero_") t.zero_();
  else if (name == "fill_") t.fill_(ToScalar(info[1], op));
  else if (name == "uniform_") t.uniform_(TB_NUMBER(info, 1, op), TB_NUMBER(info, 2, op));
  else if (name == "normal_") t.normal_(TB_NUMBER(info, 1, op), TB_NUMBER(info, 2, op));
  else if (name == "copy_") t.copy_(From(info[1], op));
  else throw Napi::TypeError::New(env, "inPlace: unknown op " + name);
  return env.Undefined();
  TB_CATCH(env, op)
}

// setData(other): like Python's `param.data = other`; keeps identity and autograd flag.
Napi::Value Tensor::SetData(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto& src = From(info[0], "setData");
  auto& t = Get("setData");
  TB_TRY
  if (t.unsafeGetTensorImpl()->has_compatible_shallow_copy_type(src.key_set())) {
    t.set_data(src);
  } else {
    // set_data can't cross between TensorImpl kinds, such as cpu and PrivateUse1
    // (npu). Python's Module._apply then makes a new Parameter; here the handle
    // takes a new leaf tensor, so the JS object stays the same.
    bool requiresGrad = t.requires_grad();
    t = src.detach();
    if (requiresGrad) t.set_requires_grad(true);
  }
  int64_t bytes = CpuBytes(t);
  if (bytes != reportedBytes_) Napi::MemoryManagement::AdjustExternalMemory(env, bytes - reportedBytes_);
  reportedBytes_ = bytes;
  return env.Undefined();
  TB_CATCH(env, "setData")
}

}  // namespace tb
