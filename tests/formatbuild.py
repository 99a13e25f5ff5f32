"""Writers for the weight formats the tests and tools/build_format_samples.py build (stdlib only).

* torch_zip(): a .bin as torch.save (>= 1.6) writes it: a zip of stored members, 64-byte aligned with
  the `FB` padding extra field, `<prefix>/data.pkl` first, then `.format_version`,
  `.storage_alignment`, `byteorder`, `data/<key>` per storage, `version`, `.data/serialization_id`,
  the central directory and the EOCD (zip64 records on request or past 4 GiB).
  data.pkl is produced by CPython's own pickler (protocol 2, like torch.save) with stand-ins that
  reduce exactly as torch's objects do: `_rebuild_tensor_v2(storage, offset, size, stride,
  requires_grad, OrderedDict())` and persistent ids `('storage', torch.<T>Storage, key, 'cpu', numel)`.
  `data_bytes` decides how much of each storage is really written (0 = a header-only copy).
* legacy_torch(): the start of a pre-1.6 torch.save file (magic number pickles).
* gguf_file(): a GGUF v3 file (header, typed metadata, tensor infos, aligned data) of the given size.
"""

from __future__ import annotations

import io
import math
import pickle
import struct
import zlib
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

STORAGE = {"F32": "FloatStorage", "F16": "HalfStorage", "BF16": "BFloat16Storage", "F64": "DoubleStorage",
           "I64": "LongStorage", "I32": "IntStorage", "I8": "CharStorage", "U8": "ByteStorage", "BOOL": "BoolStorage"}
ITEMSIZE = {"F32": 4, "F16": 2, "BF16": 2, "F64": 8, "I64": 8, "I32": 4, "I8": 1, "U8": 1, "BOOL": 1}


class Global:
    """A name pickled as GLOBAL without importing anything (one instance per name, like a class)."""

    _cache: dict[tuple[str, str], Global] = {}

    def __new__(cls, module: str, name: str) -> Global:
        key = (module, name)
        if key not in cls._cache:
            obj = super().__new__(cls)
            obj.module, obj.name = module, name
            cls._cache[key] = obj
        return cls._cache[key]

    def __call__(self, *args: Any) -> Any:  # pickle wants reduce functions callable; never called
        raise TypeError(f"{self.module}.{self.name} is a stand-in")


class FakeStorage:
    def __init__(self, key: str, dtype: str, numel: int) -> None:
        self.key, self.dtype, self.numel = key, dtype, numel


class FakeTensor:
    def __init__(self, storage: FakeStorage, shape: Sequence[int]) -> None:
        self.storage, self.shape = storage, tuple(shape)

    def __reduce_ex__(self, proto: int) -> tuple:
        stride, acc = [], 1
        for d in reversed(self.shape):
            stride.append(acc)
            acc *= d
        return (Global("torch._utils", "_rebuild_tensor_v2"),
                (self.storage, 0, self.shape, tuple(reversed(stride)), False, OrderedDict()))


class Call:
    """An arbitrary `func(*args)` reduce, for hostile pickles (never unpickled by the tests)."""

    def __init__(self, func: Global, args: tuple) -> None:
        self.func, self.args = func, args

    def __reduce_ex__(self, proto: int) -> tuple:
        return (self.func, self.args)


class _Pickler(pickle._Pickler):  # the pure-Python pickler: same opcodes as the C one torch uses
    dispatch = dict(pickle._Pickler.dispatch)

    def save_global_name(self, obj: Global) -> None:
        self.write(pickle.GLOBAL + obj.module.encode() + b"\n" + obj.name.encode() + b"\n")
        self.memoize(obj)

    dispatch[Global] = save_global_name

    def persistent_id(self, obj: Any) -> Any:
        if isinstance(obj, FakeStorage):
            return ("storage", Global("torch", STORAGE[obj.dtype]), obj.key, "cpu", obj.numel)
        return None


