#pragma once
#include "common.h"

#include <caffe2/serialize/inline_container.h>

namespace tb {
// Refuses a hostile archive before any record is read: a record name that climbs
// out ('..', absolute), or one that declares more bytes than the whole file could
// inflate to (a zip bomb, which getRecord would allocate).
void CheckArchive(caffe2::serialize::PyTorchStreamReader& reader, size_t file_size);

// The value in a torch.save archive (Python's or ours), tensors on the CPU.
// Throws c10::Error for anything but plain data: never runs code from the file.
c10::IValue LoadArchive(caffe2::serialize::PyTorchStreamReader& reader);
}  // namespace tb
