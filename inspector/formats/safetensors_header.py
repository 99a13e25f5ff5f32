"""Parse and size safetensors headers without trusting them. Weights are never read.

Format: 8-byte little-endian header length N, then N bytes of JSON
(`{"__metadata__": {...}, name: {"dtype", "shape", "data_offsets"}}`), then the data.
"""

from __future__ import annotations

import contextlib
import json
import math
import operator
import re
import struct
from collections.abc import Iterable

from ..errors import InvalidData
from ..inert import inert
from ..jsonread import MAX_JSON_VALUES, loads_strict
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
    """Tensors of one header's bytes. `data_size` (bytes after the header) is checked only when known."""
    if raw.count(b"{") > MAX_TENSORS + 2:  # one object a tensor: too many, known before parsing
        raise InvalidData(f"safetensors header lists more than {MAX_TENSORS} tensors (the limit per repo)", where=where)
    return check_header(loads_strict(raw, "safetensors header", where), where, data_size=data_size, file=file)


def parsed_header(doc: object, where: str, *, file: str | None = None) -> dict[str, TensorInfo]:
    """`parse_header` of a header a plain json.loads already parsed (the Hub's sharded-metadata answer):
    the same tensors and the same first error, without writing it out as JSON to parse it again.

    A header the strict reader would see otherwise than this dict shows (an entry with keys beyond
    its three, a name holding `{`, `[`, `,` or a lone surrogate, a size near a bound) or any error
    takes the byte route, which names the first error as parse_header does."""
    if type(doc) is dict:
        with contextlib.suppress(InvalidData):
            tensors = check_header(doc, where, file=file)
            if _reads_the_same(doc):
                return tensors
    return parse_header(json.dumps(doc, separators=(",", ":")).encode(), where, file=file)


def _reads_the_same(doc: dict) -> bool:
    """Whether `doc`, valid for check_header, written as JSON and read by loads_strict is `doc` again
    within every bound: then only its strings can differ (punctuation counted by the bounds, lone
    surrogates escaped); every number is a bounded int and nothing nests past three levels."""
    meta = doc.get("__metadata__")
    meta = meta if type(meta) is dict else {}
    tensors = len(doc) - ("__metadata__" in doc)
    # Each valid entry holds its three keys; sum of sizes tells whether any holds more.
    if sum(map(len, doc.values())) - len(meta) != 3 * tensors:
        return False
    # An entry writes at most 22 of the `,[{` that loads_strict counts as values (rank MAX_RANK).
    if (MAX_RANK + 6) * len(doc) + len(meta) + 2 > MAX_JSON_VALUES:
        return False
    text = "".join(doc) + "".join(meta) + "".join(meta.values())
    if "{" in text or "[" in text or "," in text:
        return False
    return text.isascii() or _encodes(text)


