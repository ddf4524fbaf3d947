// save/load in PyTorch's own format (torch.save's zip + pickle), so Python's
// torch.load reads our files and we read its files. File I/O and (un)pickling run
// in AsyncWorkers; JS values are converted on the main thread only.
#include "serialize.h"

#include <caffe2/serialize/in_memory_adapter.h>
#include <caffe2/serialize/inline_container.h>
#include <torch/csrc/jit/serialization/export.h>
#include <torch/csrc/jit/serialization/pickle.h>
#include <torch/csrc/jit/serialization/pickler.h>

#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <fstream>
#include <functional>
#include <unordered_map>

#include <algorithm>

#include "Tensor.h"
#include "unpickle.h"

namespace tb {

namespace {

// "0", "17": canonical non-negative integers, as JS array indices are written.
bool IsIndexKey(const std::string& k) {
  if (k.empty() || k.size() > 15 || (k.size() > 1 && k[0] == '0')) return false;
  return std::all_of(k.begin(), k.end(), [](char c) { return c >= '0' && c <= '9'; });
}

c10::IValue ToIValue(const Napi::Value& v, int depth = 0) {
  auto env = v.Env();
  if (depth > 64) throw Napi::Error::New(env, "save: value nested too deeply");
  if (Tensor::Is(v)) return Tensor::From(v, "save").detach();
  if (v.IsNull() || v.IsUndefined()) return c10::IValue();
  if (v.IsBoolean()) return v.As<Napi::Boolean>().Value();
  if (v.IsString()) return v.As<Napi::String>().Utf8Value();
  if (v.IsNumber()) {
    double d = v.As<Napi::Number>().DoubleValue();
    // Integers stay ints (Python reads `epoch` as int); the rest are floats.
    if (std::isfinite(d) && std::trunc(d) == d && std::fabs(d) < 9.0e15) return static_cast<int64_t>(d);
    return d;
  }
  if (v.IsArray()) {
    auto a = v.As<Napi::Array>();
    c10::impl::GenericList list(c10::AnyType::get());
    for (uint32_t i = 0; i < a.Length(); ++i) list.push_back(ToIValue(a.Get(i), depth + 1));
    return list;
  }
  if (v.IsObject() && !v.IsFunction()) {
    auto o = v.As<Napi::Object>();
    auto keys = o.GetPropertyNames();
    std::vector<std::string> names;
    size_t ints = 0;
    for (uint32_t i = 0; i < keys.Length(); ++i) {
      names.push_back(keys.Get(i).As<Napi::String>().Utf8Value());
      ints += IsIndexKey(names.back());
    }
    // JS objects have string keys only; keys like "0" stand for Python's int keys
    // (an optimizer's state dict needs them: torch.optim ignores state under "0").
    c10::TypePtr keyType = c10::AnyType::get();
    if (ints == 0) keyType = c10::StringType::get();
    else if (ints == names.size()) keyType = c10::IntType::get();
    c10::impl::GenericDict dict(keyType, c10::AnyType::get());
    for (const auto& name : names) {
      auto value = ToIValue(o.Get(name), depth + 1);
      if (IsIndexKey(name)) dict.insert(static_cast<int64_t>(std::stoll(name)), std::move(value));
      else dict.insert(name, std::move(value));
    }
    return dict;
  }
  throw Napi::TypeError::New(env, "save: can only save tensors, numbers, strings, booleans, arrays and objects");
}

// Hostile pickles can nest. libtorch's unpickler, IValue's destructor and
// FromIValue recurse once per level: a few hundred KB of nested tuples overflow an
// 8 MB stack, ten bytes make a list that contains itself, and a few hundred bytes
// can share one tuple 2**40 ways. So load() unpickles on a thread whose stack
// grows with the pickle (RunWithStack), refuses values nested deeper than
// kMaxDepth or cyclic (Height), and converts each shared container once.
constexpr size_t kMaxDepth = 1000;

bool IsContainer(const c10::IValue& v) { return v.isList() || v.isTuple() || v.isGenericDict(); }

// Levels of nesting in v (a leaf is 1), up to kMaxDepth + 1, which also stands for
// a cycle. Each container is walked once; recursion stops at kMaxDepth.
size_t Height(const c10::IValue& v, std::unordered_map<const void*, size_t>& memo, size_t level = 0) {
  if (!IsContainer(v)) return 1;
  if (level > kMaxDepth) return kMaxDepth + 1;
  const void* key = v.internalToPointer();
  if (!memo.try_emplace(key, kMaxDepth + 1).second) return memo[key];  // seen, or on the path: a cycle
  size_t h = 0;
  auto visit = [&](const c10::IValue& c) { h = std::max(h, Height(c, memo, level + 1)); };
  if (v.isList()) {
    for (const auto& e : v.toListRef()) visit(e);
  } else if (v.isTuple()) {
    for (const auto& e : v.toTupleRef().elements()) visit(e);
  } else {
    for (const auto& e : v.toGenericDict()) visit(e.key()), visit(e.value());
  }
  return memo[key] = std::min(h + 1, kMaxDepth + 1);
}

// Runs fn on a new thread with a `bytes` stack and waits for it, rethrowing its exception.
void RunWithStack(size_t bytes, const std::function<void()>& fn) {
  struct Job {
    const std::function<void()>* fn;
    std::exception_ptr error;
  } job{&fn, nullptr};
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, bytes);
  pthread_t thread;
  int rc = pthread_create(
      &thread, &attr,
      [](void* p) -> void* {
        auto* j = static_cast<Job*>(p);
        try {
          (*j->fn)();
        } catch (...) {
          j->error = std::current_exception();
        }
        return nullptr;
      },
      &job);
  pthread_attr_destroy(&attr);
  TORCH_CHECK(rc == 0, "cannot start a thread with a ", bytes >> 20, " MB stack: ", std::strerror(rc));
  pthread_join(thread, nullptr);
  if (job.error) std::rethrow_exception(job.error);
}

// Every nesting level costs at least one byte of pickle and under 256 bytes of stack.
size_t StackFor(caffe2::serialize::PyTorchStreamReader& reader) {
  size_t pickle = reader.hasRecord("data.pkl") ? reader.getRecordSize("data.pkl") : 0;
  return (size_t{16} << 20) + 256 * pickle;
}

Napi::Value FromIValue(Napi::Env env, const c10::IValue& v, std::unordered_map<const void*, Napi::Value>& seen) {
  if (IsContainer(v)) {
    // Shared containers stay shared, as in Python, instead of being copied per path.
    auto it = seen.find(v.internalToPointer());
    if (it != seen.end()) return it->second;
  }
  if (v.isTensor()) return Tensor::Wrap(env, v.toTensor());
  if (v.isNone()) return env.Null();
  if (v.isBool()) return Napi::Boolean::New(env, v.toBool());
  if (v.isInt()) return Napi::Number::New(env, static_cast<double>(v.toInt()));
  if (v.isDouble()) return Napi::Number::New(env, v.toDouble());
  if (v.isString()) return Napi::String::New(env, v.toStringRef());
  if (v.isList() || v.isTuple()) {
    auto elems = v.isList() ? v.toListRef().vec() : v.toTupleRef().elements().vec();
    auto a = Napi::Array::New(env, elems.size());
    seen.emplace(v.internalToPointer(), a);
    for (size_t i = 0; i < elems.size(); ++i) a.Set(i, FromIValue(env, elems[i], seen));
    return a;
  }
  if (v.isGenericDict()) {
    auto o = Napi::Object::New(env);
    seen.emplace(v.internalToPointer(), o);
    for (const auto& e : v.toGenericDict()) {
      const auto& k = e.key();
      std::string key = k.isString() ? k.toStringRef() : k.isInt() ? std::to_string(k.toInt()) : "";
      if (key.empty()) throw Napi::Error::New(env, "load: unsupported dict key type " + k.tagKind());
      o.Set(key, FromIValue(env, e.value(), seen));
    }
    return o;
  }
  throw Napi::Error::New(env, "load: unsupported value of type " + v.tagKind());
}

// torch::pickle_save without TorchScript's type tags, which Python's
// weights_only loader refuses: plain dicts, lists and tensors, as torch.save writes.
std::vector<char> PickleSave(const c10::IValue& value) {
  std::vector<char> pickle;
  torch::jit::Pickler pickler([&](const char* buf, size_t n) { pickle.insert(pickle.end(), buf, buf + n); },
                              nullptr, nullptr, nullptr, nullptr, /*tag_aggregates=*/false);
  pickler.protocol();
  pickler.pushIValue(value);
  pickler.stop();
  std::vector<char> out;
  caffe2::serialize::PyTorchStreamWriter writer([&](const void* p, size_t n) {
    auto* b = static_cast<const char*>(p);
    out.insert(out.end(), b, b + n);
    return n;
  });
  torch::jit::writeArchiveAndTensors("data", pickle.data(), pickle.size(), pickler.tensorData(), writer);
  writer.writeEndOfFile();
  return out;
}

// Writes to `path.tmp-PID`, fsyncs, then renames: a crash leaves the old file whole.
void WriteAtomic(const std::string& path, const std::vector<char>& bytes) {
  std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  FILE* f = std::fopen(tmp.c_str(), "wb");
  TORCH_CHECK(f, "cannot open ", tmp, " for writing: ", std::strerror(errno));
  bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  ok = std::fflush(f) == 0 && ok;
  ok = ::fsync(fileno(f)) == 0 && ok;
  ok = std::fclose(f) == 0 && ok;
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    std::remove(tmp.c_str());
    TORCH_CHECK(false, "cannot write ", path, ": ", std::strerror(err));
  }
}

