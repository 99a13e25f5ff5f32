"""Fuzz the static walk of data.pkl with pickles built to nest deep and wide.

Raw bytes rarely make a pickle that nests: here the input is a program. Each step picks an opcode
group (open a container, close it, push a scalar, memoize, fetch from the memo, call an allowed
global) and a repeat count up to 100,000, so one input reaches nesting a hundred thousand deep,
dict keys built of nested tuples, containers that hold themselves. The walk must end in tensors or
an InvalidData; a C-level crash (a hash or compare recursing past the stack) kills the process and
libFuzzer records it.
"""

from __future__ import annotations

import struct

import atheris
from _common import run

from inspector.formats.torchzip import tensors_from_pickle

_SCALARS = [b"K\x01", b"J\xff\xff\xff\xff", b"N", b"\x88", b"\x89", b"X\x01\x00\x00\x00a", b"C\x01b", b"G" + b"\x7f\xf8" + bytes(6)]
_GLOBALS = [b"ccollections\nOrderedDict\n", b"ctorch._utils\n_rebuild_tensor_v2\n", b"ctorch\nFloatStorage\n",
            b"ctorch\nSize\n", b"c__builtin__\nset\n", b"ctorch._tensor\n_rebuild_from_type_v2\n"]
_STORAGE = b"(X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x04tQ"
# Opcodes that close or combine what is on the stack.
_COMBINE = [b"t", b"l", b"d", b"a", b"e", b"s", b"u", b"\x85", b"\x86", b"\x87", b"R", b"\x81", b"b", b"0", b"1", b"2",
            b"\x8f", b"\x90", b"\x91"]
_OPEN = [b"(", b"]", b"}", b")", b"\x8f"]


def build(fdp: atheris.FuzzedDataProvider) -> bytes:
    out = [b"\x80\x02"]
    memo = 0
    budget = 400_000  # bytes: deep enough (100k levels), short enough for 10 s per input instrumented
    for _ in range(fdp.ConsumeIntInRange(1, 12)):
        kind = fdp.ConsumeIntInRange(0, 7)
        reps = fdp.PickValueInList([1, 2, 3, 10, 1000, 100_000])
        if kind == 0:
            unit = fdp.PickValueInList(_OPEN)
        elif kind == 1:
            unit = fdp.PickValueInList(_COMBINE)
        elif kind == 2:
            unit = fdp.PickValueInList(_SCALARS)
        elif kind == 3:
            unit = fdp.PickValueInList(_GLOBALS)
        elif kind == 4:
            unit = b"r" + struct.pack("<I", memo)  # LONG_BINPUT
            memo += 1
        elif kind == 5:
            unit = b"j" + struct.pack("<I", fdp.ConsumeIntInRange(0, max(memo, 1)))  # LONG_BINGET
        elif kind == 6:
            unit = _STORAGE
        else:
            unit = fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 16))
        reps = min(reps, budget // max(len(unit), 1))
        budget -= reps * len(unit)
        out.append(unit * reps)
    out.append(fdp.ConsumeBytes(64) + b".")
    return b"".join(out)


def test_one_input(data: bytes) -> None:
    pkl = build(atheris.FuzzedDataProvider(data))
    tensors = tensors_from_pickle(pkl, "fuzz/data.pkl", file="pytorch_model.bin")
    for name, t in tensors.items():
        name.encode("utf-8")  # no lone surrogate leaves the walk
        assert t.shape is None or all(isinstance(d, int) and d >= 0 for d in t.shape)


if __name__ == "__main__":
    run(test_one_input)
