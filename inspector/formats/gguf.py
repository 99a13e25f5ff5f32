"""GGUF files (llama.cpp): header, typed metadata and tensor infos by range reads, never the weights.

Layout (v2/v3, little-endian): `GGUF`, u32 version, u64 n_tensors, u64 n_kv; n_kv pairs (string key,
u32 type, value; strings are u64-length-prefixed, arrays are u32 element type + u64 count + items);
n_tensors infos (name, u32 n_dims, u64 dims[n_dims] innermost first, u32 ggml type, u64 offset);
padding to `general.alignment`; the data.

How large the metadata is is not written anywhere, and the tokenizer arrays dominate it (150k
length-prefixed token strings and as many merges: megabytes). So the reader is a cursor over a
growing window: each fetch is sized from what the parser expects next (inside a string array: the
elements left times the average length seen so far; in the tensor infos: the infos left times their
average), and arrays of fixed-size items (token types, scores) are skipped by arithmetic without
being fetched. String arrays must be read to be skipped: their bytes count as needed, yet only a
few special-looking tokens are kept, never the vocabulary.
"""

from __future__ import annotations

import hashlib
import math
import re
import struct
from dataclasses import dataclass, field, replace
from typing import Any

from ..errors import InvalidData
from ..inert import inert
from ..readout import Snapshot, TensorInfo
from ..transport.ranged import RangeFile
from .safetensors_header import MAX_DIM, MAX_NAME_CHARS, MAX_TENSORS

MAX_KV = 100_000  # llama.cpp writes ~40 keys; a vocabulary is one key holding an array
# Values walked (vocabulary strings count 1, values parsed one by one 4: keys, nested-array items):
# a 256k vocabulary plus as many merges is ~600k; runaway counts stop here instead of walking 512 MB
# twelve bytes at a time.
MAX_VALUES = 4_000_000
MAX_KEY_BYTES = 65_536
MAX_KEPT_STRING = 1_000_000  # longer strings are skipped by arithmetic, not kept
MAX_KEPT_ITEMS = 1_024  # numeric arrays up to this length are kept (per-layer head counts, ...)
MAX_METADATA_BYTES = 512_000_000
MAX_DIMS = 8
MAX_ARRAY_DEPTH = 3
MAX_SPECIALS = 512
MIN_FETCH = 16_384
MAX_FETCH = 16_000_000
_SLACK = 1.02

_SCALAR = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<B", 10: "<Q", 11: "<q", 12: "<d"}
_SIZE = {t: struct.calcsize(f) for t, f in _SCALAR.items()}
STRING, ARRAY = 8, 9
GGML_TYPES = {
    0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 6: "Q5_0", 7: "Q5_1", 8: "Q8_0", 9: "Q8_1", 10: "Q2_K",
    11: "Q3_K", 12: "Q4_K", 13: "Q5_K", 14: "Q6_K", 15: "Q8_K", 16: "IQ2_XXS", 17: "IQ2_XS", 18: "IQ3_XXS",
    19: "IQ1_S", 20: "IQ4_NL", 21: "IQ3_S", 22: "IQ2_S", 23: "IQ4_XS", 24: "I8", 25: "I16", 26: "I32",
    27: "I64", 28: "F64", 29: "IQ1_M", 30: "BF16", 34: "TQ1_0", 35: "TQ2_0", 39: "MXFP4", 40: "NVFP4", 41: "Q1_0",
}  # fmt: skip
FILE_TYPES = {
    0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1", 10: "Q2_K", 11: "Q3_K_S",
    12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S", 17: "Q5_K_M", 18: "Q6_K",
    19: "IQ2_XXS", 20: "IQ2_XS", 21: "Q2_K_S", 22: "IQ3_XS", 23: "IQ3_XXS", 24: "IQ1_S", 25: "IQ4_NL",
    26: "IQ3_S", 27: "IQ3_M", 28: "IQ2_S", 29: "IQ2_M", 30: "IQ4_XS", 31: "IQ1_M", 32: "BF16",
    36: "TQ1_0", 37: "TQ2_0", 38: "MXFP4_MOE", 39: "NVFP4", 40: "Q1_0",
}  # fmt: skip
# llama.cpp architecture names -> the transformers model_type they were converted from.
MODEL_TYPES = {
    "gptneox": "gpt_neox", "qwen2moe": "qwen2_moe", "qwen3moe": "qwen3_moe", "phi2": "phi", "command-r": "cohere",
    "deepseek2": "deepseek_v2", "glm4": "glm4", "chatglm": "chatglm", "starcoder": "gpt_bigcode",
}  # fmt: skip
# Tokens that look like control tokens (<|im_start|>, [gMASK], <s>, <eop>): kept while the
# vocabulary streams past, with their ids, so rules can see the specials of a GGUF's tokenizer.
_SPECIAL = re.compile(rb"(?:<\|[^|\s]{1,60}\|>|\[[A-Za-z]{1,20}\]|<[/a-z_]{1,20}>|sop|eop)\Z")


