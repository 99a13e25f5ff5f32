"""PyTorch `.bin` files (torch.save's zip format): tensor names, dtypes and shapes, never unpickled.

torch.save (>= 1.6) writes a zip archive of stored (uncompressed), 64-byte aligned members:
`<prefix>/data.pkl` first, then `.format_version`, `.storage_alignment`, `byteorder`, one
`data/<key>` per storage, `version`, `.data/serialization_id`, and at the end the central
directory and the end-of-central-directory record (zip64 past 4 GiB). Only three spans are read:

1. the head of the file: the local header of data.pkl and, predicted from the tensor names the
   index gives for the shard, data.pkl itself (torch writes it first; the head read also tells the
   file size and whether the file is a zip at all, so a legacy pickle costs one small read);
2. the tail: EOCD (+ zip64 locator and record) and the central directory, sized from the same
   prediction, with one exact extra read when the directory is larger than predicted;
3. whatever part of data.pkl the head read missed (or all of it if the directory puts it elsewhere).

data.pkl is then walked opcode by opcode (pickletools.genops parses, it executes nothing) while a
small simulated stack and memo follow the safe subset torch itself allows for weights
(`_rebuild_tensor_v2`, persistent_id('storage', ...), OrderedDict, ...). Any other global, such
as os.system, is reported and the file refused: nothing from the pickle is ever imported or called.
"""

from __future__ import annotations

import io
import pickletools
import re
import struct
import zlib
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from ..errors import InvalidData
from ..inert import inert, json_safe
from ..readout import TensorInfo
from ..transport.ranged import RangeFile
from .safetensors_header import MAX_DIM, MAX_NAME_CHARS, MAX_RANK, MAX_TENSORS

MAX_PICKLE_BYTES = 64_000_000  # data.pkl of a 1k-tensor shard is ~200 KB; more is hostile or not a state dict
MAX_CD_BYTES = 64_000_000
MAX_CD_ENTRIES = MAX_TENSORS + 10_000  # a storage per tensor, plus a handful of fixed members
# The walk of data.pkl is a loop, never recursion, and bounded in steps: torch.save writes about 20
# opcodes a tensor (a 100k-tensor file: ~2M, 3 s), so a pickle needing more is not a state dict.
MAX_PICKLE_OPS = 4_000_000
# Dict keys are hashed, and hashing a tuple recurses in C: a key nested 100k deep overflows the C
# stack (a segfault, not an exception). State-dict keys are strings; keys may be scalars or flat tuples.
_SCALAR_KEYS = (str, int, float, bytes, bool, type(None))
# Nested state dicts ({"model": {"encoder": {...}}}) are followed this deep, each dict once.
MAX_COLLECT_DEPTH = 4
_EOCD = b"PK\x05\x06"
_ZIP64_LOCATOR = b"PK\x06\x07"
_ZIP64_EOCD = b"PK\x06\x06"
_CDH = b"PK\x01\x02"
_LFH = b"PK\x03\x04"
_EOCD_LEN, _LOCATOR_LEN, _ZIP64_EOCD_LEN, _CDH_LEN, _LFH_LEN = 22, 20, 56, 46, 30
_MAX_COMMENT = 65_535
# torch.save before 1.6 (and with _use_new_zipfile_serialization=False): a run of pickles that
# starts with the magic number 0x1950a86a20f9469cfc6c as a LONG1.
_LEGACY = re.compile(rb"^\x80[\x02-\x05]\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19", re.DOTALL)

# Sizes measured on torch.save output (protocol 2): a tensor costs its name plus ~100 bytes of
# opcodes in data.pkl; a storage costs a 46-byte directory entry plus its member name.
_PICKLE_PER_TENSOR = 78
_PICKLE_BASE = 64
_CD_PER_ENTRY = _CDH_LEN
_ZIP64_ENTRY_EXTRA = 12  # miniz adds a zip64 extra field (the offset) to entries past 4 GiB
_CD_FIXED_ENTRIES = 6  # data.pkl, .format_version, .storage_alignment, byteorder, version, serialization_id

