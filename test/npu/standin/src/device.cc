// The stand-in's device: PrivateUse1 named "npu", a guard, a host-memory
// allocator, per-device generators and the PrivateUse1 hooks. Modelled on
// PyTorch's OpenReg extension and on torch_npu's NPUGuardImpl /
// NPUHooksInterface, with host memory in place of CANN.
#include "standin.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/detail/PrivateUse1HooksInterface.h>
#include <ATen/native/Resize.h>
#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>
#include <c10/core/DeviceType.h>
#include <c10/core/impl/DeviceGuardImplInterface.h>
#include <c10/core/impl/alloc_cpu.h>
#include <c10/util/Exception.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <map>
#include <mutex>
#include <set>
#include <vector>

namespace torchbridge_standin {

void register_kernels();  // kernels.cc
void register_autocast();  // autocast.cc

// ---------------------------------------------------------------- devices

namespace {

constexpr long kMaxDevices = 64;

// Parses a non-negative decimal; false for anything else (no exceptions).
bool parse_index(const std::string& s, long* out) {
  size_t b = s.find_first_not_of(" \t");
  size_t e = s.find_last_not_of(" \t");
  if (b == std::string::npos) return false;
  std::string t = s.substr(b, e - b + 1);
  char* end = nullptr;
  errno = 0;
  long v = std::strtol(t.c_str(), &end, 10);
  if (errno != 0 || end == t.c_str() || *end != '\0' || v < 0) return false;
  *out = v;
  return true;
}

c10::DeviceIndex compute_device_count() noexcept {
  try {
    long physical = 2;
    if (const char* env = std::getenv("TORCHBRIDGE_STANDIN_NPU_DEVICES")) {
      long v = 0;
      if (parse_index(env, &v)) physical = std::min(v, kMaxDevices);
    }
    // As CANN does: the listed physical ids become devices 0..n-1; ids that
    // do not exist are skipped. Unset or empty: all devices are visible.
    const char* vis = std::getenv("ASCEND_RT_VISIBLE_DEVICES");
    if (vis == nullptr || *vis == '\0') return static_cast<c10::DeviceIndex>(physical);
    std::set<long> seen;
    std::string list(vis);
    size_t start = 0;
    while (start <= list.size()) {
      size_t comma = list.find(',', start);
      if (comma == std::string::npos) comma = list.size();
      long id = 0;
      if (parse_index(list.substr(start, comma - start), &id) && id < physical) seen.insert(id);
      start = comma + 1;
    }
    return static_cast<c10::DeviceIndex>(seen.size());
  } catch (...) {
    return 0;
  }
}

std::atomic<c10::DeviceIndex> g_default_device{0};
thread_local c10::DeviceIndex t_current_device = -1;  // -1: use the default
std::atomic<bool> g_initialised{false};

std::string& load_error_storage() {
  static std::string msg;
  return msg;
}

} // namespace

c10::DeviceIndex device_count() noexcept {
  static const c10::DeviceIndex count = compute_device_count();
  return count;
}

void check_device_index(int64_t index) {
  const auto count = device_count();
  TORCH_CHECK(
      index >= 0 && index < count,
      "npu (stand-in): invalid device index ", index, ": there ",
      count == 1 ? "is " : "are ", static_cast<int>(count), " npu device",
      count == 1 ? "" : "s",
      " (TORCHBRIDGE_STANDIN_NPU_DEVICES / ASCEND_RT_VISIBLE_DEVICES)");
}

c10::DeviceIndex current_device() noexcept {
  return t_current_device >= 0 ? t_current_device : g_default_device.load();
}

void set_device(c10::DeviceIndex index) {
  check_device_index(index);
  t_current_device = index;
}

void set_device_unchecked(c10::DeviceIndex index) noexcept {
  t_current_device = index;
}

void set_default_device(c10::DeviceIndex index) {
  check_device_index(index);
  g_default_device = index;
  t_current_device = index;
}

bool is_initialised() noexcept {
  return g_initialised.load();
}

void set_initialised(bool value) noexcept {
  g_initialised = value;
}

const std::string& load_error() noexcept {
  return load_error_storage();
}

void set_load_error(const std::string& msg) noexcept {
  try {
    load_error_storage() = msg;
  } catch (...) {
  }
}

void check_loaded() {
  TORCH_CHECK(
      load_error().empty(),
      "npu (stand-in): the library could not register the npu backend when it was loaded: ",
      load_error());
}

void require_initialised(const char* what) {
  check_loaded();
#if defined(STANDIN_ROUTE_WHEEL)
  TORCH_CHECK(
      is_initialised(), "npu (stand-in): cannot ", what,
      ": npu is not initialised: call torch_npu.npu._lazy_init() first "
      "(any npu tensor factory in Python does it)");
#else
  TORCH_CHECK(
      is_initialised(), "npu (stand-in): cannot ", what,
      ": npu is not initialised: call torch_npu::init_npu first");
#endif
}

// ---------------------------------------------------------------- guard

namespace {

// One default stream per device; events are no-ops: everything the stand-in
// does is synchronous host work.
struct NpuGuardImpl final : public c10::impl::DeviceGuardImplInterface {
  c10::DeviceType type() const override {
    return kNpu;
  }
  c10::Device exchangeDevice(c10::Device d) const override {
    TORCH_CHECK(d.type() == kNpu, "npu (stand-in): expected an npu device, got ", d);
    const auto old = getDevice();
    if (d.index() != old.index()) set_device(d.index());
    return old;
  }
  c10::Device getDevice() const override {
    return c10::Device(kNpu, current_device());
  }
  void setDevice(c10::Device d) const override {
    TORCH_CHECK(d.type() == kNpu, "npu (stand-in): expected an npu device, got ", d);
    set_device(d.index());
  }
  void uncheckedSetDevice(c10::Device d) const noexcept override {
    set_device_unchecked(d.index());
  }
  c10::Stream getStream(c10::Device d) const override {
    return c10::Stream(c10::Stream::DEFAULT, d);
  }
  c10::Stream getDefaultStream(c10::Device d) const override {
    return c10::Stream(c10::Stream::DEFAULT, d);
  }
  c10::Stream getStreamFromGlobalPool(c10::Device d, bool) const override {
    return c10::Stream(c10::Stream::DEFAULT, d);
  }
  c10::Stream getNewStream(c10::Device d, int) const override {
    return c10::Stream(c10::Stream::DEFAULT, d);
  }
  c10::Stream exchangeStream(c10::Stream s) const override {
    return c10::Stream(c10::Stream::DEFAULT, s.device());
  }
  c10::DeviceIndex deviceCount() const noexcept override {
    return device_count();
  }
  void destroyEvent(void*, const c10::DeviceIndex) const noexcept override {}
  void record(void**, const c10::Stream&, const c10::DeviceIndex, const c10::EventFlag) const override {}
  void block(void*, const c10::Stream&) const override {}
  bool queryEvent(void*) const override {
    return true;
  }
  void synchronizeEvent(void*) const override {}
  double elapsedTime(void*, void*, const c10::DeviceIndex) const override {
    return 0.0;
  }
  bool queryStream(const c10::Stream&) const override {
    return true;
  }
  void synchronizeStream(const c10::Stream&) const override {}
  void synchronizeDevice(const c10::DeviceIndex) const override {}
  void recordDataPtrOnStream(const c10::DataPtr&, const c10::Stream&) const override {}
};

// ---------------------------------------------------------------- memory

// Host blocks by start address, so getDeviceFromPtr / isPinnedPtr can answer
// for any pointer inside a block.
struct Block {
  size_t size;
  c10::DeviceIndex device;  // -1: pinned host memory
};
std::mutex g_blocks_mutex;
std::map<uintptr_t, Block>& blocks() {
  static auto* m = new std::map<uintptr_t, Block>();  // leaked: frees may run at exit
  return *m;
}

void* host_alloc(size_t n, c10::DeviceIndex device) {
  void* p = c10::alloc_cpu(n);  // throws c10::Error when out of memory
  std::lock_guard<std::mutex> lock(g_blocks_mutex);
  blocks()[reinterpret_cast<uintptr_t>(p)] = Block{n, device};
  return p;
}

void host_free(void* p) {
  if (p == nullptr) return;
  {
    std::lock_guard<std::mutex> lock(g_blocks_mutex);
    blocks().erase(reinterpret_cast<uintptr_t>(p));
  }
  c10::free_cpu(p);
}

bool find_block(const void* ptr, Block* out) {
  const auto a = reinterpret_cast<uintptr_t>(ptr);
  std::lock_guard<std::mutex> lock(g_blocks_mutex);
  auto it = blocks().upper_bound(a);
  if (it == blocks().begin()) return false;
  --it;
  if (a >= it->first + std::max<size_t>(it->second.size, 1)) return false;
  *out = it->second;
  return true;
}

// "Device" memory is host memory tagged PrivateUse1:<current device>. Like
// the real NPU, nothing can be allocated before the runtime is initialised.
struct NpuAllocator final : public c10::Allocator {
  c10::DataPtr allocate(size_t n) override {
    require_initialised("allocate npu memory");
    const auto device = current_device();
    check_device_index(device);
    void* p = n == 0 ? nullptr : host_alloc(n, device);
    return {p, p, &host_free, c10::Device(kNpu, device)};
  }
  c10::DeleterFnPtr raw_deleter() const override {
    return &host_free;
  }
  void copy_data(void* dest, const void* src, std::size_t count) const override {
    default_copy_data(dest, src, count);
  }
};

// Page-locked host memory stands in as plain host memory, tracked so
// is_pinned() answers true for it.
struct PinnedAllocator final : public c10::Allocator {
  c10::DataPtr allocate(size_t n) override {
    void* p = n == 0 ? nullptr : host_alloc(n, -1);
    return {p, p, &host_free, c10::Device(c10::DeviceType::CPU)};
  }
  c10::DeleterFnPtr raw_deleter() const override {
    return &host_free;
  }
  void copy_data(void* dest, const void* src, std::size_t count) const override {
    default_copy_data(dest, src, count);
  }
};

NpuAllocator g_allocator;
PinnedAllocator g_pinned_allocator;

// ---------------------------------------------------------------- generators

// The CPU generator's engine on an npu device (OpenReg's approach). Kernels
// that run through the CPU fallback do not use it: they draw from the CPU
// default generator (see kernels.cc).
struct NpuGeneratorImpl final : public at::CPUGeneratorImpl {
  explicit NpuGeneratorImpl(c10::DeviceIndex index, uint64_t seed = c10::default_rng_seed_val)
      : at::CPUGeneratorImpl(seed) {
    device_ = c10::Device(kNpu, index);
    key_set_ = c10::DispatchKeySet(c10::DispatchKey::PrivateUse1);
  }
  static c10::DeviceType device_type() {
    return kNpu;
  }