@dataclass
class GGUFInfo:
    version: int
    metadata: dict[str, Any]  # scalars, strings, small arrays; big arrays as {"type", "count"}
    tensors: dict[str, TensorInfo]
    token_count: int | None = None
    specials: list[tuple[int, str]] = field(default_factory=list)  # (id, token) of special-looking tokens
    needed: int = 0  # bytes the parser consumed (skipped fixed-size arrays excluded)
    data_offset: int = 0


class _Cursor:
    def __init__(self, src: RangeFile, where: str) -> None:
        self.src, self.where = src, where
        self.buf = b""
        self.base = 0  # file offset of buf[0]
        self.pos = 0
        self.needed = 0
        self.ahead = lambda: MIN_FETCH  # the parser's prediction of the bytes it reads next

    def ensure(self, n: int) -> None:
        end = self.pos + n
        have = self.base + len(self.buf)
        if self.base <= self.pos and end <= have:
            return
        if end > MAX_METADATA_BYTES:
            raise InvalidData(f"GGUF metadata runs past {MAX_METADATA_BYTES} bytes", where=self.where)
        if self.pos >= have:
            self.buf, self.base, have = b"", self.pos, self.pos
        else:
            self.buf, self.base = self.buf[self.pos - self.base:], self.pos
        want = max(end - have, min(max(int(self.ahead()), MIN_FETCH), MAX_FETCH))
        size = self.src.size()
        if size is not None:
            want = min(want, size - have)
        data = self.src.read(have, want) if want > 0 else b""
        self.buf += data
        if self.base + len(self.buf) < end:
            raise InvalidData(f"file ends at byte {self.base + len(self.buf)}, inside the GGUF metadata", where=self.where)

    def take(self, n: int) -> bytes:
        self.ensure(n)
        off = self.pos - self.base
        self.pos += n
        self.needed += n
        return self.buf[off: off + n]

    def skip(self, n: int) -> None:
        size = self.src.size()
        if size is not None and self.pos + n > size:
            raise InvalidData(f"a GGUF value runs past the end of the file ({self.pos + n} > {size})", where=self.where)
        self.pos += n

    def unpack(self, fmt: str) -> Any:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def string_len(self, limit: int, what: str) -> int:
        n = self.unpack("<Q")
        if n > limit:
            raise InvalidData(f"GGUF {what} of {n} bytes (limit {limit})", where=self.where)
        return n


