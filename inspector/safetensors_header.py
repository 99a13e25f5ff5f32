"""Parse and size safetensors headers without trusting them. Weights are never read.

Format: 8-byte little-endian header length N, then N bytes of JSON
(`{"__metadata__": {...}, name: {"dtype", "shape", "data_offsets"}}`), then the data.
"""

from __future__ import annotations

import json
import math
import re
import struct
from collections.abc import Iterable

from .errors import InvalidData
from .snapshot import TensorInfo

# safetensors itself refuses headers over 100 MB; a 31-shard 405B index holds ~1k tensors a shard,
# far below this, so anything larger is hostile or broken.
MAX_HEADER_BYTES = 100_000_000
MAX_TENSORS = 1_000_000
MAX_RANK = 16
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
    if n == 0 or n > MAX_HEADER_BYTES:
        raise InvalidData(f"safetensors header length {n} is outside 1..{MAX_HEADER_BYTES}", where=where)
    if file_size is not None and 8 + n > file_size:
        raise InvalidData(f"safetensors header length {n} is larger than the file ({file_size} bytes)", where=where)
    return n


def _reject_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    out = dict(pairs)
    if len(out) != len(pairs):  # rare: only then look for the culprit
        seen: set[str] = set()
        for k, _v in pairs:
            if k in seen:
                raise ValueError(f"duplicate key {k[:80]!r}")
            seen.add(k)
    return out


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not valid JSON")


# No count, size or id in a model file needs more digits; a longer integer cannot even become a
# float, so later comparisons would raise OverflowError.
MAX_INT_DIGITS = 300


# JSON numbers are ASCII: mapping every digit to one and looking for a run is a C-speed scan (a
# regex took 8 times as long as the parse itself on a 160 kB index).
_DIGITS_AS_NINE = bytes.maketrans(b"0123456789", b"9" * 10)
_LONG_RUN = b"9" * (MAX_INT_DIGITS + 1)


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise ValueError(f"an integer of {len(text.lstrip('-'))} digits (limit {MAX_INT_DIGITS})")
    return int(text)


def loads_strict(raw: bytes, what: str, where: str) -> object:
    """json.loads that refuses duplicate keys, NaN/Infinity, huge integers, non-UTF-8 and runaway nesting."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InvalidData(f"{what} is not UTF-8 (byte {e.start})", where=where) from None
    try:
        # The integer check costs a call per number: only pay it when a long digit run exists at all.
        parse_int = _bounded_int if _LONG_RUN in raw.translate(_DIGITS_AS_NINE) else None
        return json.loads(text, object_pairs_hook=_reject_duplicates, parse_constant=_reject_constant, parse_int=parse_int)
    except RecursionError:
        raise InvalidData(f"{what} is nested too deeply", where=where) from None
    except ValueError as e:
        msg = str(e).splitlines()[0][:160]
        raise InvalidData(f"{what} is not valid JSON: {msg}", where=where) from None


def parse_header(raw: bytes, where: str, *, data_size: int | None = None, file: str | None = None) -> dict[str, TensorInfo]:
    """Tensors of one header. `data_size` (bytes after the header) is checked only when known."""
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
            raise InvalidData(f"tensors {n0[:80]!r} and {n1[:80]!r} overlap in the data section", where=where)
    if data_size is not None and spans and spans[-1][1] > data_size:
        raise InvalidData(f"tensor {spans[-1][2][:80]!r} ends at byte {spans[-1][1]}, past the data section ({data_size} bytes)", where=where)
    return tensors


def _tensor(name: str, entry: object, where: str, file: str | None) -> tuple[TensorInfo, tuple[int, int]]:
    # Hot path (a header may list 100k tensors): `type(x) is int` refuses bools and floats in one test.
    if type(entry) is not dict:
        raise InvalidData(f"{_label(name)} is not an object", where=where)
    dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
    if type(dtype) is not str or (dtype not in ITEMSIZE_BITS and not _DTYPE_RE.match(dtype)):
        raise InvalidData(f"{_label(name)} has an invalid dtype {str(dtype)[:20]!r}", where=where)
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
    return f"tensor {name[:80]!r}"


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
