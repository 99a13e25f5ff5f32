"""What each hostile input costs the parsers: peak memory and CPU time, one child process a case.

    .venv/bin/python fuzz/costs.py            # every case, a table in Markdown
    .venv/bin/python fuzz/costs.py CASE...    # some

Each case builds its input first, then parses it; the figures are the growth of the child's peak
resident set (ru_maxrss) and its CPU time during the parse only, under a 2 GB address-space limit
(a case past it fails with MemoryError instead of taking the machine). CPU time varies with the
machine and its load: these figures are for the README, never for a test's assertion.
"""

from __future__ import annotations

import json
import os
import resource
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from inspector.errors import InspectorError  # noqa: E402

CASES: dict[str, Callable[[], Callable[[], object]]] = {}


def case(fn: Callable[[], Callable[[], object]]) -> Callable[[], Callable[[], object]]:
    CASES[fn.__name__.replace("_", "-")] = fn
    return fn


@case
def index_1m_tensors():
    from inspector.formats.plan import parse_index

    raw = ('{"weight_map": {' + ",".join(f'"model.layers.{i}.w": "model-1.safetensors"' for i in range(1_000_000)) + "}}").encode()
    return lambda: parse_index(raw, "idx")


@case
def index_399k_tensors():
    from inspector.formats.plan import parse_index

    raw = ('{"weight_map": {' + ",".join(f'"model.layers.{i}.w": "model-1.safetensors"' for i in range(399_000)) + "}}").encode()
    return lambda: parse_index(raw, "idx")


def _header(n: int) -> bytes:
    return ("{" + ",".join(f'"t{i}":{{"dtype":"U8","shape":[1],"data_offsets":[{i},{i + 1}]}}' for i in range(n)) + "}").encode()


@case
def header_1m_tensors():
    from inspector.formats.safetensors_header import parse_header

    raw = _header(1_000_000)
    return lambda: parse_header(raw, "h")


@case
def header_399k_tensors():
    from inspector.formats.safetensors_header import parse_header

    raw = _header(399_000)
    return lambda: parse_header(raw, "h")


@case
def json_100k_deep():
    from inspector.jsonread import loads_strict

    raw = b"[" * 100_000 + b"]" * 100_000
    return lambda: loads_strict(raw, "config.json", "c")


@case
def json_64mb_of_brackets():
    from inspector.jsonread import loads_strict

    raw = b"[" * 64_000_000
    return lambda: loads_strict(raw, "index", "i")


@case
def json_64mb_depth_63():
    from inspector.jsonread import loads_strict

    one = b"[1," * 62 + b"1" + b"]" * 62
    raw = b"[" + b",".join([one] * 250_000) + b"]"
    return lambda: loads_strict(raw, "index", "i")


@case
def pickle_tuple_key_1m_deep():
    from inspector.formats.torchzip import tensors_from_pickle

    raw = b"\x80\x02}" + b")" + b"\x85" * 1_000_000 + b"K\x01s."
    return lambda: tensors_from_pickle(raw, "data.pkl")


@case
def pickle_4m_opcodes():
    from inspector.formats.torchzip import MAX_PICKLE_OPS, tensors_from_pickle

    raw = b"\x80\x02]" + b"K\x01a" * (MAX_PICKLE_OPS // 2 + 10) + b"."
    return lambda: tensors_from_pickle(raw, "data.pkl")


@case
def pickle_self_holding_dict():
    from inspector.formats.torchzip import tensors_from_pickle

    items = b"".join(b"X\x05\x00\x00\x00" + f"k{i:04d}".encode() + b"h\x00" for i in range(10_000))
    raw = b"\x80\x02}q\x00(" + items + b"u."
    return lambda: tensors_from_pickle(raw, "data.pkl")


class _Bytes:
    def __init__(self, data: bytes) -> None:
        from inspector.readout import IOStats

        self.data, self.where, self.io = data, "f", IOStats()

    def size(self) -> int:
        return len(self.data)

    def read(self, start: int, length: int) -> bytes:
        return self.data[start: start + length]


@case
def gguf_nested_arrays_2pow40():
    from inspector.formats.gguf import MAX_VALUES, read_gguf

    key = b"a.b"
    raw = (b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", len(key)) + key + struct.pack("<I", 9)
           + struct.pack("<IQ", 9, 2**40) + struct.pack("<IQ", 0, 0) * (MAX_VALUES + 10))
    return lambda: read_gguf(_Bytes(raw))


@case
def gguf_strings_2pow40():
    from inspector.formats.gguf import read_gguf

    key = b"tokenizer.ggml.tokens"
    raw = (b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", len(key)) + key + struct.pack("<I", 9)
           + struct.pack("<IQ", 8, 2**40) + struct.pack("<Q", 0) * 5_000_000)
    return lambda: read_gguf(_Bytes(raw))


@case
def zip_dir_400k_entries():
    import zipfile

    from inspector.formats.torchzip import read_torch_bin

    path = Path(tempfile.mkdtemp()) / "pytorch_model.bin"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", b"\x80\x02}.")
        for i in range(400_000):
            z.writestr(f"archive/data/{i}", b"")
    raw = path.read_bytes()
    return lambda: read_torch_bin(_Bytes(raw), file="pytorch_model.bin")


@case
def tokenizer_head_400k_keys():
    from inspector.formats.tokenizer import read_tokenizer_json_head

    raw = b"{" + b",".join(b'"k%d":1' % i for i in range(400_000)) + b"}"
    return lambda: read_tokenizer_json_head(_Bytes(raw))


@case
def folder_30k_files_before_weights():
    from inspector.sources.local import read_local

    folder = Path(tempfile.mkdtemp()) / "m"
    folder.mkdir()
    for i in range(30_000):
        (folder / f"a{i:05d}.txt").touch()
    (folder / "config.json").write_text('{"model_type": "llama"}')
    head = json.dumps({"model.embed_tokens.weight": {"dtype": "F16", "shape": [2, 2], "data_offsets": [0, 8]}}).encode()
    (folder / "model.safetensors").write_bytes(struct.pack("<Q", len(head)) + head)
    return lambda: read_local(str(folder))


@case
def fifo_as_weights():
    from inspector.sources.local import read_local

    folder = Path(tempfile.mkdtemp()) / "m"
    folder.mkdir()
    (folder / "config.json").write_text('{"model_type": "llama"}')
    os.mkfifo(folder / "model.safetensors")
    return lambda: read_local(str(folder))


def child(name: str) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
    parse = CASES[name]()
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.process_time()
    try:
        out = parse()
        outcome = "accepted" if not hasattr(out, "weights_error") else f"read: {out.weights_error or 'ok'}"
    except InspectorError as e:
        outcome = f"refused: {e.message[:90]}"
    except MemoryError:
        outcome = "MemoryError (past 2 GB)"
    cpu = time.process_time() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0
    print(json.dumps({"case": name, "outcome": outcome, "cpu_s": round(cpu, 2), "peak_mb": round(rss / 1024, 1)}))


def main(names: list[str]) -> None:
    print("| case | outcome | CPU s | peak RSS growth MB |\n|---|---|---:|---:|")
    for name in names or list(CASES):
        r = subprocess.run([sys.executable, __file__, "--child", name], capture_output=True, text=True, check=False)
        if r.returncode != 0:
            print(f"| {name} | CRASH (exit {r.returncode}): {r.stderr.strip().splitlines()[-1:]} | | |")
            continue
        d = json.loads(r.stdout.strip().splitlines()[-1])
        print(f"| {name} | {d['outcome']} | {d['cpu_s']} | {d['peak_mb']} |", flush=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2])
    else:
        main(sys.argv[1:])
