// Ascend NPU bring-up for both routes. See npu.h and the README's "Running on Ascend".
#include "npu.h"

#include <c10/core/impl/DeviceGuardImplInterface.h>

#include <atomic>
#include <cstdlib>
#include <mutex>

#ifdef TB_NPU_LIBTORCH
#include <torch_npu/csrc/libs/init_npu.h>
#endif
#ifdef TB_NPU_WHEEL
#include <dlfcn.h>
#include <sys/stat.h>
#endif

namespace tb::npu {

namespace {

std::mutex initMutex;
bool ready = false;

#ifdef TB_WITH_NPU
int GuardDeviceCount() {
  constexpr auto kNpu = c10::DeviceType::PrivateUse1;
  return c10::impl::hasDeviceGuardImpl(kNpu) ? c10::impl::getDeviceGuardImpl(kNpu)->deviceCount() : 0;
}

void CheckIndex(const c10::Device& device) {
  int count = GuardDeviceCount();
  const char* visible = std::getenv("ASCEND_RT_VISIBLE_DEVICES");
  TORCH_CHECK(count > 0, "no NPU is visible to torch_npu",
              visible ? std::string(" (ASCEND_RT_VISIBLE_DEVICES=") + visible + ")" : std::string());
  TORCH_CHECK(!device.has_index() || device.index() < count, "device npu:", static_cast<int>(device.index()),
              " does not exist: ", count, " NPU device(s) visible",
              visible ? std::string(" (ASCEND_RT_VISIBLE_DEVICES=") + visible + ")" : std::string());
}
#endif

#ifdef TB_NPU_WHEEL
// The CPython C API, looked up in the libpython we load, so that the addon has no
// link-time dependency on Python or torch_npu. Only long-stable entry points.
struct PyApi {
  using Obj = void*;
  int (*IsInitialized)();
  void (*InitializeEx)(int);
  wchar_t* (*DecodeLocale)(const char*, size_t*);
  void (*SetProgramName)(const wchar_t*);  // deprecated in 3.11, still present; optional
  int (*GILStateEnsure)();
  void (*GILStateRelease)(int);
  void* (*EvalSaveThread)();
  Obj (*ImportModule)(const char*);
  void (*ErrFetch)(Obj*, Obj*, Obj*);
  void (*ErrNormalize)(Obj*, Obj*, Obj*);
  Obj (*ObjectStr)(Obj);
  Obj (*GetAttrString)(Obj, const char*);
  const char* (*UnicodeAsUTF8)(Obj);
  void (*DecRef)(Obj);
};

template <typename F>
void Resolve(void* lib, const char* name, F& fn, bool required = true) {
  fn = reinterpret_cast<F>(dlsym(lib, name));
  TORCH_CHECK(fn || !required, "the loaded libpython has no ", name);
}

std::string PythonPath() {
  const char* env = std::getenv("TORCHBRIDGE_PYTHON");
  return env && *env ? env : TB_PYTHON;
}
std::string LibPythonPath() {
  const char* env = std::getenv("TORCHBRIDGE_LIBPYTHON");
  return env && *env ? env : TB_LIBPYTHON;
}

// "ModuleNotFoundError: No module named 'torch_npu'" for the pending exception.
std::string PythonError(const PyApi& py) {
  PyApi::Obj type = nullptr, value = nullptr, tb = nullptr;
  py.ErrFetch(&type, &value, &tb);
  if (!type) return "unknown error";
  py.ErrNormalize(&type, &value, &tb);
  std::string out;
  if (auto name = py.GetAttrString(type, "__name__")) {
    if (auto s = py.UnicodeAsUTF8(name)) out = s;
    py.DecRef(name);
  }
  if (value) {
    if (auto str = py.ObjectStr(value)) {
      if (auto s = py.UnicodeAsUTF8(str)) out += std::string(": ") + s;
      py.DecRef(str);
    }
  }
  for (auto o : {type, value, tb}) {
    if (o) py.DecRef(o);
  }
  return out;
}

// Loads torch_npu's python into this process and imports torch_npu, whose library
// registers the 'npu' PrivateUse1 backend. Leaves the GIL released.
void ImportTorchNpu() {
  static bool imported = false;
  if (imported) return;
  auto exe = PythonPath(), libPath = LibPythonPath();
  struct stat st;
  // Python aborts the process when it can't find its own files, so check first.
  TORCH_CHECK(stat(exe.c_str(), &st) == 0, "the python that has torch_npu, ", exe,
              ", does not exist (set TORCHBRIDGE_PYTHON, or rebuild with npm run build:native -- --device npu)");
  // RTLD_GLOBAL: torch_npu's libraries take their Python symbols from the host process.
  void* lib = dlopen(libPath.c_str(), RTLD_NOW | RTLD_GLOBAL);
  TORCH_CHECK(lib, "cannot load libpython for torch_npu: ", dlerror(),
              " (set TORCHBRIDGE_LIBPYTHON to the shared libpython of ", exe, ")");
  PyApi py{};
  Resolve(lib, "Py_IsInitialized", py.IsInitialized);
  Resolve(lib, "Py_InitializeEx", py.InitializeEx);
  Resolve(lib, "Py_DecodeLocale", py.DecodeLocale);
  Resolve(lib, "Py_SetProgramName", py.SetProgramName, false);
  Resolve(lib, "PyGILState_Ensure", py.GILStateEnsure);
  Resolve(lib, "PyGILState_Release", py.GILStateRelease);
  Resolve(lib, "PyEval_SaveThread", py.EvalSaveThread);
  Resolve(lib, "PyImport_ImportModule", py.ImportModule);
  Resolve(lib, "PyErr_Fetch", py.ErrFetch);
  Resolve(lib, "PyErr_NormalizeException", py.ErrNormalize);
  Resolve(lib, "PyObject_Str", py.ObjectStr);
  Resolve(lib, "PyObject_GetAttrString", py.GetAttrString);
  Resolve(lib, "PyUnicode_AsUTF8", py.UnicodeAsUTF8);
  Resolve(lib, "Py_DecRef", py.DecRef);
  if (!py.IsInitialized()) {
    // As that python would start: its prefix, site-packages and venv come from its path.
    // The string must outlive the interpreter.
    if (py.SetProgramName) py.SetProgramName(py.DecodeLocale(exe.c_str(), nullptr));
    py.InitializeEx(0);  // 0: leave signal handling to Node
    py.EvalSaveThread();
  }
  int gil = py.GILStateEnsure();
  auto module = py.ImportModule("torch_npu");
  std::string error = module ? "" : PythonError(py);
  if (module) py.DecRef(module);
  py.GILStateRelease(gil);
  TORCH_CHECK(module, "import torch_npu failed in ", exe, ": ", error,
              " (is torch_npu installed for that python, or on PYTHONPATH?)");
  imported = true;
}
#endif

}  // namespace

const char* Route() {
#if defined(TB_NPU_LIBTORCH)
  return "libtorch_npu";
#elif defined(TB_NPU_WHEEL)
  return "wheel";
#else
  return nullptr;
#endif
}

bool Ready() {
  std::lock_guard<std::mutex> lock(initMutex);
  return ready;
}

int DeviceCount() {
#ifdef TB_WITH_NPU
  return Ready() ? GuardDeviceCount() : 0;
#else
  return 0;
#endif
}

void Init(const c10::Device& device) {
#ifdef TB_WITH_NPU
  std::lock_guard<std::mutex> lock(initMutex);
#if defined(TB_NPU_LIBTORCH)
  if (!ready) {
    CheckIndex(device);
    torch_npu::init_npu(static_cast<c10::DeviceIndex>(device.has_index() ? device.index() : 0));
    ready = true;
  }
#else
  if (!ready) {
    ImportTorchNpu();
    // torch_npu's hooks finish the init through Python (npu_lazy_init), as in `import torch_npu`.
    at::globalContext().lazyInitDevice(c10::DeviceType::PrivateUse1);
    ready = true;
  }
#endif
  CheckIndex(device);
#else
  TORCH_CHECK(false, "torchbridge was built without npu support: rebuild with "
                     "`npm run build:native -- --device npu` where torch_npu is installed");
#endif
}

void BeforeAutograd() {
#ifdef TB_NPU_WHEEL
  static std::atomic<bool> tried{false};
  if (tried.exchange(true)) return;
  std::lock_guard<std::mutex> lock(initMutex);
  try {
    ImportTorchNpu();
  } catch (const std::exception&) {
    // Init repeats the import and reports its error when 'npu' is used.
  }
#endif
}

void Synchronize(c10::DeviceIndex index) {
#if defined(TB_NPU_LIBTORCH)
  torch::npu::synchronize(index);
#elif defined(TB_NPU_WHEEL)
  auto* impl = c10::impl::getDeviceGuardImpl(c10::DeviceType::PrivateUse1);
  impl->synchronizeDevice(index < 0 ? impl->getDevice().index() : index);
#else
  TORCH_CHECK(false, "torchbridge was built without npu support");
#endif
}

void Finalize() {
#ifdef TB_NPU_LIBTORCH
  std::lock_guard<std::mutex> lock(initMutex);
  if (ready) torch_npu::finalize_npu();
  ready = false;
#endif
}

}  // namespace tb::npu