def _encodes(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: loads_strict escapes it
        return False
    return True


def check_header(doc: object, where: str, *, data_size: int | None = None, file: str | None = None) -> dict[str, TensorInfo]:
    """Tensors of one parsed header, every entry checked (the checks' one home)."""
    if not isinstance(doc, dict):
        raise InvalidData(f"safetensors header is a JSON {type(doc).__name__}, not an object", where=where)
    if len(doc) > MAX_TENSORS + 1:
        raise InvalidData(f"safetensors header lists {len(doc)} entries (limit {MAX_TENSORS})", where=where)
    tensors: dict[str, TensorInfo] = {}
    spans: list[tuple[int, int, str]] = []
    bits_of = ITEMSIZE_BITS.get
    for name, entry in doc.items():
        # Hot path (a header may list 100k tensors): every check of an entry in one expression, the
        # message found by _refuse only when one fails. `type(x) is int` refuses bools and floats.
        if type(entry) is dict and name != "__metadata__":
            dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
            if (type(dtype) is str and type(shape) is list and type(offsets) is list and len(offsets) == 2
                    and len(shape) <= MAX_RANK and len(name) <= MAX_NAME_CHARS
                    and (dtype in ITEMSIZE_BITS or _DTYPE_RE.match(dtype))):
                begin, end = offsets
                ok = type(begin) is int and type(end) is int and 0 <= begin <= end <= MAX_OFFSET
                for d in shape:
                    if type(d) is not int or not 0 <= d <= MAX_DIM:
                        ok = False
                bits = bits_of(dtype)
                if ok and bits is not None:
                    nbytes = math.prod(shape) * bits
                    ok = nbytes % 8 != 0 or nbytes // 8 == end - begin
                if ok:
                    tensors[name] = TensorInfo(name, dtype, tuple(shape), file)
                    if end > begin:
                        spans.append((begin, end, name))
                    continue
        elif name == "__metadata__":
            if not isinstance(entry, dict) or not all(isinstance(v, str) for v in entry.values()):
                raise InvalidData("safetensors __metadata__ must map strings to strings", where=where)
            continue
        _refuse(name, entry, where)
    _check_spans(spans, where, data_size)
    return tensors


def _refuse(name: str, entry: object, where: str) -> None:
    """The error of the first check a tensor's entry fails, each check in its order."""
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
    nbytes = math.prod(shape) * ITEMSIZE_BITS[dtype]
    raise InvalidData(f"{_label(name)}: data_offsets span {end - begin} bytes, its shape and dtype need {nbytes // 8}", where=where)


def _check_spans(spans: list[tuple[int, int, str]], where: str, data_size: int | None) -> None:
    """No two tensors' bytes overlap; none ends past the data section when its size is known."""
    if len(spans) > 1:
        spans.sort()
        begins, ends, _names = zip(*spans, strict=True)
        if any(map(operator.lt, begins[1:], ends)):  # at C speed; the pair is looked up only when there is one
            for (_b0, e0, n0), (b1, _e1, n1) in zip(spans, spans[1:], strict=False):
                if b1 < e0:
                    raise InvalidData(f"{_label(n0)} and {_label(n1)} overlap in the data section", where=where)
    if data_size is not None and spans and spans[-1][1] > data_size:
        raise InvalidData(f"{_label(spans[-1][2])} ends at byte {spans[-1][1]}, past the data section ({data_size} bytes)", where=where)


def _label(name: str) -> str:
    return f"tensor '{inert(name, 80)}'"


# An entry is its name plus fixed JSON (`"":{"dtype":"BF16","shape":[],"data_offsets":[,]},` = 50
# bytes), the shape's digits and the two offsets' digits, which grow with the shard's size.
_ENTRY_FIXED = 50
_HEADER_OVERHEAD = 40
# A tensor whose last two name segments hold one of these words has one dimension (5 digits, not 10).
_ONE_DIM = re.compile("norm|bias|ln_|layernorm|scale|inv_freq|g_idx|alibi")


def estimate_header_length(names: Iterable[str], shard_bytes: int | None = None) -> int:
    """A close guess of a shard's header length from the tensor names an index says it holds."""
    names = list(names)
    offset_digits = 2 * len(str(shard_bytes)) - 1 if shard_bytes and shard_bytes > 0 else 19
    # The last two segments start after the second dot from the end (the words hold no dot).
    one_dim = sum(1 for n in names if _ONE_DIM.search(n, n.rfind(".", 0, max(n.rfind("."), 0)) + 1))
    return (_HEADER_OVERHEAD + len("".join(names).encode()) + len(names) * (_ENTRY_FIXED + 10 + offset_digits)
            - 5 * one_dim)


def estimate_header_from_config(num_layers: int | None) -> int:
    """A guess for a single-file model with no index: about a dozen tensors of ~110 bytes a layer."""
    if not num_layers or num_layers <= 0 or num_layers > 10_000:
        return 32_768
    return 2_048 + num_layers * 1_100