_STORAGE_DTYPES: dict[str, str | None] = {
    "DoubleStorage": "F64", "FloatStorage": "F32", "HalfStorage": "F16", "BFloat16Storage": "BF16",
    "LongStorage": "I64", "IntStorage": "I32", "ShortStorage": "I16", "CharStorage": "I8",
    "ByteStorage": "U8", "BoolStorage": "BOOL", "ComplexDoubleStorage": "C128", "ComplexFloatStorage": "C64",
    "QUInt8Storage": "QUINT8", "QInt8Storage": "QINT8", "QInt32Storage": "QINT32",
    "QUInt4x2Storage": "QUINT4X2", "QUInt2x4Storage": "QUINT2X4", "UntypedStorage": None,
}  # fmt: skip
_TORCH_DTYPES: dict[str, str] = {
    "float64": "F64", "float32": "F32", "float16": "F16", "bfloat16": "BF16", "int64": "I64",
    "int32": "I32", "int16": "I16", "int8": "I8", "uint8": "U8", "bool": "BOOL", "uint16": "U16",
    "uint32": "U32", "uint64": "U64", "float8_e4m3fn": "F8_E4M3", "float8_e5m2": "F8_E5M2",
    "float8_e4m3fnuz": "F8_E4M3FNUZ", "float8_e5m2fnuz": "F8_E5M2FNUZ", "float8_e8m0fnu": "F8_E8M0",
    "complex64": "C64", "complex128": "C128",
}  # fmt: skip
_QSCHEMES = ("per_tensor_affine", "per_tensor_symmetric", "per_channel_affine", "per_channel_symmetric",
             "per_channel_affine_float_qparams")
_REBUILDERS = ("_rebuild_tensor", "_rebuild_tensor_v2", "_rebuild_tensor_v3", "_rebuild_parameter",
               "_rebuild_parameter_with_state", "_rebuild_qtensor", "_rebuild_meta_tensor_no_storage",
               "_rebuild_sparse_tensor", "_rebuild_wrapper_subclass", "_rebuild_device_tensor_from_numpy",
               "_rebuild_device_tensor_from_cpu_tensor")
# The globals torch.load(weights_only=True) accepts for a state dict; anything else is refused.
_ALLOWED: frozenset[tuple[str, str]] = frozenset(
    {("collections", "OrderedDict"), ("collections", "Counter"), ("torch._tensor", "_rebuild_from_type_v2"),
     ("torch.nn.parameter", "Parameter"), ("torch", "Size"), ("torch", "Tensor"), ("torch", "device"),
     ("torch.serialization", "_get_layout"), ("_codecs", "encode")}
    | {(m, n) for m in ("builtins", "__builtin__") for n in ("set", "frozenset", "bytearray", "complex")}
    | {(m, n) for m in ("torch", "torch.cuda") for n in _STORAGE_DTYPES}
    | {("torch", n) for n in _TORCH_DTYPES}
    | {("torch", n) for n in _QSCHEMES}
    | {("torch._utils", n) for n in _REBUILDERS}
)


@dataclass
class TorchBin:
    tensors: dict[str, TensorInfo]
    note: str | None = None  # why there are no tensors (legacy pickle, TorchScript), never an error
    needed: int = 0  # metadata bytes the reader had to have: EOCD, directory, local header, data.pkl


@dataclass(frozen=True)
class _Entry:
    name: str
    method: int
    flags: int
    crc: int
    comp: int
    size: int
    offset: int


def estimate_pickle_bytes(names: list[str] | None, layers: int | None = None) -> int:
    if names:
        return _PICKLE_BASE + sum(len(n.encode()) + _PICKLE_PER_TENSOR for n in names)
    if layers and 0 < layers <= 10_000:
        return _PICKLE_BASE + layers * 10 * (40 + _PICKLE_PER_TENSOR)
    return 65_536


def estimate_directory_bytes(n_storages: int | None, prefix: str, file_size: int) -> int:
    n = (n_storages if n_storages is not None else 400) + _CD_FIXED_ENTRIES
    past_4g = max(0.0, 1 - 2**32 / file_size) if file_size else 0.0
    per = _CD_PER_ENTRY + len(prefix) + len("/data/") + len(str(n)) + _ZIP64_ENTRY_EXTRA * past_4g
    return _EOCD_LEN + int(n * per)


