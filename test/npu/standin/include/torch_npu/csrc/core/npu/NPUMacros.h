// torchbridge's npu stand-in: the export macros of torch_npu's NPUMacros.h.
// Not Huawei's header; only what init_npu.h needs.
#pragma once

#if defined(_WIN32)
#define TORCH_NPU_API __declspec(dllexport)
#define C10_NPU_API __declspec(dllexport)
#else
#define TORCH_NPU_API __attribute__((__visibility__("default")))
#define C10_NPU_API __attribute__((__visibility__("default")))
#endif
