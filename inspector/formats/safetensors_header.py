"""Parse and size safetensors headers without trusting them. Weights are never read.

Format: 8-byte little-endian header length N, then N bytes of JSON
(`{"__metadata__": {...}, name: {"dtype", "shape", "data_offsets"}}`), then the data.
"""

from __future__ import annotations

import math
import re
import struct
from collections.abc import Iterable

from ..errors import InvalidData
from ..inert import inert
from ..jsonread import loads_strict
from ..readout import TensorInfo

# safetensors itself refuses headers over 100 MB; a 31-shard 405B index holds ~1k tensors a shard,
# far below this, so anything larger is hostile or broken.
MAX_HEADER_BYTES = 100_000_000
# Per repo, whatever the format: the largest real repos list about 300k tensors (a 1T-parameter MoE
# quantized with four tensors per expert projection); work and memory grow with the count, so a
# repo past this is refused (`invalid`), never truncated silently. Checked before parsing when the
# bytes alone already prove it (one `{` per tensor entry, four `"` per index entry).
MAX_TENSORS = 400_000
MAX_RANK = 16
# The longest tensor name in any format: real ones stay under 200 characters; rule patterns run over
# every name, so a megabyte-long name would cost every rule a megabyte.
MAX_NAME_CHARS = 4_096
MAX_DIM = 2**48
# No file holds a petabyte: offsets past this are hostile even when the data section's size is unknown.
MAX_OFFSET = 2**50

ITEMSIZE_BITS: dict[str, int] = {
    "BOOL": 8, "U8": 8, "I8": 8, "F8_E5M2": 8, "F8_E4M3": 8, "F8_E8M0": 8, "F8_E4M3FN": 8,
    "F8_E4M3FNUZ": 8, "F8_E5M2FNUZ": 8, "I16": 16, "U16": 16, "F16": 16, "BF16": 16, "I32": 32,
    "U32": 32, "F32": 32, "F64": 64, "I64": 64, "U64": 64, "C64": 64, "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6,
}
_DTYPE_RE = re.compile(r"^[A-Z][A-Z0-9_]{0,15}$")


def header_length(prefix: bytes, where: str, *, file_size: int | None = None) -> int:
    """The header length from the 8-byte prefix, refusing impossible values."""
    if len(prefix) < 8:
        raise InvalidData(f"safetensors file is {len(prefix)} bytes, shorter than its 8-byte length prefix", where=where)
    (n,) = struct.unpack("<Q", prefix[:8])
    # The value is not shown: for a file that is no safetensors file it is 8 bytes of its content.
    if n == 0 or n > MAX_HEADER_BYTES:
        raise InvalidData(f"safetensors header length is outside 1..{MAX_HEADER_BYTES}: not a safetensors file", where=where)
    if file_size is not None and 8 + n > file_size:
        raise InvalidData(f"safetensors header length is larger than the file ({file_size} bytes)", where=where)
    return n


def check_tensor_count(n: int, where: str) -> None:
    if n > MAX_TENSORS:
        raise InvalidData(f"more than {MAX_TENSORS} tensors (the limit per repo): refused", where=where)


def parse_header(raw: bytes, where: str, *, data_size: int | None = None, file: str | None = None) -> dict[str, TensorInfo]:
    """Tensors of one header. `data_size` (bytes after the header) is checked only when known."""
    if raw.count(b"{") > MAX_TENSORS + 2:  # one object a tensor: too many, known before parsing
        raise InvalidData(f"safetensors header lists more than {MAX_TENSORS} tensors (the limit per repo)", where=where)
    doc = loads_strict(raw, "safetensors header", where)
    if not isinstance(doc, dict):
        raise InvalidData(f"safetensors header is a JSON {type(doc).__name__}, not an object", where=where)
    if len(doc) > MAX_TENSORS + 1:
        raise InvalidData(f"safetensors header lists {len(doc)} entries (limit {MAX_TENSORS})", where=where)
    tensors: dict[str, TensorInfo] = {}
    spans: list[tuple[int, int, str]] = []
    for name, entry in doc.items():
        if name == "__metadata__":
            if not isinstance(entry, dict) or not all(isinstance(v, str) for v in entry.values()):
                raise InvalidData("safetensors __metadata__ must map strings to strings", where=where)
            continue
        info, span = _tensor(name, entry, where, file)
        tensors[name] = info
        if span[1] > span[0]:
            spans.append((span[0], span[1], name))
    spans.sort()
    for (_b0, e0, n0), (b1, _e1, n1) in zip(spans, spans[1:], strict=False):
        if b1 < e0:
            raise InvalidData(f"{_label(n0)} and {_label(n1)} overlap in the data section", where=where)
    if data_size is not None and spans and spans[-1][1] > data_size:
        raise InvalidData(f"{_label(spans[-1][2])} ends at byte {spans[-1][1]}, past the data section ({data_size} bytes)", where=where)
    return tensors


