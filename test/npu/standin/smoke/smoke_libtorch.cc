// Smoke test of the libtorch_npu variant: the init_npu API, allocation before
// init, compute on PrivateUse1, copies back, synchronize. Exit status 0 = ok.
#include <torch/torch.h>
#include <torch_npu/csrc/libs/init_npu.h>

#include <cstdio>
#include <string>

static int failures = 0;

#define EXPECT(cond, ...)                                         \
  do {                                                            \
    if (cond) {                                                   \
      std::printf("ok   " __VA_ARGS__);                           \
    } else {                                                      \
      std::printf("FAIL " __VA_ARGS__);                           \
      ++failures;                                                 \
    }                                                             \
    std::printf("\n");                                            \
  } while (0)

template <typename F>
static std::string error_of(F&& f) {
  try {
    f();
  } catch (const c10::Error& e) {
    return e.what_without_backtrace();
  }
  return "";
}

int main() {
  const auto npu = c10::Device(c10::DeviceType::PrivateUse1, 0);
  auto before = error_of([&] { torch::ones({2}, torch::TensorOptions().device(npu)); });
  EXPECT(before.find("init_npu") != std::string::npos, "allocation before init_npu fails: %s", before.c_str());

  auto bad = error_of([] { torch_npu::init_npu(c10::DeviceIndex(5)); });
  EXPECT(bad.find("5") != std::string::npos && bad.find("2 npu devices") != std::string::npos,
         "init_npu(5) fails: %s", bad.c_str());

  torch_npu::init_npu(c10::DeviceIndex(0));
  EXPECT(c10::npu::current_device() == 0, "init_npu(0); current_device() == 0");
  EXPECT(c10::DeviceTypeName(c10::DeviceType::PrivateUse1, true) == "npu", "PrivateUse1 is named npu");

  auto x = torch::arange(6, torch::TensorOptions().dtype(torch::kFloat).device(npu)).view({2, 3});
  auto y = torch::matmul(x, x.t()).relu() + 1;
  torch::npu::synchronize();
  auto z = y.cpu();
  auto ref = torch::matmul(torch::arange(6.).view({2, 3}), torch::arange(6.).view({2, 3}).t()).relu() + 1;
  EXPECT(y.device() == npu && torch::equal(z, ref), "matmul/relu/add on npu:0 == cpu");

  torch_npu::init_npu(std::string("npu:1"));
  auto w = torch::ones({2}, torch::TensorOptions().device("npu"));
  EXPECT(w.device().index() == 1 && c10::npu::current_device() == 1, "init_npu(\"npu:1\") makes npu:1 current");
  EXPECT(torch::equal(x.to(w.device()).cpu(), x.cpu()), "npu:0 -> npu:1 copy");

  auto refused = error_of([&] { torch::lgamma(w); });
  EXPECT(refused.find("aten::lgamma.out") != std::string::npos, "op outside the list refused: %s", refused.c_str());

  torch_npu::finalize_npu();
  auto after = error_of([&] { torch::ones({2}, torch::TensorOptions().device(npu)); });
  EXPECT(!after.empty(), "allocation after finalize_npu fails");
  return failures == 0 ? 0 : 1;
}
