// A CPU allocator that keeps large freed blocks for reuse. glibc returns blocks
// over 32 MB to the kernel on free, so a training step that makes fresh 170 MB
// gradients (AlexNet's fc1) page-faults them in again every step. Reusing
// same-size blocks removes that cost; values are untouched, so results are identical.
#include "allocator.h"

#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>

#include <cstdlib>
#include <mutex>
#include <new>
#include <unordered_map>

namespace tb {

namespace {

// Blocks from 64 KB are cached too: in a synchronous training loop, the small
// native objects behind JS handles live until V8 finalizes them and sit between
// glibc's heap chunks, so freed tensors can't be reused or trimmed and RSS grows
// without bound (test/memory.test.ts). Reusing same-size blocks avoids that.
constexpr size_t kMinCached = size_t{64} << 10;
constexpr size_t kGranule = size_t{2} << 20;
constexpr size_t kSmallGranule = size_t{64} << 10;  // rounding below kGranule

// Data pointer and context are the same pointer, as libtorch's raw_allocate
// (used by oneDNN) requires; cached blocks are recognised by address.
class CachingCpuAllocator final : public c10::Allocator {
 public:
  explicit CachingCpuAllocator(size_t limit) : limit_(limit) {}

  c10::DataPtr allocate(size_t n) override {
    void* p = nullptr;
    if (n >= kMinCached) {
      const size_t g = n < kGranule ? kSmallGranule : kGranule;
      size_t size = (n + g - 1) / g * g;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        auto it = free_.find(size);
        if (it != free_.end() && !it->second.empty()) {
          p = it->second.back();
          it->second.pop_back();
          cached_ -= size;
        }
      }
      if (!p) p = c10::alloc_cpu(size);
      try {
        std::lock_guard<std::mutex> lock(mutex_);
        large_[p] = size;
      } catch (...) {
        c10::free_cpu(p);  // no memory to record the block: don't leak it
        throw;
      }
    } else {
      p = c10::alloc_cpu(n);
    }
    return {p, p, &Delete, c10::Device(c10::kCPU)};
  }

  c10::DeleterFnPtr raw_deleter() const override { return &Delete; }

  void copy_data(void* dest, const void* src, std::size_t count) const override {
    default_copy_data(dest, src, count);
  }

  static CachingCpuAllocator* instance;

 private:
  static void Delete(void* p) {
    if (p) instance->Release(p);
  }

  void Release(void* p) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = large_.find(p);
      if (it != large_.end()) {
        size_t size = it->second;
        large_.erase(it);
        if (cached_ + size <= limit_) {
          // A deleter runs in noexcept destructors, so it must not throw: if the
          // free list can't grow, free the block instead of caching it.
          try {
            free_[size].push_back(p);
            cached_ += size;
            return;
          } catch (const std::bad_alloc&) {
          }
        }
      }
    }
    c10::free_cpu(p);
  }

  size_t limit_;
  std::mutex mutex_;
  std::unordered_map<void*, size_t> large_;                  // live large blocks and their sizes
  std::unordered_map<size_t, std::vector<void*>> free_;      // cached blocks by size
  size_t cached_ = 0;
};

CachingCpuAllocator* CachingCpuAllocator::instance = nullptr;

}  // namespace

void InstallCpuAllocator() {
  // Process-wide, like libtorch's own allocator registry; set once even when
  // the addon loads in several worker threads. TORCHBRIDGE_CPU_CACHE_MB=0 disables it.
  static std::once_flag once;
  std::call_once(once, [] {
    const char* env = std::getenv("TORCHBRIDGE_CPU_CACHE_MB");
    long mb = env ? std::strtol(env, nullptr, 10) : 2048;
    if (mb <= 0) return;
    CachingCpuAllocator::instance = new CachingCpuAllocator(static_cast<size_t>(mb) << 20);
    c10::SetCPUAllocator(CachingCpuAllocator::instance, /*priority=*/1);
  });
}

}  // namespace tb