class _Parser:
    def __init__(self, src: RangeFile, where: str) -> None:
        self.where = where
        self.cur = _Cursor(src, where)
        self.cur.ahead = self._ahead
        self.section = "kv"
        self.arr_left = 0
        self.arr_avg = 8.0
        self.tensors_left = 0
        self.tensor_avg = 56.0
        self.info = GGUFInfo(version=0, metadata={}, tensors={})
        self.values = 0

    def _count(self, n: int) -> None:
        self.values += n
        if self.values > MAX_VALUES:
            raise InvalidData(f"GGUF metadata holds more than {MAX_VALUES} values to walk: refused", where=self.where)

    def _ahead(self) -> float:
        if self.section == "strings":
            return self.arr_left * (8 + self.arr_avg) * _SLACK
        if self.section == "tensors":
            return self.tensors_left * self.tensor_avg * _SLACK
        return MIN_FETCH

    def parse(self) -> GGUFInfo:
        cur, where = self.cur, self.where
        magic = cur.take(4)
        if magic != b"GGUF":
            raise InvalidData("not a GGUF file (no GGUF magic)", where=where)
        version = cur.unpack("<I")
        if version in (1,):
            raise InvalidData("GGUF v1 is not supported (v2 and v3 are)", where=where)
        if version not in (2, 3):
            swapped = struct.unpack(">I", struct.pack("<I", version))[0]
            if swapped in (2, 3):
                raise InvalidData("big-endian GGUF is not supported", where=where)
            raise InvalidData(f"unknown GGUF version {version}", where=where)
        n_tensors, n_kv = cur.unpack("<Q"), cur.unpack("<Q")
        if n_kv > MAX_KV or n_tensors > MAX_TENSORS:
            raise InvalidData(f"GGUF claims {n_kv} metadata keys and {n_tensors} tensors (limits {MAX_KV}, {MAX_TENSORS} per repo)", where=where)
        self.info.version = version
        meta = self.info.metadata
        for _ in range(n_kv):
            key = cur.take(cur.string_len(MAX_KEY_BYTES, "key")).decode("utf-8", "replace")
            vtype = cur.unpack("<I")
            if key in meta:
                raise InvalidData(f"GGUF key '{inert(key, 80)}' appears twice", where=where)
            meta[key] = self._value(vtype, key, 0)
        self.section = "tensors"
        self.tensors_left = n_tensors
        start = cur.pos
        tensors = self.info.tensors
        for i in range(n_tensors):
            name = cur.take(cur.string_len(MAX_NAME_CHARS, "tensor name")).decode("utf-8", "replace")
            n_dims = cur.unpack("<I")
            if n_dims > MAX_DIMS:
                raise InvalidData(f"GGUF tensor '{inert(name, 80)}' has {n_dims} dimensions", where=where)
            dims = struct.unpack(f"<{n_dims}Q", cur.take(8 * n_dims))
            if any(d > MAX_DIM for d in dims):
                raise InvalidData(f"GGUF tensor '{inert(name, 80)}' has an impossible dimension", where=where)
            gtype = cur.unpack("<I")
            cur.unpack("<Q")  # offset into the data section: not needed to judge
            if name in tensors:
                raise InvalidData(f"GGUF tensor '{inert(name, 80)}' appears twice", where=where)
            # ggml lists dims innermost first; PyTorch (and the rules) outermost first.
            tensors[name] = TensorInfo(name=name, dtype=GGML_TYPES.get(gtype, f"GGML_{gtype}"), shape=tuple(reversed(dims)))
            self.tensors_left = n_tensors - i - 1
            self.tensor_avg = (cur.pos - start) / (i + 1)
        align = meta.get("general.alignment", 32)
        align = align if isinstance(align, int) and 0 < align <= 1 << 20 else 32
        self.info.data_offset = cur.pos + (-cur.pos % align)
        self.info.needed = cur.needed
        return self.info

    def _value(self, vtype: int, key: str, depth: int) -> Any:
        cur = self.cur
        self._count(4)  # a value parsed one by one costs about four string elements of a vocabulary
        if vtype in _SCALAR:
            v = cur.unpack(_SCALAR[vtype])
            if vtype == 7:
                if v > 1:
                    raise InvalidData(f"GGUF bool '{inert(key, 80)}' is {v}", where=self.where)
                return bool(v)
            return _f32(v) if vtype == 6 else v
        if vtype == STRING:
            n = cur.unpack("<Q")
            if n > MAX_KEPT_STRING:
                cur.skip(n)
                return {"type": "string", "bytes": n}
            return cur.take(n).decode("utf-8", "replace")
        if vtype == ARRAY:
            if depth >= MAX_ARRAY_DEPTH:
                raise InvalidData(f"GGUF array '{inert(key, 80)}' is nested too deeply", where=self.where)
            etype, count = cur.unpack("<I"), cur.unpack("<Q")
            if etype in _SCALAR:
                if count <= MAX_KEPT_ITEMS:
                    fmt = _SCALAR[etype]
                    raw = cur.take(_SIZE[etype] * count)
                    return [v for (v,) in struct.iter_unpack(fmt, raw)]
                cur.skip(_SIZE[etype] * count)  # token types, scores: skipped, never fetched
                return {"type": _SCALAR[etype], "count": count}
            if etype == STRING:
                return self._strings(key, count)
            if etype == ARRAY:
                for _ in range(count):
                    self._value(ARRAY, key, depth + 1)
                return {"type": "array", "count": count}
            raise InvalidData(f"GGUF array '{inert(key, 80)}' has unknown element type {etype}", where=self.where)
        raise InvalidData(f"GGUF key '{inert(key, 80)}' has unknown type {vtype}", where=self.where)

    def _strings(self, key: str, count: int) -> Any:
        """Walk a string array in the buffer; keep it only when small, keep specials of the vocabulary."""
        cur = self.cur
        is_vocab = key == "tokenizer.ggml.tokens"
        keep = count <= MAX_KEPT_ITEMS and not is_vocab
        kept: list[str] = []
        specials = self.info.specials
        self.section, self.arr_left, self.arr_avg = "strings", count, 8.0
        total = 0
        unpack_len = struct.Struct("<Q").unpack_from
        i = 0
        while i < count:
            # The next element whole in the buffer (the cursor refills, sized by _ahead), then a fast
            # walk over everything buffered behind it.
            cur.ensure(8)
            (n,) = unpack_len(cur.buf, cur.pos - cur.base)
            if n > MAX_KEPT_STRING:
                raise InvalidData(f"GGUF array '{inert(key, 80)}' holds a string of {n} bytes", where=self.where)
            cur.ensure(8 + n)
            buf = cur.buf
            off = start = cur.pos - cur.base
            end = len(buf)
            before = i
            while i < count and off + 8 <= end:
                (n,) = unpack_len(buf, off)
                if off + 8 + n > end:
                    break
                if is_vocab and n <= 64 and len(specials) < MAX_SPECIALS and _SPECIAL.match(buf, off + 8, off + 8 + n):
                    specials.append((i, buf[off + 8: off + 8 + n].decode("utf-8", "replace")))
                elif keep:
                    kept.append(buf[off + 8: off + 8 + n].decode("utf-8", "replace"))
                off += 8 + n
                total += n
                i += 1
            self._count(i - before)
            cur.pos += off - start
            cur.needed += off - start
            self.arr_left = count - i
            self.arr_avg = total / i if i else 8.0
        self.section = "kv"
        if is_vocab:
            self.info.token_count = count
        return kept if keep else {"type": "string", "count": count}


