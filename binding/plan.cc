// forwardAsync: a module's forward, as a plan of layer ops (functional.h), run on
// a libuv worker thread so that the JS thread stays free while libtorch computes.
//
// The plan is parsed on the JS thread into bound ops that hold their own handles
// on the input and the parameters (detach(): same storage, own TensorImpl). The
// JS side may then dispose the model or the input, or start more calls, while
// this one runs: nothing the worker reads is freed or re-pointed under it.
// Parameters are only read. The worker runs under the caller's thread-local
// state (autocast, dispatch keys) with autograd off, and with the caller's
// intra-op thread count, so it takes the routes and kernels the synchronous
// forward takes and returns the same values.
//
// Plans compute one at a time, in the order they were called: each already
// spreads its ops over all intra-op threads, so two side by side only
// oversubscribe the cores (on 2 cores, 3 AlexNet batches in flight took 7.3 s
// side by side against 5.8 s one after another), and the JS thread, competing
// with every runnable compute thread, answered its timers later (p99 57 ms vs 18 ms).
// The calls wait their turn on the JS thread, not in libuv's pool: a waiting
// worker would hold a pool thread that fs, dns and sharp need.
#include "plan.h"

#include <ATen/ThreadLocalState.h>
#include <c10/core/impl/VirtualGuardImpl.h>

#include <condition_variable>
#include <deque>
#include <mutex>

#include "Tensor.h"
#include "functional.h"
#include "routes.h"

namespace tb {

namespace {

struct PlanStep {
  std::string where;  // "forwardAsync: conv2d (conv1.0)": how its errors begin
  BoundOp run;
};

// The arguments a step may have: more are ignored, as a direct call ignores them
// (and a sparse array of length 2**32 - 1 is not walked).
constexpr uint32_t kMaxStepArgs = 16;

// steps[i] = {op, args, module?}
PlanStep ParseStep(Napi::Env env, const Napi::Value& value, uint32_t i) {
  std::string at = "forwardAsync: step " + std::to_string(i);
  TB_THROW_TYPE_IF(!value.IsObject() || value.IsArray(), env, at + " must be an object {op, args, module}");
  auto step = value.As<Napi::Object>();
  auto op = step.Get("op");
  TB_THROW_TYPE_IF(!op.IsString(), env, at + ": op must be a string");
  std::string name = op.As<Napi::String>().Utf8Value();
  TB_THROW_TYPE_IF(!IsLayerOp(name), env, at + ": unknown op '" + name + "'");
  auto module = step.Get("module");
  TB_THROW_TYPE_IF(!module.IsUndefined() && !module.IsString(), env, at + ": module must be a string");
  std::string path = module.IsString() ? module.As<Napi::String>().Utf8Value() : "";
  std::string where = "forwardAsync: " + name + (path.empty() ? "" : " (" + path + ")");
  auto args = step.Get("args");
  TB_THROW_TYPE_IF(!args.IsArray(), env, where + ": args must be an array");
  auto list = args.As<Napi::Array>();
  std::vector<Napi::Value> values;
  for (uint32_t k = 0; k < std::min(list.Length(), kMaxStepArgs); ++k) values.push_back(list.Get(k));
  auto bound = *BindLayerOp(name, OpArgs(env, std::move(values), where, /*onWorker=*/true));
  return {std::move(where), std::move(bound)};
}

// Waits for an accelerator's queued kernels, so that the promise resolves when
// the values exist (reading them then blocks nobody).
void WaitForDevice(const at::Tensor& y) {
  if (!y.is_cuda() && !y.device().is_privateuseone()) return;
  c10::impl::VirtualGuardImpl impl(y.device().type());
  impl.getStream(y.device()).synchronize();
}

// A ticket lock across JS environments (worker_threads share the cores too).
// Within one environment the queue below lets only one worker into the pool at
// a time, so at most one pool thread per environment ever waits here.
class ComputeTurn {
 public:
  ComputeTurn() {
    std::unique_lock<std::mutex> lock(mutex_);
    uint64_t ticket = next_++;
    turn_.wait(lock, [&] { return serving_ == ticket; });
  }
  ~ComputeTurn() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ++serving_;
    }
    turn_.notify_all();
  }
  ComputeTurn(const ComputeTurn&) = delete;
  ComputeTurn& operator=(const ComputeTurn&) = delete;

