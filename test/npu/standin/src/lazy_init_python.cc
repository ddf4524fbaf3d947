// wheel variant: the device is initialised from Python, as in `pip install
// torch_npu`. The hooks' init() and every npu tensor factory do what
// torch_npu::utils::npu_lazy_init() (torch_npu/csrc/utils/LazyInit.cpp) does:
// take the GIL, import torch_npu.npu and call its _lazy_init(), which calls
// back into torchbridge_standin_npu_init() below.
//
// Built against Python's headers only: the Py* symbols stay undefined and are
// resolved from the interpreter that loads the library, like the real wheel's
// libtorch_npu.so. Loading it into a process without Python fails to resolve
// them, as the real one does.
#include <Python.h>

#include <c10/util/Exception.h>

#include <cstdint>
#include <string>

#include "standin.h"

#define STANDIN_EXPORT extern "C" __attribute__((__visibility__("default")))

// Weak, so a host without Python that loaded the library lazily (RTLD_LAZY,
// as Node's process.dlopen does) gets a c10::Error below instead of the
// dynamic linker killing the process at the first Py* call. The other Py*
// references stay strong: with RTLD_NOW such a host cannot load the library
// at all, as with the real wheel.
#pragma weak Py_IsInitialized

namespace torchbridge_standin {
namespace {

// Owns a reference (no pybind11 / libtorch_python here).
struct PyRef {
  PyObject* p;
  explicit PyRef(PyObject* o) : p(o) {}
  ~PyRef() {
    Py_XDECREF(p);
  }
  PyRef(const PyRef&) = delete;
  PyRef& operator=(const PyRef&) = delete;
};

// Takes the pending Python exception and returns "Type: message".
std::string fetch_python_error() {
  PyObject *type = nullptr, *value = nullptr, *tb = nullptr;
  PyErr_Fetch(&type, &value, &tb);
  PyErr_NormalizeException(&type, &value, &tb);
  PyRef t(type), v(value), b(tb);
  std::string msg = "unknown Python error";
  if (type != nullptr) {
    PyRef name(PyObject_GetAttrString(type, "__name__"));
    if (name.p != nullptr && PyUnicode_Check(name.p)) msg = PyUnicode_AsUTF8(name.p);
  }
  if (value != nullptr) {
    PyRef str(PyObject_Str(value));
    if (str.p != nullptr && PyUnicode_Check(str.p)) {
      const char* s = PyUnicode_AsUTF8(str.p);
      if (s != nullptr && *s != '\0') msg += std::string(": ") + s;
    }
  }
  PyErr_Clear();
  return msg;
}

struct GilGuard {
  PyGILState_STATE state;
  GilGuard() : state(PyGILState_Ensure()) {}
  ~GilGuard() {
    PyGILState_Release(state);
  }
};

void npu_lazy_init() {
  if (is_initialised()) return;
  TORCH_CHECK(
      &Py_IsInitialized != nullptr && Py_IsInitialized(),
      "npu (stand-in, wheel build): cannot initialise npu: no Python interpreter is running "
      "(this libtorch_npu.so is torch_npu's Python wheel library; it is initialised by "
      "torch_npu.npu._lazy_init())");
  std::string error;
  {
    GilGuard gil;  // the GIL also serialises concurrent first uses
    if (is_initialised()) return;
    PyRef module(PyImport_ImportModule("torch_npu.npu"));
    if (module.p == nullptr) {
      error = fetch_python_error();
    } else {
      PyRef res(PyObject_CallMethod(module.p, "_lazy_init", nullptr));
      if (res.p == nullptr) error = fetch_python_error();
    }
  }
  TORCH_CHECK(error.empty(), "npu (stand-in): torch_npu.npu._lazy_init() failed: ", error);
  TORCH_CHECK(
      is_initialised(),
      "npu (stand-in): torch_npu.npu._lazy_init() returned without initialising the device");
}

} // namespace

void maybe_initialise(c10::DeviceIndex) {
  check_loaded();
  npu_lazy_init();
}

void hooks_lazy_init() {
  npu_lazy_init();
}

} // namespace torchbridge_standin

namespace sb = torchbridge_standin;

// C entry points for torch_npu/npu/__init__.py (ctypes). They never throw:
// a negative return means failure.

STANDIN_EXPORT int torchbridge_standin_npu_init(void) {
  if (!sb::load_error().empty() || sb::device_count() <= 0) return -1;
  sb::set_initialised(true);
  return 0;
}

STANDIN_EXPORT int torchbridge_standin_npu_is_initialised(void) {
  return sb::is_initialised() ? 1 : 0;
}

STANDIN_EXPORT int torchbridge_standin_npu_device_count(void) {
  return sb::load_error().empty() ? static_cast<int>(sb::device_count()) : 0;
}

// Failure message of load-time registration ("" if none).
STANDIN_EXPORT const char* torchbridge_standin_npu_load_error(void) {
  return sb::load_error().c_str();
}

STANDIN_EXPORT int torchbridge_standin_npu_current_device(void) {
  return sb::current_device();
}

STANDIN_EXPORT int torchbridge_standin_npu_set_device(int index) {
  if (index < 0 || index >= sb::device_count()) return -1;
  sb::set_device_unchecked(static_cast<c10::DeviceIndex>(index));
  return 0;
}

STANDIN_EXPORT int torchbridge_standin_npu_manual_seed_all(uint64_t seed) {
  try {
    sb::manual_seed_all(seed);
    return 0;
  } catch (...) {
    return -1;
  }
}
