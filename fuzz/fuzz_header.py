"""Fuzz safetensors headers: a whole file (prefix, header, data) or, to reach the JSON checks
sooner, the header bytes alone. Every tensor accepted must be self-consistent. Inputs starting with
`=` are differential: a header the Hub's sharded-metadata answer carries, already parsed by a plain
json.loads, must give parsed_header exactly what parse_header gives for its bytes (tensors or error)."""

from __future__ import annotations

import json
import math

from _common import run

from inspector.errors import InvalidData
from inspector.formats.safetensors_header import (
    ITEMSIZE_BITS,
    MAX_HEADER_BYTES,
    estimate_header_length,
    header_length,
    parse_header,
    parsed_header,
)


def _outcome(read, arg) -> object:
    try:
        return read(arg, "fuzz", file="f.safetensors")
    except InvalidData as e:
        return e.one_line()


def test_one_input(data: bytes) -> None:
    if data[:1] == b"=":
        try:
            doc = json.loads(data[1:])
        except (ValueError, RecursionError):
            return
        try:
            raw = json.dumps(doc, separators=(",", ":")).encode()
        except (ValueError, RecursionError):
            return
        assert _outcome(parsed_header, doc) == _outcome(parse_header, raw)
        return
    if data[:1] == b"{":
        tensors = parse_header(data, "fuzz", file="f.safetensors")
    else:
        n = header_length(data[:8], "fuzz", file_size=len(data))
        assert 1 <= n <= MAX_HEADER_BYTES and 8 + n <= len(data)
        tensors = parse_header(data[8: 8 + n], "fuzz", data_size=len(data) - 8 - n, file="f.safetensors")
    for t in tensors.values():
        assert t.shape is not None and all(isinstance(d, int) and d >= 0 for d in t.shape)
        assert t.dtype is not None and (t.dtype not in ITEMSIZE_BITS or math.prod(t.shape) * ITEMSIZE_BITS[t.dtype] >= 0)
    assert estimate_header_length(tensors, len(data)) > 0


if __name__ == "__main__":
    run(test_one_input)
