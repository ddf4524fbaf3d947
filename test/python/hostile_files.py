"""Writes hostile checkpoint files into the folder given as argv[1]:
- evil_system.pt: a pickle whose object reduces to os.system (would run a shell command)
- slip.pt: a valid checkpoint plus a zip entry whose path climbs out with '../'
- giant_shape.pt: a tensor whose declared shape needs 4 TB from an 8-byte storage
- truncated.pt: a valid checkpoint cut in half
- bomb.pt: a valid checkpoint whose zip directory declares a 2 GB data.pkl (stored)
- deflate_bomb.pt: the same with data.pkl deflated
and good.pt, a valid one. The marker file that os.system would create is argv[2]."""
import os
import sys
import zipfile

import torch

out, marker = sys.argv[1], sys.argv[2]


class Evil:
    def __reduce__(self):
        return (os.system, (f"echo PWNED > {marker}",))


def path(name):
    return os.path.join(out, name)


torch.save({"w": torch.ones(2)}, path("good.pt"))
torch.save({"w": torch.ones(2), "x": Evil()}, path("evil_system.pt"))


def rewrite(src, dst, edit_pickle=None, extra=None):
    with zipfile.ZipFile(src) as z, zipfile.ZipFile(dst, "w") as o:
        for info in z.infolist():
            data = z.read(info.filename)
            if edit_pickle and info.filename.endswith("data.pkl"):
                data = edit_pickle(data)
            o.writestr(info.filename, data)
        if extra:
            o.writestr(extra, b"x")


rewrite(path("good.pt"), path("slip.pt"), extra="good/../../../escaped.txt")
# The shape (2,) written as K\x02\x85 becomes (2**40,) as an 8-byte LONG1.
giant = b"\x8a\x08" + (2**40).to_bytes(8, "little")
rewrite(path("good.pt"), path("giant_shape.pt"),
        edit_pickle=lambda d: d.replace(b"K\x00K\x02\x85", b"K\x00" + giant + b"\x85", 1))
with open(path("good.pt"), "rb") as f:
    data = f.read()
# A zip bomb: the central directory says data.pkl holds 2 GB.
cd = data.rfind(b"PK\x01\x02", 0, data.find(b"data.pkl", data.find(b"PK\x01\x02")) + 1)
bomb = bytearray(data)
bomb[cd + 24:cd + 28] = (0x7FFFFFFF).to_bytes(4, "little")
with open(path("bomb.pt"), "wb") as f:
    f.write(bomb)
# The same with data.pkl deflated, as a zip may store it: deflate could make 2 GB
# from a few bytes, so only the declared size can refuse it before it is inflated.
with zipfile.ZipFile(path("good.pt")) as z, zipfile.ZipFile(path("deflate_bomb.pt"), "w", zipfile.ZIP_DEFLATED) as o:
    for info in z.infolist():
        o.writestr(info.filename, z.read(info.filename))
with open(path("deflate_bomb.pt"), "rb") as f:
    deflated = bytearray(f.read())
cd = deflated.rfind(b"PK\x01\x02", 0, deflated.find(b"data.pkl", deflated.find(b"PK\x01\x02")) + 1)
deflated[cd + 24:cd + 28] = (0x7FFFFFFF).to_bytes(4, "little")
with open(path("deflate_bomb.pt"), "wb") as f:
    f.write(deflated)
with open(path("truncated.pt"), "wb") as f:
    f.write(data[: len(data) // 2])
print("ok")