class _Spans:
    """The bytes read so far, by absolute offset; a request for a span fetches only what is missing."""

    def __init__(self, src: RangeFile) -> None:
        self.src = src
        self.chunks: list[tuple[int, bytes]] = []

    def add(self, start: int, data: bytes) -> None:
        self.chunks.append((start, data))

    def get(self, start: int, length: int) -> bytes:
        out = b""
        pos, end = start, start + length
        while pos < end:
            hit = next(((s, d) for s, d in self.chunks if s <= pos < s + len(d)), None)
            if hit is not None:
                s, d = hit
                piece = d[pos - s: end - s]
            else:
                nxt = min((s for s, _ in self.chunks if pos < s < end), default=end)
                piece = self.src.read(pos, nxt - pos)
                if not piece:
                    break
                self.add(pos, piece)
            out += piece
            pos += len(piece)
        if len(out) < length:
            raise InvalidData(f"file ends at byte {start + len(out)}, inside the zip structure", where=self.src.where)
        return out


def read_torch_bin(src: RangeFile, *, file: str, names: list[str] | None = None, layers: int | None = None) -> TorchBin:
    """Tensors of one torch.save zip file. `names` (from an index) or `layers` size the reads."""
    where = src.where
    prefix_guess = PurePosixPath(file).name.rsplit(".", 1)[0] or "archive"
    pkl_guess = estimate_pickle_bytes(names, layers)
    spans = _Spans(src)
    head_len = _LFH_LEN + len(prefix_guess) + len("/data.pkl") + 4 + 63 + pkl_guess
    head = src.read(0, head_len)
    spans.add(0, head)
    if not head.startswith(_LFH):
        if _LEGACY.match(head):
            return TorchBin({}, note=f"{where}: legacy torch pickle (before torch 1.6): not read, never unpickled")
        raise InvalidData("not a torch zip archive nor a legacy torch pickle", where=where)
    size = src.size()
    if size is None:
        raise InvalidData("file size unknown (no Content-Range)", where=where)
    n_storages = len(names) if names else (layers * 10 + 8 if layers and 0 < layers <= 10_000 else None)
    entries, cd_start, needed = _read_directory(spans, size, estimate_directory_bytes(n_storages, prefix_guess, size), where)
    if any(e.name.endswith(("/constants.pkl", "/code/")) or "/code/" in e.name for e in entries):
        return TorchBin({}, note=f"{where}: a TorchScript archive, not a state dict: not read", needed=needed)
    pkls = [e for e in entries if re.fullmatch(r"[^/]{1,255}/data\.pkl", e.name)]
    if not pkls:
        raise InvalidData("zip archive has no <prefix>/data.pkl: not a torch.save file", where=where)
    if len(pkls) > 1:
        raise InvalidData(f"zip archive has {len(pkls)} data.pkl members", where=where)
    raw, member_bytes = _read_member(spans, pkls[0], cd_start, where)
    tensors = tensors_from_pickle(raw, where, file=file)
    return TorchBin(tensors, needed=needed + member_bytes)


def _u16(b: bytes, o: int) -> int:
    return struct.unpack_from("<H", b, o)[0]


def _u32(b: bytes, o: int) -> int:
    return struct.unpack_from("<I", b, o)[0]


def _u64(b: bytes, o: int) -> int:
    return struct.unpack_from("<Q", b, o)[0]