def _f32(v: float) -> float:
    """The shortest decimal that is the same float32: 1e-05 stays 1e-05, not 9.999999747378752e-06."""
    packed = struct.pack("<f", v)
    for digits in range(6, 10):
        short = float(f"{v:.{digits}g}")
        if struct.pack("<f", short) == packed:
            return short
    return v


def read_gguf(src: RangeFile) -> GGUFInfo:
    """Metadata and tensor infos of one GGUF file; `needed` is what the parser had to consume."""
    return _Parser(src, src.where).parse()


def _first_int(v: Any) -> int | None:
    if isinstance(v, list):
        v = max((x for x in v if isinstance(x, int)), default=None)
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def gguf_config(info: GGUFInfo) -> dict[str, Any]:
    """A config.json-like dict synthesized from the GGUF metadata, so the same facts and rules apply."""
    m = info.metadata
    arch = m.get("general.architecture")
    arch = arch if isinstance(arch, str) else "unknown"
    p = f"{arch}."
    cfg: dict[str, Any] = {"model_type": MODEL_TYPES.get(arch, arch)}
    for gkey, ckey in (("embedding_length", "hidden_size"), ("block_count", "num_hidden_layers"),
                       ("feed_forward_length", "intermediate_size"), ("attention.head_count", "num_attention_heads"),
                       ("attention.head_count_kv", "num_key_value_heads"), ("context_length", "max_position_embeddings"),
                       ("attention.key_length", "head_dim"), ("expert_count", "num_local_experts"),
                       ("expert_used_count", "num_experts_per_tok"), ("vocab_size", "vocab_size")):
        v = _first_int(m.get(p + gkey))
        if v is not None:
            cfg[ckey] = v
    for gkey, ckey in (("rope.freq_base", "rope_theta"), ("attention.layer_norm_rms_epsilon", "rms_norm_eps"),
                       ("attention.layer_norm_epsilon", "layer_norm_eps")):
        v = m.get(p + gkey)
        if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v):  # f32 NaN/inf: not a value
            cfg[ckey] = float(v)
    if "vocab_size" not in cfg and info.token_count is not None:
        cfg["vocab_size"] = info.token_count
    rtype, rfactor = m.get(p + "rope.scaling.type"), m.get(p + "rope.scaling.factor")
    if isinstance(rtype, str) and rtype != "none":
        factor = isinstance(rfactor, int | float) and not isinstance(rfactor, bool) and math.isfinite(rfactor)
        cfg["rope_scaling"] = {"rope_type": rtype, **({"factor": float(rfactor)} if factor else {})}
    names = info.tensors
    if "token_embd.weight" in names:
        cfg["tie_word_embeddings"] = "output.weight" not in names
    file_type = m.get("general.file_type")
    ftype = FILE_TYPES.get(file_type, f"type {file_type}") if isinstance(file_type, int) else None
    cfg["quantization_config"] = {"quant_method": "gguf", **({"file_type": ftype} if ftype else {})}
    gg: dict[str, Any] = {"architecture": arch, "version": info.version}
    for key in ("name", "basename", "finetune", "size_label", "organization"):
        v = m.get(f"general.{key}")
        if isinstance(v, str):
            gg[key] = v[:200]
    if ftype:
        gg["file_type"] = ftype
    for key in ("model", "pre"):
        v = m.get(f"tokenizer.ggml.{key}")
        if isinstance(v, str):
            gg[f"tokenizer_{key}"] = v[:100]
    bases = [m.get(f"general.base_model.{i}.repo_url") or m.get(f"general.base_model.{i}.name") for i in range(8)]
    bases = [b[:200] for b in bases if isinstance(b, str)]
    if bases:
        gg["base_models"] = bases
    cfg["gguf"] = gg
    return cfg