def state_pickle(tensors: Mapping[str, tuple[str, Sequence[int]]], *, ordered_metadata: bool = False,
                 extra: Mapping[str, Any] | None = None) -> tuple[bytes, list[FakeStorage]]:
    """data.pkl for a state dict {name: (dtype, shape)}; one storage per tensor, keys '0', '1', ..."""
    storages: list[FakeStorage] = []
    state: dict[str, Any] = OrderedDict() if ordered_metadata else {}
    for name, (dtype, shape) in tensors.items():
        st = FakeStorage(str(len(storages)), dtype, math.prod(shape))
        storages.append(st)
        state[name] = FakeTensor(st, shape)
    if extra:
        state.update(extra)
    if ordered_metadata:
        # model.state_dict() carries `_metadata` (an attribute, pickled as BUILD state)
        state._metadata = OrderedDict([("", {"version": 1})])  # type: ignore[attr-defined]
    buf = io.BytesIO()
    _Pickler(buf, protocol=2).dump(state)
    return buf.getvalue(), storages


def raw_pickle(obj: Any, protocol: int = 2) -> bytes:
    buf = io.BytesIO()
    _Pickler(buf, protocol=protocol).dump(obj)
    return buf.getvalue()


# --- zip ------------------------------------------------------------------------------------------


def _padding(cursor: int, name_len: int, size: int) -> bytes:
    """torch's getPadding: an `FB` extra field so that the member data starts on a 64-byte boundary."""
    start = cursor + 30 + name_len + 4
    if size >= 0xFFFFFFFF or cursor >= 0xFFFFFFFF:
        start += 4 + (16 if size >= 0xFFFFFFFF else 0) + (8 if cursor >= 0xFFFFFFFF else 0)
    pad = (64 - start % 64) % 64
    return b"FB" + struct.pack("<H", pad) + b"Z" * pad


def zip_archive(members: Sequence[tuple[str, bytes | int]], *, zip64: bool = False, compress: Sequence[str] = (),
                comment: bytes = b"") -> bytes:
    """Members in order; an int stands for that many zero bytes (the CD still records its size)."""
    out = io.BytesIO()
    central = []
    for name, data in members:
        raw = bytes(data) if isinstance(data, int) else data
        crc = zlib.crc32(raw)
        method, body = 0, raw
        if name in compress:
            c = zlib.compressobj(9, zlib.DEFLATED, -15)
            body, method = c.compress(raw) + c.flush(), 8
        offset = out.tell()
        nb = name.encode()
        extra = _padding(offset, len(nb), len(body)) if method == 0 else b""
        out.write(struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, method, 0, 0x21, crc, len(body), len(raw), len(nb), len(extra)))
        out.write(nb + extra + body)
        central.append((nb, method, crc, len(body), len(raw), offset))
    cd_start = out.tell()
    for nb, method, crc, comp, size, offset in central:
        x = b""
        c32, s32, o32 = comp, size, offset
        if zip64:
            x = struct.pack("<HHQQQ", 1, 24, size, comp, offset)
            c32 = s32 = o32 = 0xFFFFFFFF
        out.write(struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 45, 45 if zip64 else 20, 0, method, 0, 0x21,
                              crc, c32, s32, len(nb), len(x), 0, 0, 0, 0, o32))
        out.write(nb + x)
    cd_size = out.tell() - cd_start
    n = len(central)
    if zip64:
        rec = out.tell()
        out.write(struct.pack("<4sQHHIIQQQQ", b"PK\x06\x06", 44, 45, 45, 0, 0, n, n, cd_size, cd_start))
        out.write(struct.pack("<4sIQI", b"PK\x06\x07", 0, rec, 1))
        out.write(struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, len(comment)))
    else:
        out.write(struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, n, n, cd_size, cd_start, len(comment)))
    out.write(comment)
    return out.getvalue()