def _read_directory(spans: _Spans, size: int, guess: int, where: str) -> tuple[list[_Entry], int, int]:
    """(entries, where the directory starts, bytes needed for EOCD + zip64 records + directory)."""
    if size < _EOCD_LEN:
        raise InvalidData(f"file is {size} bytes, too short for a zip archive", where=where)
    tail_len = min(size, guess + _LOCATOR_LEN + _ZIP64_EOCD_LEN)
    tail_start = size - tail_len
    tail = spans.get(tail_start, tail_len)
    # The EOCD is the last record; a comment may follow it, and a comment may contain the signature,
    # so the record whose comment length ends exactly at the end of the file is the real one.
    eocd = -1
    end = len(tail)
    while True:
        pos = tail.rfind(_EOCD, 0, end)
        if pos < 0 or len(tail) - pos > _EOCD_LEN + _MAX_COMMENT:
            break
        if pos + _EOCD_LEN <= len(tail) and pos + _EOCD_LEN + _u16(tail, pos + 20) == len(tail):
            eocd = pos
            break
        end = pos + 3
    if eocd < 0:
        if tail_start > 0 and tail_len < _EOCD_LEN + _MAX_COMMENT:
            # A long archive comment pushed the record out of the predicted tail: widen once.
            return _read_directory(spans, size, _EOCD_LEN + _MAX_COMMENT, where)
        raise InvalidData("no end-of-central-directory record: not a zip archive (or cut short)", where=where)
    eocd_abs = tail_start + eocd
    n_entries, cd_size, cd_off = _u16(tail, eocd + 10), _u32(tail, eocd + 12), _u32(tail, eocd + 16)
    needed = _EOCD_LEN + _u16(tail, eocd + 20)
    dir_end = eocd_abs
    if n_entries == 0xFFFF or cd_size == 0xFFFFFFFF or cd_off == 0xFFFFFFFF:
        if eocd_abs < _LOCATOR_LEN:
            raise InvalidData("zip64 archive without its zip64 locator", where=where)
        loc = spans.get(eocd_abs - _LOCATOR_LEN, _LOCATOR_LEN)
        if not loc.startswith(_ZIP64_LOCATOR):
            raise InvalidData("zip64 archive without its zip64 locator", where=where)
        rec_off = _u64(loc, 8)
        if rec_off + _ZIP64_EOCD_LEN > eocd_abs - _LOCATOR_LEN:
            raise InvalidData("zip64 end record points outside the archive", where=where)
        rec = spans.get(rec_off, _ZIP64_EOCD_LEN)
        if not rec.startswith(_ZIP64_EOCD):
            raise InvalidData("zip64 end record is missing", where=where)
        n_entries, cd_size, cd_off = _u64(rec, 32), _u64(rec, 40), _u64(rec, 48)
        needed += _LOCATOR_LEN + _ZIP64_EOCD_LEN
        dir_end = rec_off
    if cd_size > MAX_CD_BYTES or n_entries > MAX_CD_ENTRIES:
        raise InvalidData(f"central directory of {cd_size} bytes / {n_entries} entries is past the limits", where=where)
    if cd_off + cd_size > dir_end:
        raise InvalidData("central directory runs past the end records", where=where)
    cd = spans.get(cd_off, cd_size)
    needed += cd_size
    return _parse_directory(cd, n_entries, cd_off, where), cd_off, needed


def _parse_directory(cd: bytes, n_entries: int, cd_off: int, where: str) -> list[_Entry]:
    entries: list[_Entry] = []
    pos = 0
    for i in range(n_entries):
        if pos + _CDH_LEN > len(cd) or cd[pos: pos + 4] != _CDH:
            raise InvalidData(f"central directory entry {i} is malformed", where=where)
        flags, method, crc = _u16(cd, pos + 8), _u16(cd, pos + 10), _u32(cd, pos + 16)
        comp, usize = _u32(cd, pos + 20), _u32(cd, pos + 24)
        nlen, xlen, clen = _u16(cd, pos + 28), _u16(cd, pos + 30), _u16(cd, pos + 32)
        offset = _u32(cd, pos + 42)
        end = pos + _CDH_LEN + nlen + xlen + clen
        if end > len(cd):
            raise InvalidData(f"central directory entry {i} runs past the directory", where=where)
        raw_name = cd[pos + _CDH_LEN: pos + _CDH_LEN + nlen]
        extra = cd[pos + _CDH_LEN + nlen: pos + _CDH_LEN + nlen + xlen]
        if usize == 0xFFFFFFFF or comp == 0xFFFFFFFF or offset == 0xFFFFFFFF:
            usize, comp, offset = _zip64_extra(extra, usize, comp, offset, where)
        if offset >= cd_off:
            raise InvalidData(f"member {i} starts inside the central directory", where=where)
        # Only data.pkl and the TorchScript markers matter: the storages' entries are checked, not kept.
        if raw_name.endswith((b"/data.pkl", b"/constants.pkl")) or b"/code/" in raw_name:
            try:
                name = raw_name.decode("utf-8")
            except UnicodeDecodeError:
                name = raw_name.decode("cp437")
            entries.append(_Entry(name, method, flags, crc, comp, usize, offset))
        pos = end
    return entries