def _tensor(name: str, entry: object, where: str, file: str | None) -> tuple[TensorInfo, tuple[int, int]]:
    # Hot path (a header may list 100k tensors): `type(x) is int` refuses bools and floats in one test.
    if type(entry) is not dict:
        raise InvalidData(f"{_label(name)} is not an object", where=where)
    if len(name) > MAX_NAME_CHARS:
        raise InvalidData(f"{_label(name)} has a name of {len(name)} characters (limit {MAX_NAME_CHARS})", where=where)
    dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
    if type(dtype) is not str or (dtype not in ITEMSIZE_BITS and not _DTYPE_RE.match(dtype)):
        raise InvalidData(f"{_label(name)} has an invalid dtype '{inert(dtype, 20)}'", where=where)
    if type(shape) is not list or len(shape) > MAX_RANK:
        raise InvalidData(f"{_label(name)} has an invalid shape", where=where)
    for d in shape:
        if type(d) is not int or not 0 <= d <= MAX_DIM:
            raise InvalidData(f"{_label(name)} has an invalid shape", where=where)
    if type(offsets) is not list or len(offsets) != 2:
        raise InvalidData(f"{_label(name)} has invalid data_offsets", where=where)
    begin, end = offsets
    if type(begin) is not int or type(end) is not int or not 0 <= begin <= end <= MAX_OFFSET:
        raise InvalidData(f"{_label(name)} has invalid data_offsets", where=where)
    bits = ITEMSIZE_BITS.get(dtype)
    if bits is not None:
        nbytes = math.prod(shape) * bits
        if nbytes % 8 == 0 and nbytes // 8 != end - begin:
            raise InvalidData(f"{_label(name)}: data_offsets span {end - begin} bytes, its shape and dtype need {nbytes // 8}", where=where)
    return TensorInfo(name=name, dtype=dtype, shape=tuple(shape), file=file), (begin, end)


def _label(name: str) -> str:
    return f"tensor '{inert(name, 80)}'"


# An entry is its name plus fixed JSON (`"":{"dtype":"BF16","shape":[],"data_offsets":[,]},` = 50
# bytes), the shape's digits and the two offsets' digits, which grow with the shard's size.
_ENTRY_FIXED = 50
_HEADER_OVERHEAD = 40
_ONE_DIM = ("norm", "bias", "ln_", "layernorm", "scale", "inv_freq", "g_idx", "alibi")


def estimate_header_length(names: Iterable[str], shard_bytes: int | None = None) -> int:
    """A close guess of a shard's header length from the tensor names an index says it holds."""
    offset_digits = 2 * len(str(shard_bytes)) - 1 if shard_bytes and shard_bytes > 0 else 19
    total = _HEADER_OVERHEAD
    for n in names:
        leaf = n.rsplit(".", 2)[-2:]
        dims = 5 if any(m in part for part in leaf for m in _ONE_DIM) else 10
        total += len(n.encode()) + _ENTRY_FIXED + dims + offset_digits
    return total


def estimate_header_from_config(num_layers: int | None) -> int:
    """A guess for a single-file model with no index: about a dozen tensors of ~110 bytes a layer."""
    if not num_layers or num_layers <= 0 or num_layers > 10_000:
        return 32_768
    return 2_048 + num_layers * 1_100
