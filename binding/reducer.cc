#include "reducer.h"

#ifdef TB_WITH_DISTRIBUTED
#include <torch/csrc/autograd/function_hook.h>
#include <torch/csrc/autograd/variable.h>

#include <atomic>
#include <memory>
#include <mutex>

#include "Tensor.h"
#include "distributed.h"

namespace tb {

namespace {

// Parameters grouped for one all-reduce each, in a flat buffer.
struct Bucket {
  std::vector<size_t> params;    // indices into State::params
  std::vector<int64_t> offsets;  // where each one starts in buffer
  at::Tensor buffer;
  size_t ready = 0;
  bool launchedInBackward = false;
  c10::intrusive_ptr<c10d::Work> work;
};

// Shared by the Reducer and its hooks (which hold it weakly: a destroyed Reducer's hooks do nothing).
struct State {
  std::mutex mu;
  c10::intrusive_ptr<c10d::Backend> backend;
  std::vector<at::Tensor> params;
  std::vector<size_t> bucketOf, slotOf;
  std::vector<bool> ready;
  std::vector<Bucket> buckets;
  size_t nextLaunch = 0;    // buckets start in order, the same on every rank
  bool finishing = false;   // from finish() until its promise settles
  std::string error;        // from a hook, reported by finish()
  int lastInBackward = 0;   // buckets the last round started during backward

  at::Tensor Slice(size_t i) {
    auto& b = buckets[bucketOf[i]];
    return b.buffer.narrow(0, b.offsets[slotOf[i]], params[i].numel());
  }

  void CopyIn(size_t i) {
    const auto& g = params[i].grad();
    if (g.defined()) {
      Slice(i).copy_(g.reshape(-1));
    } else {
      Slice(i).zero_();  // no gradient on this rank: it contributes zeros
    }
  }

  // The default DDP comm hook: divide by the world size, then sum.
  void Launch(Bucket& b, bool inBackward) {
    b.buffer.div_(backend->getSize());
    c10d::AllreduceOptions opts;
    opts.reduceOp = c10d::ReduceOp(c10d::ReduceOp::SUM);
    std::vector<at::Tensor> tensors{b.buffer};
    b.work = backend->allreduce(tensors, opts);
    b.launchedInBackward = inBackward;
  }

  void LaunchReady(bool inBackward) {
    while (nextLaunch < buckets.size() && buckets[nextLaunch].ready == buckets[nextLaunch].params.size()) {
      Launch(buckets[nextLaunch++], inBackward);
    }
  }

  // A hook: parameter i's gradient has been accumulated. Runs on autograd's thread.
  void OnGrad(size_t i) {
    std::lock_guard<std::mutex> lock(mu);
    if (!error.empty()) return;
    if (finishing) {
      error = "a gradient arrived while the previous synchronizeGradients() was running";
      return;
    }
    if (ready[i]) {
      error = "parameter " + std::to_string(i) + " received a gradient twice before synchronizeGradients() " +
              "(call it after every backward)";
      return;
    }
    try {
      at::NoGradGuard noGrad;
      ready[i] = true;
      CopyIn(i);
      buckets[bucketOf[i]].ready++;
      LaunchReady(true);
    } catch (...) {
      error = MessageOf(std::current_exception());
    }
  }