def _zip64_extra(extra: bytes, usize: int, comp: int, offset: int, where: str) -> tuple[int, int, int]:
    pos = 0
    while pos + 4 <= len(extra):
        tag, n = _u16(extra, pos), _u16(extra, pos + 2)
        body = extra[pos + 4: pos + 4 + n]
        if tag == 1:
            vals = [struct.unpack_from("<Q", body, i)[0] for i in range(0, len(body) - 7, 8)]
            it = iter(vals)
            try:
                if usize == 0xFFFFFFFF:
                    usize = next(it)
                if comp == 0xFFFFFFFF:
                    comp = next(it)
                if offset == 0xFFFFFFFF:
                    offset = next(it)
            except StopIteration:
                raise InvalidData("zip64 extra field is too short", where=where) from None
            return usize, comp, offset
        pos += 4 + n
    raise InvalidData("zip64 sizes without a zip64 extra field", where=where)


def _read_member(spans: _Spans, e: _Entry, cd_start: int, where: str) -> tuple[bytes, int]:
    label = inert(e.name, 120)
    if e.flags & 1:
        raise InvalidData(f"{label} is encrypted", where=where)
    if e.method not in (0, 8):
        raise InvalidData(f"{label} uses zip compression method {e.method} (only stored or deflate)", where=where)
    if e.comp > MAX_PICKLE_BYTES or e.size > MAX_PICKLE_BYTES:
        raise InvalidData(f"{label} is {max(e.comp, e.size)} bytes (limit {MAX_PICKLE_BYTES})", where=where)
    local = spans.get(e.offset, _LFH_LEN)
    if not local.startswith(_LFH):
        raise InvalidData(f"{label}: no local file header at offset {e.offset}", where=where)
    nlen, xlen = _u16(local, 26), _u16(local, 28)
    if spans.get(e.offset + _LFH_LEN, nlen).decode("utf-8", "replace") != e.name:
        raise InvalidData(f"{label}: local header names another member", where=where)
    start = e.offset + _LFH_LEN + nlen + xlen
    if start + e.comp > cd_start:
        raise InvalidData(f"{label} runs into the central directory", where=where)
    raw = spans.get(start, e.comp)
    if e.method == 8:
        d = zlib.decompressobj(-15)
        try:
            out = d.decompress(raw, MAX_PICKLE_BYTES + 1)
        except zlib.error as err:
            raise InvalidData(f"{label} does not inflate ({err})", where=where) from None
        if len(out) > MAX_PICKLE_BYTES or d.unconsumed_tail:
            raise InvalidData(f"{label} inflates past {MAX_PICKLE_BYTES} bytes", where=where)
        raw = out
    if len(raw) != e.size:
        raise InvalidData(f"{label} is {len(raw)} bytes, the directory says {e.size}", where=where)
    if zlib.crc32(raw) != e.crc:
        raise InvalidData(f"{label} fails its CRC check", where=where)
    return raw, _LFH_LEN + nlen + xlen + e.comp


# --- the static pickle reader -------------------------------------------------------------------


class _Global:
    __slots__ = ("module", "name")

    def __init__(self, module: str, name: str) -> None:
        self.module, self.name = module, name


class _Storage:
    __slots__ = ("dtype",)

    def __init__(self, dtype: str | None) -> None:
        self.dtype = dtype


class _Tensor:
    __slots__ = ("dtype", "shape")

    def __init__(self, dtype: str | None, shape: tuple[int, ...] | None) -> None:
        self.dtype, self.shape = dtype, shape


class _Opaque:
    """The result of an allowed call whose value does not matter here (a set, a layout, ...)."""

    __slots__ = ()


_MARK = object()