std::vector<char> ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  TORCH_CHECK(in, "cannot open ", path, ": ", std::strerror(errno));
  auto size = in.tellg();
  std::vector<char> bytes(static_cast<size_t>(size));
  in.seekg(0);
  TORCH_CHECK(in.read(bytes.data(), size), "cannot read ", path);
  return bytes;
}

class SaveWorker : public Napi::AsyncWorker {
 public:
  SaveWorker(Napi::Env env, std::string path, c10::IValue value)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), path_(std::move(path)),
        value_(std::move(value)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override {
    try {
      WriteAtomic(path_, PickleSave(value_));
    } catch (const std::exception& e) {
      SetError(Describe("save", e));
    }
    value_ = c10::IValue();  // drop tensor references off the main thread
  }
  void OnOK() override { deferred_.Resolve(Env().Undefined()); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::string path_;
  c10::IValue value_;
};

class LoadWorker : public Napi::AsyncWorker {
 public:
  LoadWorker(Napi::Env env, std::string path)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), path_(std::move(path)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override {
    try {
      auto bytes = ReadAll(path_);
      // One reader, which checks the archive before anything else reads it.
      caffe2::serialize::PyTorchStreamReader reader(
          std::make_shared<caffe2::serialize::MemoryReadAdapter>(bytes.data(), static_cast<off_t>(bytes.size())));
      CheckArchive(reader, bytes.size());
      RunWithStack(StackFor(reader), [&] {
        auto value = LoadArchive(reader);  // not torch::jit::pickle_load: see unpickle.cc
        std::unordered_map<const void*, size_t> memo;
        // Refused values are destroyed here, where the stack is deep enough.
        TORCH_CHECK(Height(value, memo) <= kMaxDepth, "value nested deeper than ", kMaxDepth,
                    " levels or containing itself");
        value_ = std::move(value);
      });
    } catch (const std::exception& e) {
      SetError(Describe("load", e) + " (file " + path_ + ")");
    }
  }
  void OnOK() override {
    try {
      std::unordered_map<const void*, Napi::Value> seen;
      deferred_.Resolve(FromIValue(Env(), value_, seen));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    }
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::string path_;
  c10::IValue value_;
};

// save(path, value) -> Promise<void>
Napi::Value Save(const Napi::CallbackInfo& info) {
  auto path = TB_STRING(info, 0, "save");
  auto* w = new SaveWorker(info.Env(), path, ToIValue(info[1]));
  auto p = w->Promise();
  w->Queue();
  return p;
}

// load(path) -> Promise<value>
Napi::Value Load(const Napi::CallbackInfo& info) {
  auto* w = new LoadWorker(info.Env(), TB_STRING(info, 0, "load"));
  auto p = w->Promise();
  w->Queue();
  return p;
}

}  // namespace

void InitSerialize(Napi::Env env, Napi::Object exports) {
  exports.Set("save", Napi::Function::New<Save>(env, "save"));
  exports.Set("load", Napi::Function::New<Load>(env, "load"));
}

}  // namespace tb