 private:
  // CPUGeneratorImpl's clone would make a cpu generator; keep the device.
  NpuGeneratorImpl* clone_impl() const override {
    auto* g = new NpuGeneratorImpl(device_.index());
    g->set_engine(const_cast<NpuGeneratorImpl*>(this)->engine());
    g->set_next_float_normal_sample(const_cast<NpuGeneratorImpl*>(this)->next_float_normal_sample());
    g->set_next_double_normal_sample(const_cast<NpuGeneratorImpl*>(this)->next_double_normal_sample());
    return g;
  }
};

c10::DeviceIndex generator_index(c10::DeviceIndex index) {
  if (index < 0) index = current_device();
  check_device_index(index);
  return index;
}

std::vector<at::Generator>& default_generators() {
  static std::vector<at::Generator>* gens = [] {
    auto* v = new std::vector<at::Generator>();  // leaked: used until exit
    for (c10::DeviceIndex i = 0; i < device_count(); ++i) {
      v->push_back(at::make_generator<NpuGeneratorImpl>(i));
    }
    return v;
  }();
  return *gens;
}

// ---------------------------------------------------------------- hooks

struct NpuHooks final : public at::PrivateUse1HooksInterface {
  bool isBuilt() const override {
    return true;
  }
  bool isAvailable() const override {
    return load_error().empty() && device_count() > 0;
  }
  c10::DeviceIndex deviceCount() const override {
    return device_count();
  }
  bool hasPrimaryContext(c10::DeviceIndex) const override {
    return is_initialised();
  }
  void init() const override {
    check_loaded();
    hooks_lazy_init();
  }
  const at::Generator& getDefaultGenerator(c10::DeviceIndex index) const override {
    return default_generators()[generator_index(index)];
  }
  at::Generator getNewGenerator(c10::DeviceIndex index) const override {
    return at::make_generator<NpuGeneratorImpl>(generator_index(index));
  }
  at::Device getDeviceFromPtr(void* data) const override {
    Block b{};
    TORCH_CHECK(
        find_block(data, &b) && b.device >= 0,
        "npu (stand-in): pointer ", data, " is not npu memory");
    return c10::Device(kNpu, b.device);
  }
  bool isPinnedPtr(const void* data) const override {
    Block b{};
    return find_block(data, &b) && b.device < 0;
  }
  at::Allocator* getPinnedMemoryAllocator() const override {
    return &g_pinned_allocator;
  }
  void setCurrentDevice(c10::DeviceIndex d) const override {
    set_device(d);
  }
  c10::DeviceIndex getCurrentDevice() const override {
    return current_device();
  }
  c10::DeviceIndex exchangeDevice(c10::DeviceIndex d) const override {
    const auto old = current_device();
    if (d >= 0) set_device(d);
    return old;
  }
  c10::DeviceIndex maybeExchangeDevice(c10::DeviceIndex d) const override {
    return exchangeDevice(d);
  }
  // untyped_storage().resize_() on an npu storage lands here.
  void resizePrivateUse1Bytes(const c10::Storage& storage, size_t newsize) const override {
    at::native::resize_bytes_cpu(storage.unsafeGetStorageImpl(), newsize);
  }
};

NpuHooks g_hooks;

// Everything is registered from this one static initialiser, and nothing it
// throws escapes (that would terminate the process in dlopen): a failure,
// e.g. another PrivateUse1 backend already loaded, is kept and reported by
// the first use of the device.
struct Registration {
  Registration() {
    try {
      // Check before touching anything, so a second PrivateUse1 library (the
      // other variant, the real torch_npu) leaves the first one intact.
      TORCH_CHECK(
          !at::isPrivateUse1HooksRegistered(),
          "a PrivateUse1 backend is already registered in this process (another torch_npu?)");
      c10::register_privateuse1_backend("npu");
      at::RegisterPrivateUse1HooksInterface(&g_hooks);
      static c10::impl::DeviceGuardImplRegistrar guard_registrar(kNpu, new NpuGuardImpl());
      c10::SetAllocator(kNpu, &g_allocator);
      register_kernels();
      register_autocast();
    } catch (const c10::Error& e) {
      set_load_error(e.what_without_backtrace());
    } catch (const std::exception& e) {
      set_load_error(e.what());
    } catch (...) {
      set_load_error("unknown error");
    }
  }
};

Registration g_registration;

} // namespace

void manual_seed_all(uint64_t seed) {
  for (auto& g : default_generators()) {
    std::lock_guard<std::mutex> lock(g.mutex());
    g.set_current_seed(seed);
  }
}

} // namespace torchbridge_standin