def _global(module: object, name: object, where: str) -> _Global:
    if not isinstance(module, str) or not isinstance(name, str):
        raise InvalidData("pickle builds a global from non-strings", where=where)
    if (module, name) not in _ALLOWED:
        raise InvalidData(f"pickle references {inert(f'{module}.{name}', 120)}: refused, not executed", where=where)
    return _Global(module, name)


def tensors_from_pickle(data: bytes, where: str, *, file: str | None = None) -> dict[str, TensorInfo]:
    """Walk data.pkl's opcodes on a simulated stack; no object from the file is ever created or called."""
    result = _simulate(data, where)
    found: dict[str, _Tensor] = {}
    if isinstance(result, dict):
        top_tensors = any(isinstance(v, _Tensor) for v in result.values())
        for wrapper in ("state_dict", "model", "module", "model_state_dict"):
            inner = result.get(wrapper)
            if not top_tensors and isinstance(inner, dict):
                result = inner
                break
        _collect(result, found, where)
    tensors: dict[str, TensorInfo] = {}
    for name, t in found.items():
        # A pickle's strings may hold lone surrogates (BINUNICODE is decoded with surrogatepass).
        name = json_safe(name)
        tensors[name] = TensorInfo(name=name, dtype=t.dtype, shape=t.shape, file=file)
    return tensors


def _collect(top: dict, out: dict[str, _Tensor], where: str) -> None:
    """Tensors of a (possibly nested) state dict: a loop over a work list, each dict visited once, so
    a dict holding itself a thousand times costs a thousand steps, not a thousand to the fourth."""
    todo: list[tuple[dict, str, int]] = [(top, "", 0)]
    seen = {id(top)}
    steps = 0
    while todo:
        obj, prefix, depth = todo.pop()
        for k, v in obj.items():
            steps += 1
            if steps > MAX_PICKLE_OPS:
                raise InvalidData("pickle holds too many entries to walk", where=where)
            if not isinstance(k, str):
                continue
            name = f"{prefix}.{k}" if prefix else k
            if isinstance(v, _Tensor):
                if len(name) > MAX_NAME_CHARS:
                    raise InvalidData(f"tensor name of {len(name)} characters", where=where)
                out[name] = v
                if len(out) > MAX_TENSORS:
                    raise InvalidData(f"pickle holds more than {MAX_TENSORS} tensors (the limit per repo)", where=where)
            elif isinstance(v, dict) and depth < MAX_COLLECT_DEPTH and id(v) not in seen:
                seen.add(id(v))
                todo.append((v, name, depth + 1))


def _shape(v: object, where: str) -> tuple[int, ...]:
    if not isinstance(v, tuple | list) or len(v) > MAX_RANK:
        raise InvalidData("a tensor's size is not a short tuple", where=where)
    if not all(isinstance(d, int) and not isinstance(d, bool) and 0 <= d <= MAX_DIM for d in v):
        raise InvalidData("a tensor's size holds an invalid dimension", where=where)
    return tuple(v)


def _call(func: object, args: object, where: str, depth: int = 0) -> Any:
    """What an allowed global would return, computed from its arguments without running anything."""
    if not isinstance(func, _Global):
        raise InvalidData("pickle calls something that is not an allowed global", where=where)
    if not isinstance(args, tuple):
        raise InvalidData(f"pickle calls {func.module}.{func.name} without an argument tuple", where=where)
    name = func.name
    if func.module == "collections":
        return {}  # OrderedDict() / Counter(): the items follow as SETITEMS
    if func.module == "torch._utils":
        if name in ("_rebuild_tensor", "_rebuild_tensor_v2", "_rebuild_qtensor", "_rebuild_tensor_v3"):
            if len(args) < 3 or not isinstance(args[0], _Storage):
                raise InvalidData(f"{name} without a storage and a size", where=where)
            dtype = args[0].dtype
            if name == "_rebuild_tensor_v3" and len(args) > 6 and isinstance(args[6], _Global):
                dtype = _TORCH_DTYPES.get(args[6].name)
            return _Tensor(dtype, _shape(args[2], where))
        if name in ("_rebuild_parameter", "_rebuild_parameter_with_state"):
            return args[0] if args and isinstance(args[0], _Tensor) else _Opaque()
        if name == "_rebuild_meta_tensor_no_storage" and len(args) >= 2 and isinstance(args[0], _Global):
            return _Tensor(_TORCH_DTYPES.get(args[0].name), _shape(args[1], where))
        return _Opaque()
    if func.module == "torch._tensor":  # _rebuild_from_type_v2(func, new_type, args, state)
        if len(args) >= 3 and depth < 4:
            return _call(args[0], args[2], where, depth + 1)
        return _Opaque()
    if (func.module, name) == ("torch", "Size"):
        return tuple(args[0]) if args and isinstance(args[0], tuple | list) else _Opaque()
    if (func.module, name) == ("_codecs", "encode"):
        return args[0].encode("latin-1", "replace") if args and isinstance(args[0], str) else b""
    if (func.module, name) == ("torch.nn.parameter", "Parameter"):
        return args[0] if args and isinstance(args[0], _Tensor) else _Opaque()
    return _Opaque()