def gguf_tokenizer(info: GGUFInfo) -> dict[str, Any]:
    """Tokenizer evidence embedded in the GGUF (read anyway with the metadata): no extra bytes."""
    m = info.metadata
    out: dict[str, Any] = {"source": "gguf"}
    if isinstance(m.get("tokenizer.ggml.model"), str):
        out["tokenizer_model"] = m["tokenizer.ggml.model"]
    if info.token_count is not None:
        out["vocab_size"] = info.token_count
    out["special_tokens"] = [t for _, t in info.specials]
    base = base_vocab(dict(info.specials))
    if base:
        out["base_vocab"] = base
    tmpl = m.get("tokenizer.chat_template")
    if isinstance(tmpl, str):
        out["chat_template_sha256"] = hashlib.sha256(tmpl.encode()).hexdigest()
    return out


def base_vocab(specials: dict[int, str]) -> int | None:
    """The id where the trailing run of special tokens starts: the size of the base vocabulary.

    Qwen's specials start at 151643, Llama-3's at 128000, GLM-4's at 151329; SentencePiece
    tokenizers put theirs at 0-2, which says nothing (None).
    """
    ids = sorted(specials, reverse=True)
    if len(ids) < 2:
        return None
    low = ids[0]
    for i in ids[1:]:
        if i != low - 1:
            break
        low = i
    return low if low > 1000 else None


def fill_gguf(snap: Snapshot, file: str, src: RangeFile, *, count_io: bool) -> None:
    """One GGUF file into the snapshot: tensors, and a synthesized config when config.json is absent."""
    snap.weights_format = "gguf"
    snap.shards_total = 1
    try:
        info = read_gguf(src)
    finally:
        if count_io:
            snap.io.add(src.io)
    snap.shards_read = 1
    snap.tensors = {n: replace(t, file=file) for n, t in info.tensors.items()}
    if snap.config is None and snap.config_status == "missing":
        snap.config = gguf_config(info)
        snap.config_status, snap.config_origin, snap.config_error = "ok", f"gguf:{file}", None
    if snap.tokenizer is None:
        snap.tokenizer = gguf_tokenizer(info)