 private:
  // Never destroyed, as workers of other environments may still wait at exit.
  static inline std::mutex& mutex_ = *new std::mutex();
  static inline std::condition_variable& turn_ = *new std::condition_variable();
  static inline uint64_t next_ = 0, serving_ = 0;
};

// This environment's calls, first come, first served; touched on its JS thread
// only (one JS thread per environment), hence thread_local and no lock.
struct PendingPlans {
  bool running = false;
  std::deque<Napi::AsyncWorker*> waiting;
};
thread_local PendingPlans pending;

// Queues the worker into libuv's pool now if none of this environment's is there.
void StartOrWait(Napi::AsyncWorker* worker) {
  if (pending.running) {
    pending.waiting.push_back(worker);
    return;
  }
  pending.running = true;
  worker->Queue();
}

// A worker finished (on the JS thread): the next one's turn.
void StartNext() {
  if (pending.waiting.empty()) {
    pending.running = false;
    return;
  }
  auto* next = pending.waiting.front();
  pending.waiting.pop_front();
  next->Queue();
}

class ForwardWorker : public Napi::AsyncWorker {
 public:
  // Constructed on the JS thread: tls_ captures the caller's thread-local state.
  ForwardWorker(Napi::Env env, at::Tensor x, std::vector<PlanStep> steps)
      : Napi::AsyncWorker(env, "torchbridge.forwardAsync"), deferred_(Napi::Promise::Deferred::New(env)),
        x_(std::move(x)), steps_(std::move(steps)) {}

  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    auto before = RouteCountsHere();
    const char* where = "forwardAsync";
    try {
      ComputeTurn turn;
      at::ThreadLocalStateGuard callerState(tls_);
      at::NoGradGuard noGrad;
      // OpenMP's thread count is per thread: take the one setNumThreads set (or
      // the default), as the JS thread has it.
      at::init_num_threads();
      at::Tensor y = x_;
      for (const auto& step : steps_) {
        where = step.where.c_str();
        y = step.run(y, !(y.is_same(x_) || y.is_alias_of(x_)));
      }
      where = "forwardAsync";
      WaitForDevice(y);
      y_ = std::move(y);
    } catch (const std::exception& e) {
      SetError(Describe(where, e));
    }
    auto after = RouteCountsHere();
    for (size_t i = 0; i < routes_.size(); ++i) routes_[i] = after[i] - before[i];
    // Let go of the input and parameters here, off the JS thread.
    steps_.clear();
    x_.reset();
  }

  void OnOK() override {
    StartNext();
    AddRouteCounts(routes_);
    try {
      deferred_.Resolve(Tensor::Wrap(Env(), std::move(y_)));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    }
  }

  void OnError(const Napi::Error& e) override {
    StartNext();
    AddRouteCounts(routes_);
    deferred_.Reject(e.Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  at::ThreadLocalState tls_;
  at::Tensor x_;
  std::vector<PlanStep> steps_;
  at::Tensor y_;
  RouteCountArray routes_{};
};

// forwardAsync(x, steps: {op, args, module?}[]) -> Promise<Tensor>. Malformed
// arguments throw here; failures while computing reject the promise.
Napi::Value ForwardAsync(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  const char* op = "forwardAsync";
  TB_ARGC(info, 2, op);
  TB_TRY
  at::Tensor x = Tensor::From(info[0], op).detach();
  TB_THROW_TYPE_IF(!info[1].IsArray(), env, "forwardAsync: steps must be an array");
  auto list = info[1].As<Napi::Array>();
  std::vector<PlanStep> steps;
  for (uint32_t i = 0; i < list.Length(); ++i) steps.push_back(ParseStep(env, list.Get(i), i));
  auto* worker = new ForwardWorker(env, std::move(x), std::move(steps));
  auto promise = worker->Promise();
  StartOrWait(worker);
  return promise;
  TB_CATCH(env, op)
}

}  // namespace

void InitPlan(Napi::Env env, Napi::Object exports) {
  exports.Set("forwardAsync", Napi::Function::New<ForwardAsync>(env, "forwardAsync"));
}

}  // namespace tb