def _simulate(data: bytes, where: str) -> Any:
    stack: list[Any] = []
    marks: list[int] = []
    memo: dict[int, Any] = {}

    def pop_mark() -> list[Any]:
        if not marks:
            raise InvalidData("pickle pops a mark that was never set", where=where)
        at = marks.pop()
        items = stack[at:]
        del stack[at:]
        return items

    def pop() -> Any:
        # As in CPython, a MARK opens a new frame: nothing below it can be popped.
        if len(stack) <= (marks[-1] if marks else 0):
            raise InvalidData("pickle stack underflow", where=where)
        return stack.pop()

    try:
        for step, (op, arg, _pos) in enumerate(pickletools.genops(io.BytesIO(data))):
            if step >= MAX_PICKLE_OPS:
                raise InvalidData(f"data.pkl runs past {MAX_PICKLE_OPS} opcodes: not a state dict", where=where)
            code = op.name
            if code in ("PROTO", "FRAME"):
                continue
            if code == "STOP":
                if len(stack) != 1 or marks:
                    raise InvalidData("pickle stops with an unbalanced stack", where=where)
                return stack[0]
            if code == "MARK":
                marks.append(len(stack))
            elif code in ("GLOBAL", "INST"):
                module, _, name = str(arg).partition(" ")
                g = _global(module, name, where)
                if code == "INST":
                    raise InvalidData(f"pickle instantiates {g.module}.{g.name} with INST: refused", where=where)
                stack.append(g)
            elif code == "STACK_GLOBAL":
                name = pop()
                module = pop()
                stack.append(_global(module, name, where))
            elif code in ("EXT1", "EXT2", "EXT4"):
                raise InvalidData("pickle uses the copyreg extension registry: refused, not executed", where=where)
            elif code in ("PERSID", "OBJ", "READONLY_BUFFER", "NEXT_BUFFER"):
                raise InvalidData(f"pickle uses {code}, which torch.save never writes: refused", where=where)
            elif code == "BINPERSID":
                pid = pop()
                if not (isinstance(pid, tuple) and len(pid) >= 2 and pid[0] == "storage" and isinstance(pid[1], _Global)
                        and pid[1].name in _STORAGE_DTYPES):
                    raise InvalidData("pickle has a persistent id that is not a torch storage", where=where)
                stack.append(_Storage(_STORAGE_DTYPES[pid[1].name]))
            elif code == "REDUCE":
                args = pop()
                func = pop()
                stack.append(_call(func, args, where))
            elif code == "NEWOBJ":
                args = pop()
                cls = pop()
                stack.append(_call(cls, args, where))
            elif code == "NEWOBJ_EX":
                pop()
                args = pop()
                cls = pop()
                stack.append(_call(cls, args, where))
            elif code == "BUILD":
                pop()  # the state (a state dict's _metadata, a parameter's attributes): not needed
                if not stack:
                    raise InvalidData("pickle BUILD on an empty stack", where=where)
            elif code in ("PUT", "BINPUT", "LONG_BINPUT"):
                if not stack:
                    raise InvalidData("pickle memoizes from an empty stack", where=where)
                memo[int(arg)] = stack[-1]
            elif code == "MEMOIZE":
                if not stack:
                    raise InvalidData("pickle memoizes from an empty stack", where=where)
                memo[len(memo)] = stack[-1]
            elif code in ("GET", "BINGET", "LONG_BINGET"):
                if int(arg) not in memo:
                    raise InvalidData(f"pickle reads memo slot {arg} before setting it", where=where)
                stack.append(memo[int(arg)])
            elif code == "POP":
                if len(stack) > (marks[-1] if marks else 0):
                    stack.pop()
                else:
                    pop_mark()
            elif code == "POP_MARK":
                pop_mark()
            elif code == "DUP":
                top = pop()
                stack.extend((top, top))
            elif code in ("NONE", "NEWTRUE", "NEWFALSE"):
                stack.append({"NONE": None, "NEWTRUE": True, "NEWFALSE": False}[code])
            elif code in ("INT", "BININT", "BININT1", "BININT2", "LONG", "LONG1", "LONG4", "FLOAT", "BINFLOAT",
                          "STRING", "BINSTRING", "SHORT_BINSTRING", "UNICODE", "BINUNICODE", "SHORT_BINUNICODE",
                          "BINUNICODE8", "BINBYTES", "SHORT_BINBYTES", "BINBYTES8", "BYTEARRAY8"):
                stack.append(arg)
            elif code == "EMPTY_DICT":
                stack.append({})
            elif code == "EMPTY_LIST":
                stack.append([])
            elif code == "EMPTY_TUPLE":
                stack.append(())
            elif code == "EMPTY_SET":
                stack.append(_Opaque())
            elif code == "TUPLE":
                stack.append(tuple(pop_mark()))
            elif code in ("TUPLE1", "TUPLE2", "TUPLE3"):
                n = int(code[-1])
                items = [pop() for _ in range(n)][::-1]
                stack.append(tuple(items))
            elif code == "LIST":
                stack.append(pop_mark())
            elif code == "DICT":
                items = pop_mark()
                stack.append(_pairs({}, items, where))
            elif code == "APPEND":
                v = pop()
                _target(stack, list, where).append(v)
            elif code == "APPENDS":
                items = pop_mark()
                _target(stack, list, where).extend(items)
            elif code == "SETITEM":
                v = pop()
                k = pop()
                _pairs(_target(stack, dict, where), [k, v], where)
            elif code == "SETITEMS":
                items = pop_mark()
                _pairs(_target(stack, dict, where), items, where)
            elif code in ("ADDITEMS",):
                pop_mark()
                _target(stack, _Opaque, where)
            elif code == "FROZENSET":
                pop_mark()
                stack.append(_Opaque())
            else:  # pragma: no cover - every opcode of protocols 0-5 is handled above
                raise InvalidData(f"pickle opcode {code} is not supported", where=where)
    except InvalidData:
        raise
    except (ValueError, IndexError, TypeError, OverflowError, UnicodeDecodeError, KeyError) as e:
        msg = " ".join(str(e).split())[:120]
        raise InvalidData(f"data.pkl is not a valid pickle ({type(e).__name__}: {msg})", where=where) from None
    raise InvalidData("data.pkl ends without STOP", where=where)


def _target(stack: list[Any], kind: type, where: str) -> Any:
    if not stack or not isinstance(stack[-1], kind):
        raise InvalidData(f"pickle adds items to something that is not a {kind.__name__.strip('_').lower()}", where=where)
    return stack[-1]


def _pairs(target: dict, items: list[Any], where: str) -> dict:
    if len(items) % 2:
        raise InvalidData("pickle sets a key without a value", where=where)
    for i in range(0, len(items), 2):
        k = items[i]
        if isinstance(k, list | dict) or (isinstance(k, tuple) and not (
                len(k) <= MAX_RANK and all(isinstance(x, _SCALAR_KEYS) for x in k))):
            raise InvalidData("pickle uses a dict key that is not a string, a number or a flat tuple", where=where)
        target[k] = items[i + 1]
    return target


# --- into a snapshot (shared by the local and the Hub readers) -----------------------------------


def config_layers(config: dict | None) -> int | None:
    for key in ("num_hidden_layers", "num_layers", "n_layer"):
        v = (config or {}).get(key)
        if isinstance(v, int) and not isinstance(v, bool):
            return v
    return None
