"""TensorInfo, the seam's value type: frozen, hashed and compared by its fields, copied and pickled whole."""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from inspector.readout import TensorInfo


def test_a_tensor_info_is_frozen():
    t = TensorInfo("a.weight", "BF16", (4, 8), "model.safetensors")
    with pytest.raises(dataclasses.FrozenInstanceError):
        t.dtype = "F32"  # type: ignore[misc]


def test_tensor_infos_are_equal_and_hashed_by_their_fields():
    a, b = TensorInfo("a", "F16", (2,), "f"), TensorInfo(name="a", dtype="F16", shape=(2,), file="f")
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    assert a != TensorInfo("a", "F16", (2,), "g")
    assert TensorInfo("a") == TensorInfo("a", None, None, None)


def test_a_tensor_info_is_replaced_and_pickled_whole():
    t = TensorInfo("a", "F16", (2, 3), "f")
    assert dataclasses.replace(t, file="g") == TensorInfo("a", "F16", (2, 3), "g")
    assert pickle.loads(pickle.dumps(t)) == t
    assert (t.numel, TensorInfo("a").numel) == (6, None)
