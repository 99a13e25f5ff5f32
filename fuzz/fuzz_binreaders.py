"""Fuzz the other readers of hostile bytes: torch.save zips and their data.pkl (walked, never
unpickled), GGUF metadata, and the head of tokenizer.json / tokenizer_config.json.

The first byte picks the reader; the rest is the file, served through an in-memory RangeFile.
"""

from __future__ import annotations

from _common import run

from inspector.formats.gguf import gguf_config, gguf_tokenizer, read_gguf
from inspector.formats.tokenizer import from_tokenizer_config, read_tokenizer_json_head
from inspector.formats.torchzip import read_torch_bin, tensors_from_pickle
from inspector.readout import IOStats


class BytesFile:
    def __init__(self, data: bytes) -> None:
        self.data, self.where, self.io = data, "fuzz/file", IOStats()

    def size(self) -> int | None:
        return len(self.data)

    def read(self, start: int, length: int) -> bytes:
        assert start >= 0 and length >= 0, (start, length)
        self.io.requests += 1
        out = self.data[start: start + length]
        self.io.bytes += len(out)
        return out


def test_one_input(data: bytes) -> None:
    if not data:
        return
    mode, body = data[0] % 5, data[1:]
    if mode == 0:
        tb = read_torch_bin(BytesFile(body), file="pytorch_model.bin", names=None, layers=2)
        assert all(t.shape is None or all(d >= 0 for d in t.shape) for t in tb.tensors.values())
    elif mode == 1:
        tensors_from_pickle(body, "fuzz/data.pkl", file="pytorch_model.bin")
    elif mode == 2:
        info = read_gguf(BytesFile(body))
        gguf_config(info)
        gguf_tokenizer(info)
    elif mode == 3:
        read_tokenizer_json_head(BytesFile(body))
    else:
        from_tokenizer_config(body, "fuzz/tokenizer_config.json")


if __name__ == "__main__":
    run(test_one_input)
