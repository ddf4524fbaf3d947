"""Writes files torchbridge's load() must refuse without running anything
(test/errors.test.ts).

usage: evil_pickle.py OUT MARKER
    OUT         a torch.save archive whose unpickling would call
                os.system('touch MARKER')
    OUT.module  a torch.save of a whole nn.Linear (a pickled class instance)
"""
import os
import sys

import torch


class Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, ("touch " + self.marker,))


out, marker = sys.argv[1], sys.argv[2]
torch.save({"weight": torch.ones(2), "payload": Evil(marker)}, out)
torch.save(torch.nn.Linear(2, 2), out + ".module")
