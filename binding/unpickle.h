#pragma once
#include "common.h"

namespace tb {
// The value in a torch.save archive (Python's or ours; the file's bytes), tensors
// on the CPU.
// Throws c10::Error for anything but plain data: never runs code from the file.
c10::IValue LoadArchive(const std::vector<char>& file);
}  // namespace tb