def torch_zip(tensors: Mapping[str, tuple[str, Sequence[int]]], *, prefix: str = "pytorch_model",
              data_bytes: int | None = 0, pickle_bytes: bytes | None = None, **kw: Any) -> bytes:
    """A torch.save zip of a state dict. data_bytes=None writes every storage in full."""
    pkl, storages = state_pickle(tensors) if pickle_bytes is None else (pickle_bytes, [])
    zip_kw = {k: kw.pop(k) for k in ("zip64", "compress", "comment") if k in kw}
    members: list[tuple[str, bytes | int]] = [(f"{prefix}/data.pkl", pkl), (f"{prefix}/.format_version", b"1"),
                                              (f"{prefix}/.storage_alignment", b"64"), (f"{prefix}/byteorder", b"little")]
    for st in storages:
        full = st.numel * ITEMSIZE[st.dtype]
        members.append((f"{prefix}/data/{st.key}", full if data_bytes is None else min(full, data_bytes)))
    members += [(f"{prefix}/version", b"3\n"), (f"{prefix}/.data/serialization_id", b"1234567890" * 4)]
    if "compress" in zip_kw:
        zip_kw["compress"] = [f"{prefix}/{c}" for c in zip_kw["compress"]]
    return zip_archive(members, **zip_kw)


def legacy_torch() -> bytes:
    """The first pickles of a pre-1.6 torch.save file: magic number, protocol version, sys info."""
    magic = pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2)
    return magic + pickle.dumps(1001, protocol=2) + pickle.dumps({"protocol_version": 1001, "little_endian": True}, protocol=2)


# --- GGUF -----------------------------------------------------------------------------------------

GGUF_TYPES = {"u8": 0, "i8": 1, "u16": 2, "i16": 3, "u32": 4, "i32": 5, "f32": 6, "bool": 7, "str": 8, "arr": 9,
              "u64": 10, "i64": 11, "f64": 12}
_PACK = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
GGML = {"F32": 0, "F16": 1, "Q4_0": 2, "Q8_0": 8, "Q4_K": 12, "Q5_K": 13, "Q6_K": 14, "BF16": 30}
_BLOCK = {0: (1, 4), 1: (1, 2), 2: (32, 18), 8: (32, 34), 12: (256, 144), 13: (256, 176), 14: (256, 210), 30: (1, 2)}


def _gstr(s: str | bytes) -> bytes:
    b = s.encode() if isinstance(s, str) else s
    return struct.pack("<Q", len(b)) + b


def _gvalue(t: int, v: Any) -> bytes:
    if t == 8:
        return _gstr(v)
    if t == 9:
        et, items = v
        body = b"".join(_gvalue(et, x) for x in items) if et in (8, 9) else struct.pack(f"<{len(items)}{_PACK[et][1]}", *items)
        return struct.pack("<IQ", et, len(items)) + body
    return struct.pack(_PACK[t], v)


def gguf_bytes(kv: Sequence[tuple[str, str, Any]], tensors: Sequence[tuple[str, str, Sequence[int]]], *,
               alignment: int = 32, version: int = 3) -> tuple[bytes, int]:
    """(metadata prefix incl. padding to the data section, data section size).

    kv: (key, type, value) with type in GGUF_TYPES, arrays as ("arr", (elem_type_name, items)).
    tensors: (name, ggml type name, ggml dims: ne[0] first, i.e. the PyTorch shape reversed).
    """
    out = io.BytesIO()
    out.write(b"GGUF" + struct.pack("<IQQ", version, len(tensors), len(kv)))
    for key, tname, value in kv:
        t = GGUF_TYPES[tname]
        if t == 9:
            value = (GGUF_TYPES[value[0]], value[1])
        out.write(_gstr(key) + struct.pack("<I", t) + _gvalue(t, value))
    offset = 0
    for name, ttype, dims in tensors:
        g = GGML[ttype]
        out.write(_gstr(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims))
        out.write(struct.pack("<IQ", g, offset))
        block, nbytes = _BLOCK[g]
        size = math.prod(dims) // block * nbytes
        offset += size + (-size % alignment)
    out.write(bytes(-out.tell() % alignment))
    return out.getvalue(), offset
