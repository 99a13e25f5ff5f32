"""The header parser trusts nothing: every malformed header is one typed, one-line error."""

from __future__ import annotations

import contextlib
import json
import struct

import pytest
from conftest import SAMPLES
from hypothesis import given, settings
from hypothesis import strategies as st

from inspector.errors import InvalidData
from inspector.formats.registry import read_header
from inspector.formats.safetensors_header import estimate_header_length, header_length, parse_header
from inspector.transport.ranged import LocalRangeFile


def entry(dtype="F16", shape=(2, 2), begin=0):
    n = 2
    for d in shape:
        n *= d
    return {"dtype": dtype, "shape": list(shape), "data_offsets": [begin, begin + n]}


def test_a_valid_header_gives_names_shapes_dtypes():
    raw = json.dumps({"__metadata__": {"format": "pt"}, "a.weight": entry()}).encode()
    t = parse_header(raw, "x")["a.weight"]
    assert (t.dtype, t.shape, t.numel) == ("F16", (2, 2), 4)


@pytest.mark.parametrize(
    "raw, needle",
    [
        (b"not json", "not valid JSON"),
        (b"[1, 2]", "not an object"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b'{"a": {"dtype": "F16", "shape": [2], "data_offsets": [0, 4]}, "a": {}}', "duplicate key"),
        (b'{"a": {"dtype": 5, "shape": [2], "data_offsets": [0, 4]}}', "invalid dtype"),
        (b'{"a": {"dtype": "F16", "shape": [-1], "data_offsets": [0, 4]}}', "invalid shape"),
        (b'{"a": {"dtype": "F16", "shape": "2", "data_offsets": [0, 4]}}', "invalid shape"),
        (b'{"a": {"dtype": "F16", "shape": [2], "data_offsets": [4, 0]}}', "invalid data_offsets"),
        (b'{"a": {"dtype": "F16", "shape": [99999999999], "data_offsets": [0, 4]}}', "need"),
        (b'{"a": {"dtype": "F16", "shape": [2], "data_offsets": [0, 4]}, "b": {"dtype": "F16", "shape": [2], "data_offsets": [2, 6]}}', "overlap"),
        (b'{"__metadata__": [1]}', "__metadata__"),
        (b'{"a": NaN}', "not valid JSON"),
        (b"[" * 100000 + b"]" * 100000, "nested too deeply"),
        (b'{"a": "x"}', "not an object"),
    ],
)
def test_a_hostile_header_is_refused_in_one_line(raw, needle):
    with pytest.raises(InvalidData) as e:
        parse_header(raw, "repo/model.safetensors")
    assert needle in str(e.value)
    assert "\n" not in str(e.value)
    assert str(e.value).startswith("repo/model.safetensors: ")


@pytest.mark.parametrize("n", [0, 2**40, 2**64 - 1])
def test_an_absurd_length_prefix_is_refused(n):
    with pytest.raises(InvalidData):
        header_length(struct.pack("<Q", n), "f")


def test_a_length_prefix_past_the_end_of_the_file_is_refused():
    with pytest.raises(InvalidData, match="larger than the file"):
        header_length(struct.pack("<Q", 100), "f", file_size=50)


def test_a_file_shorter_than_its_prefix_is_refused():
    with pytest.raises(InvalidData, match="shorter than its 8-byte"):
        header_length(b"\x01\x00", "f")


def test_a_hundred_thousand_tensors_parse():
    doc = {f"t.{i}": entry(begin=8 * i) for i in range(100_000)}
    assert len(parse_header(json.dumps(doc).encode(), "big")) == 100_000


def test_header_only_sample_files_read_without_their_data():
    shard = next(SAMPLES.glob("*/model*.safetensors"))
    tensors = read_header(LocalRangeFile(shard))
    assert tensors and all(t.shape is not None for t in tensors.values())


def test_the_size_prediction_is_close_on_real_sample_headers():
    # The Hub reader sizes its first range read from this prediction: it must be near the truth.
    ratios = []
    for shard in sorted(SAMPLES.glob("*/*.safetensors")):
        raw = shard.read_bytes()
        n = struct.unpack("<Q", raw[:8])[0]
        names = [k for k in json.loads(raw[8:8 + n]) if k != "__metadata__"]
        ratios.append(estimate_header_length(names) / n)
    assert ratios
    assert 0.85 < sorted(ratios)[len(ratios) // 2] < 1.1


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_any_bytes_give_tensors_or_our_error(raw):
    with contextlib.suppress(InvalidData):
        parse_header(raw, "fuzz")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=12), json_values, max_size=6))
def test_any_json_object_gives_tensors_or_our_error(doc):
    with contextlib.suppress(InvalidData):
        parse_header(json.dumps(doc).encode(), "fuzz")