  void Reset() {
    std::fill(ready.begin(), ready.end(), false);
    for (auto& b : buckets) {
      b.ready = 0;
      b.work.reset();
    }
    nextLaunch = 0;
    error.clear();
  }
};

struct Hook : torch::autograd::PostAccumulateGradHook {
  Hook(std::weak_ptr<State> state, size_t index) : state(std::move(state)), index(index) {}
  void operator()(const torch::autograd::Variable&) override {
    if (auto s = state.lock()) s->OnGrad(index);
  }
  std::weak_ptr<State> state;
  size_t index;
};

class Reducer : public Napi::ObjectWrap<Reducer> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "Reducer",
                       {
                           InstanceMethod<&Reducer::Finish>("finish"),
                           InstanceMethod<&Reducer::FinishBlocking>("finishBlocking"),
                           InstanceMethod<&Reducer::Stats>("stats"),
                           InstanceMethod<&Reducer::Destroy>("destroy"),
                       });
  }

  // new Reducer(processGroup, params, firstBucketBytes, bucketBytes): buckets the parameters in
  // reverse order (backward produces gradients roughly so), the first one small so that
  // communication starts early, as PyTorch's DDP does; hooks each parameter.
  explicit Reducer(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Reducer>(info) {
    auto env = info.Env();
    const char* op = "DistributedDataParallel";
    TB_ARGC(info, 4, op);
    auto backend = BackendOf(info[0], op);
    auto params = Tensor::List(info[1], op);
    int64_t firstCap = TB_NUMBER(info, 2, op).Int64Value(), cap = TB_NUMBER(info, 3, op).Int64Value();
    TB_TRY
    auto s = std::make_shared<State>();
    s->backend = backend;
    s->params = params;
    s->bucketOf.resize(params.size());
    s->slotOf.resize(params.size());
    s->ready.assign(params.size(), false);
    TORCH_CHECK(!params.empty(), "the module has no parameters");
    for (size_t i = 0; i < params.size(); ++i) {
      TORCH_CHECK(params[i].requires_grad() && params[i].is_leaf(), "parameter ", i, " is not a leaf that requires grad");
    }
    int64_t bytes = 0;
    for (size_t k = params.size(); k-- > 0;) {
      const auto& p = params[k];
      bool fresh = s->buckets.empty() || bytes >= (s->buckets.size() == 1 ? firstCap : cap) ||
                   params[s->buckets.back().params.back()].scalar_type() != p.scalar_type() ||
                   params[s->buckets.back().params.back()].device() != p.device();
      if (fresh) {
        s->buckets.emplace_back();
        bytes = 0;
      }
      auto& b = s->buckets.back();
      int64_t offset = b.offsets.empty() ? 0 : b.offsets.back() + params[b.params.back()].numel();
      s->bucketOf[k] = s->buckets.size() - 1;
      s->slotOf[k] = b.params.size();
      b.params.push_back(k);
      b.offsets.push_back(offset);
      bytes += p.numel() * p.element_size();
    }
    for (auto& b : s->buckets) {
      const auto& last = params[b.params.back()];
      b.buffer = at::empty({b.offsets.back() + last.numel()}, last.options().requires_grad(false));
    }
    for (size_t i = 0; i < params.size(); ++i) {
      torch::autograd::impl::set_post_acc_grad_hooks(params[i], std::make_unique<Hook>(s, i));
    }
    state_ = std::move(s);
    TB_CATCH(env, op)
  }

  ~Reducer() override { Unhook(); }

 private:
  void Unhook() {
    if (!state_) return;
    for (auto& p : state_->params) torch::autograd::impl::set_post_acc_grad_hooks(p, nullptr);
    {
      std::lock_guard<std::mutex> lock(state_->mu);
      LetGo(state_->backend);  // a round's callbacks may still hold the state
    }
    state_.reset();
  }

  // Starts the buckets that backward did not (parameters without a gradient count as zeros);
  // the works to wait for, or "" and an error in *error.
  static std::vector<c10::intrusive_ptr<c10d::Work>> Start(State& s, std::string* error) {
    std::vector<c10::intrusive_ptr<c10d::Work>> works;
    std::lock_guard<std::mutex> lock(s.mu);
    if (s.finishing) {
      *error = "the previous synchronizeGradients() has not finished";
      return works;
    }
    if (!s.error.empty()) {
      *error = s.error;
      s.Reset();
      return works;
    }
    try {
      at::NoGradGuard noGrad;
      for (size_t k = s.nextLaunch; k < s.buckets.size(); ++k) {
        auto& b = s.buckets[k];
        for (auto i : b.params) {
          if (!s.ready[i]) s.CopyIn(i);
        }
        b.ready = b.params.size();
      }
      s.LaunchReady(false);
      int inBackward = 0;
      for (auto& b : s.buckets) {
        inBackward += b.launchedInBackward;
        works.push_back(b.work);
      }
      s.lastInBackward = inBackward;
      s.finishing = true;
    } catch (...) {
      *error = MessageOf(std::current_exception());
      s.Reset();  // buckets already started still run; this round is lost on every rank
      works.clear();
    }
    return works;
  }

  // Once every bucket's all-reduce is done: each .grad gets its averaged slice (unless the
  // round failed with `error`), and the reducer is ready for the next backward.
  static std::string End(State& s, std::string error) {
    std::lock_guard<std::mutex> lock(s.mu);
    if (error.empty()) {
      try {
        at::NoGradGuard noGrad;
        for (size_t i = 0; i < s.params.size(); ++i) {
          auto slice = s.Slice(i).view(s.params[i].sizes());
          auto& g = s.params[i].mutable_grad();
          if (g.defined()) {
            g.copy_(slice);
          } else {
            g = slice.clone();
          }
        }
      } catch (...) {
        error = MessageOf(std::current_exception());
      }
    }
    s.Reset();
    s.finishing = false;
    return error;
  }

  // finish() -> Promise<void>: resolves once every parameter's .grad holds the average.
  Napi::Value Finish(const Napi::CallbackInfo& info) {
    auto env = info.Env();
    const char* op = "synchronizeGradients";
    auto d = Napi::Promise::Deferred::New(env);
    std::string error = state_ ? "" : "the DistributedDataParallel was disposed";
    auto s = state_;
    auto works = s ? Start(*s, &error) : std::vector<c10::intrusive_ptr<c10d::Work>>{};
    if (!error.empty()) {
      d.Reject(Napi::Error::New(env, std::string(op) + ": " + error).Value());
      return d.Promise();
    }
    // Outside the lock: a future that is already done runs its callback right here.
    auto* p = new Pending(env, op);
    auto promise = p->Promise();
    auto left = std::make_shared<std::atomic<size_t>>(works.size());
    auto failure = std::make_shared<std::string>();
    auto failureMu = std::make_shared<std::mutex>();
    for (auto& w : works) {
      w->getFuture()->addCallback([s, p, left, failure, failureMu](c10::ivalue::Future& f) {
        if (f.hasError()) {
          std::lock_guard<std::mutex> lock(*failureMu);
          if (failure->empty()) *failure = MessageOf(f.exception_ptr());
        }
        if (--*left > 0) return;
        std::string error;
        {
          std::lock_guard<std::mutex> lock(*failureMu);
          error = *failure;
        }
        Pending::Settle(p, End(*s, std::move(error)));
      });
    }
    return promise;
  }

  // finishBlocking(): finish() that returns when done, blocking this thread (for synchronous
  // training loops, which block on every step anyway); throws on failure.
  Napi::Value FinishBlocking(const Napi::CallbackInfo& info) {
    auto env = info.Env();
    const char* op = "synchronizeGradients";
    std::string error = state_ ? "" : "the DistributedDataParallel was disposed";
    auto s = state_;
    auto works = s ? Start(*s, &error) : std::vector<c10::intrusive_ptr<c10d::Work>>{};
    if (!error.empty()) throw Napi::Error::New(env, std::string(op) + ": " + error);
    for (auto& w : works) {
      try {
        w->wait();
      } catch (...) {
        if (error.empty()) error = MessageOf(std::current_exception());
      }
    }
    error = End(*s, std::move(error));
    if (!error.empty()) throw Napi::Error::New(env, std::string(op) + ": " + error);
    return env.Undefined();
  }

  // stats() -> {buckets, startedInBackward}: how the last round went (for tests of overlap).
  Napi::Value Stats(const Napi::CallbackInfo& info) {
    auto out = Napi::Object::New(info.Env());
    out.Set("buckets", static_cast<double>(state_ ? state_->buckets.size() : 0));
    out.Set("startedInBackward", static_cast<double>(state_ ? state_->lastInBackward : 0));
    return out;
  }

  // destroy(): removes the hooks; idempotent.
  Napi::Value Destroy(const Napi::CallbackInfo& info) {
    Unhook();
    return info.Env().Undefined();
  }

  std::shared_ptr<State> state_;
};

}  // namespace

Napi::Function InitReducer(Napi::Env env) { return Reducer::Init(env); }

}  // namespace tb

#endif  // TB_WITH_DISTRIBUTED
