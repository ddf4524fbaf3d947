// Distributed collectives on c10d, libtorch's own engine: a TCPStore and a
// ProcessGroupGloo, joined through the same PrefixStore path as Python's
// init_process_group, so torchbridge and Python ranks meet in one group.
#pragma once
#include "common.h"

#ifdef TB_WITH_DISTRIBUTED
#include <torch/csrc/distributed/c10d/Backend.hpp>
#endif

#include <exception>
#include <string>

namespace tb {

// distributed: { info(), ProcessGroup, Reducer }
void InitDistributed(Napi::Env env, Napi::Object exports);

#ifdef TB_WITH_DISTRIBUTED
// The c10d backend of a JS ProcessGroup; throws a JS Error when `v` is none or not initialised.
c10::intrusive_ptr<c10d::Backend> BackendOf(const Napi::Value& v, const char* op);

// c10d's message without the C++ backtrace.
std::string MessageOf(const std::exception_ptr& eptr);

// Drops a reference to a backend when its owner is finalized. Once the process is exiting
// (markProcessExiting()), the backend is left to end with the process instead: its connections
// then close only when the process does, so the peers see this rank's exit as it happens (a
// launcher names the rank that died, not the one that noticed), and exit does not wait in
// ProcessGroupGloo's destructor for collectives whose peers may never join them.
void LetGo(c10::intrusive_ptr<c10d::Backend>& backend);

// A promise settled from any thread (c10d's callback threads): the JS thread gets
// "<op>: <error>" as an Error, or undefined when error is empty.
class Pending {
 public:
  Pending(Napi::Env env, std::string op);
  Napi::Promise Promise() const { return deferred_.Promise(); }
  // Once, from any thread; the object then belongs to the JS thread, which deletes it.
  static void Settle(Pending* p, std::string error);

 private:
  static void OnJsThread(Napi::Env env, Napi::Function, void*, Pending* p);
  using Fn = Napi::TypedThreadSafeFunction<void, Pending, OnJsThread>;
  Napi::Promise::Deferred deferred_;
  Fn fn_;
  std::shared_ptr<EnvGate> gate_;
  std::string op_;
  std::string error_;
};
#endif

}  // namespace tb
