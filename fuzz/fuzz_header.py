"""Fuzz a whole safetensors file (prefix + header + data): header_length then parse_header."""

from __future__ import annotations

from _common import run

from inspector.safetensors_header import estimate_header_length, header_length, parse_header


def test_one_input(data: bytes) -> None:
    n = header_length(data[:8], "fuzz", file_size=len(data))
    tensors = parse_header(data[8: 8 + n], "fuzz", data_size=len(data) - 8 - n, file="f.safetensors")
    for t in tensors.values():
        assert t.shape is not None and t.numel is not None and t.numel >= 0
    estimate_header_length(tensors, len(data))


if __name__ == "__main__":
    run(test_one_input)
