"""Snapshot -> Facts: normalised config values, derived values and a tensor index, computed once."""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from .formats.safetensors_header import ITEMSIZE_BITS
from .patterns import skeleton
from .readout import Snapshot, TensorInfo

_LAYER_CONTAINERS = {"layers", "h", "layer", "blocks", "block", "decoder_layers", "blk"}  # blk: GGUF
_QUANT_MARKERS = {
    "gptq": (".qweight", ".qzeros", ".g_idx"),
    "bnb": (".SCB", ".weight_format", ".quant_state", ".absmax"),
}


def config_get(config: dict[str, Any] | None, path: str) -> tuple[bool, Any]:
    """(found, value) for a dotted path; a list index may be a number component."""
    if "." not in path and type(config) is dict:  # most paths: one key
        return (True, config[path]) if path in config else (False, None)
    cur: Any = config
    for part in path.split("."):
        if isinstance(cur, dict) and part in cur:
            cur = cur[part]
        elif isinstance(cur, list) and part.isdigit() and int(part) < len(cur):
            cur = cur[int(part)]
        else:
            return False, None
    return True, cur


@dataclass
class TensorIndex:
    """Tensor names grouped by skeleton (layer numbers as `#`), so a pattern is tried once per group."""

    by_skeleton: dict[str, list[TensorInfo]] = field(default_factory=dict)
    count: int = 0
    # params_of's answer: the facts and the traits both ask for it.
    params: tuple[int | None, bool, dict[str, int]] | None = field(default=None, repr=False, compare=False)

    @cached_property
    def every_shape(self) -> bool:
        """Whether every tensor's shape is known (every header was read, none only named by an index)."""
        return all(t.shape is not None for group in self.by_skeleton.values() for t in group)

    @classmethod
    def build(cls, tensors: dict[str, TensorInfo]) -> TensorIndex:
        groups: dict[str, list[TensorInfo]] = defaultdict(list)
        for t in tensors.values():
            groups[skeleton(t.name)].append(t)
        return cls(dict(groups), len(tensors))


@dataclass
class Facts:
    values: dict[str, Any]
    sources: dict[str, str]  # fact -> where it came from ("config:num_hidden_layers", "derived", ...)
    config: dict[str, Any]
    tensors: TensorIndex
    files: list[str]
    snapshot: Snapshot

    def get(self, name: str) -> tuple[bool, Any]:
        if name in self.values:
            return True, self.values[name]
        return False, None


_NUMERIC = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?")


def _number(v: Any) -> Any:
    """Numbers written as strings ("4096") count as numbers; NaN/inf and bools do not."""
    if isinstance(v, bool):
        return v
    if isinstance(v, str):
        # ASCII only: str.strip() also drops \x1c-\x1f, which float() refuses; \d would take any
        # script's digits. Longer than 40 characters is no count nor size (and would be inf).
        s = v.strip(" \t\r\n")
        if len(s) <= 40 and _NUMERIC.fullmatch(s):
            f = float(s)
            if not math.isfinite(f):  # "1e400"
                return None
            return int(f) if f.is_integer() and "." not in s and "e" not in s.lower() else f
        return v
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, int) and v.bit_length() > 1000:  # no float holds it: comparisons would overflow
        return None
    return v


def build_facts(snap: Snapshot, fact_paths: dict[str, list[str]]) -> Facts:
    config = snap.config if isinstance(snap.config, dict) else {}
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for name, paths in fact_paths.items():
        for p in paths:
            found, v = config_get(config, p)
            if found and v is not None:
                v = _number(v)
                if v is None:
                    continue
                values[name] = v
                sources[name] = f"config:{p}"
                break
    index = TensorIndex.build(snap.tensors)
    _derive(values, sources, config, snap, index)
    return Facts(values, sources, config, index, list(snap.files), snap)


def _set(values: dict, sources: dict, name: str, v: Any, src: str = "derived") -> None:
    if v is not None and name not in values:
        values[name] = v
        sources[name] = src


def _int(v: Any) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) else None


_EMBEDDINGS = ("embed_tokens.weight", "wte.weight", "word_embeddings.weight", "tok_embeddings.weight")
_K_PROJ = re.compile(r"(?:^|\.)layers\.#\.(?:self_attn|attention)\.(?:k_proj|wk)\.weight$")


def _shape_of(index: TensorIndex, match) -> tuple[int, ...] | None:
    for skel, group in index.by_skeleton.items():
        if match(skel):
            for t in group:
                if t.shape is not None and len(t.shape) == 2:
                    return t.shape
    return None


def _derive(values: dict, sources: dict, config: dict, snap: Snapshot, index: TensorIndex) -> None:
    # Headers can stand in for a partial config: the embedding is [vocab, hidden], k_proj [kv*head_dim, hidden].
    emb = _shape_of(index, lambda sk: sk.endswith(_EMBEDDINGS) and "position" not in sk)
    if emb:
        _set(values, sources, "vocab_size", emb[0], "tensors: embedding shape")
        _set(values, sources, "hidden_size", emb[1], "tensors: embedding shape")
    heads, hidden = _int(values.get("num_heads")), _int(values.get("hidden_size"))
    if _int(values.get("num_kv_heads")) is None and heads and hidden:
        k = _shape_of(index, _K_PROJ.search)
        hd0 = _int(values.get("head_dim_config")) or (hidden // heads if hidden % heads == 0 else None)
        if k and hd0 and k[0] % hd0 == 0 and k[1] == hidden:
            _set(values, sources, "num_kv_heads", k[0] // hd0, "tensors: k_proj shape")
    if _int(values.get("num_kv_heads")) is None and heads:
        # MQA configs say so with a flag rather than a count.
        mq = config.get("multi_query") is True or config.get("multi_query_attention") is True
        _set(values, sources, "num_kv_heads", 1 if mq and "multi_query_group_num" not in config else heads,
             "derived: multi_query" if mq else "derived: = num_heads (no kv-head count in config)")
    kv = _int(values.get("num_kv_heads"))
    hd = _int(values.get("head_dim_config"))
    if hd is None and heads and hidden and hidden % heads == 0:
        hd = hidden // heads
    _set(values, sources, "head_dim", hd)
    if heads and kv and heads % kv == 0:
        _set(values, sources, "gqa_group", heads // kv)
    names = snap.tensors
    top = _top_layer(index)
    if top is not None:
        _set(values, sources, "layer_count", top + 1, "tensors")
    if names:
        _set(values, sources, "tensor_count", len(names), "tensors")
    tied = values.get("tie_word_embeddings")
    if isinstance(tied, bool):
        _set(values, sources, "tied_embeddings", tied, sources.get("tie_word_embeddings", "config"))
    elif names:
        has_head = any(s.startswith(("lm_head", "output.", "embed_out")) or ".lm_head." in s for s in index.by_skeleton)
        has_embed = any("embed" in s or "wte" in s or "word_embeddings" in s for s in index.by_skeleton)
        if has_embed:
            _set(values, sources, "tied_embeddings", not has_head, "tensors: output head absent" if not has_head else "tensors: output head present")
    _set(values, sources, "quantization", _quantization(config, index), "config/tensors")
    count, exact, dtypes = params_of(snap, index)
    _set(values, sources, "param_count", count, "tensors" if exact else "tensors: estimate")
    _set(values, sources, "params_exact", exact, "tensors")
    _set(values, sources, "param_dtypes", dtypes or None, "tensors")
    status, error = read_status(snap)
    _set(values, sources, "status", status, "snapshot")
    _set(values, sources, "status_error", error, "snapshot")
    _set(values, sources, "read_notes", list(snap.config_notes) or None, "snapshot")
    if snap.repo_id:
        _set(values, sources, "repo_id", snap.repo_id, "repo")
    if snap.weights_format:
        _set(values, sources, "weights_format", snap.weights_format, "weights")
    _tokenizer_facts(values, sources, snap.tokenizer)
    base = snap.card.get("base_model") if snap.card else None
    if isinstance(base, list):
        base = next((b for b in base if isinstance(b, str)), None)
    if isinstance(base, str):
        _set(values, sources, "base_model", base, "card")
    am = config.get("auto_map")
    if isinstance(am, dict):
        flat = [v for v in am.values() if isinstance(v, str)] + [x for v in am.values() if isinstance(v, list) for x in v if isinstance(x, str)]
        _set(values, sources, "auto_map", flat, "config:auto_map")


def _layer_of(name: str) -> int | None:
    """The number after the first layer container (`layers.7.`) in a tensor name."""
    parts = name.split(".")
    for i, p in enumerate(parts[:-1]):
        n = parts[i + 1]
        # ASCII and short: "²".isdigit() holds and int("²") raises; no model has a million layers.
        if p in _LAYER_CONTAINERS and n.isascii() and n.isdigit() and len(n) <= 6:
            return int(n)
    return None


def _top_layer(index: TensorIndex) -> int | None:
    """The highest layer number any tensor names. A skeleton says where its names' layer number
    stands (the component after the first container, when it is `#`), so a name is cut once; the
    layers repeat from group to group, so each distinct number is read once."""
    numbers: list[str] = []  # the layer number of each name of the numbered groups
    numbered: list[list[TensorInfo]] = []
    others: list[list[TensorInfo]] = []  # groups whose first container is not followed by a number
    for skel, group in index.by_skeleton.items():
        parts = skel.split(".")
        pos = next((i + 1 for i, p in enumerate(parts[:-1]) if p in _LAYER_CONTAINERS), None)
        if pos is None:  # no container in the skeleton, so none in its names
            continue
        if parts[pos] != "#":
            others.append(group)
        elif skel.count("#") == 1:  # each name is the skeleton with its number for `#`: slice it out
            start = len(skel.partition("#")[0])
            end = -(len(skel) - start - 1) or None
            numbers.extend(t.name[start:end] for t in group)
            numbered.append(group)
        else:  # split no further than the number
            numbers.extend(t.name.split(".", pos + 1)[pos] for t in group)
            numbered.append(group)
    top = -1
    distinct = set(numbers)
    joined = "".join(distinct)
    if distinct and joined.isascii() and joined.isdigit() and "" not in distinct and max(map(len, distinct)) <= 6:
        top = max(map(int, distinct))  # the usual case: every number plain, checked at once
    else:  # an odd number somewhere (not ASCII, too long): each name as _layer_of reads it
        others.extend(numbered)
    for group in others:
        top = max(top, max((n for n in map(_layer_of, (t.name for t in group)) if n is not None), default=-1))
    return top if top >= 0 else None


def read_status(snap: Snapshot) -> tuple[str, str | None]:
    """How far the read got: ok, or what is missing or broken (the verdict's status)."""
    if snap.config_status == "invalid" or snap.weights_invalid:
        return "invalid", snap.config_error or snap.weights_error
    if snap.config is None:
        return "no_config", snap.config_error
    if not snap.tensors:
        return "no_weights_metadata", snap.weights_error
    return "ok", None


def params_of(snap: Snapshot, index: TensorIndex) -> tuple[int | None, bool, dict[str, int]]:
    """(count, exact, dtypes). Exact from every header or the Hub's own count; else an estimate."""
    if index.params is None:
        index.params = _params_of(snap, index)
    return index.params


def _params_of(snap: Snapshot, index: TensorIndex) -> tuple[int | None, bool, dict[str, int]]:
    tensors = list(snap.tensors.values())
    dtypes = Counter([t.dtype for t in tensors if t.dtype])
    shapes = [t.shape for t in tensors if t.shape is not None]
    if tensors and len(shapes) == len(tensors):
        return sum(map(math.prod, shapes)), True, dict(dtypes)  # TensorInfo.numel, without a call a tensor
    if snap.hub_params:
        total = snap.hub_params.get("total") or sum(v for k, v in snap.hub_params.items() if k != "total")
        return int(total), True, dict(dtypes)  # dtypes counts tensors; the Hub's per-dtype figures count parameters
    if shapes:
        # Unread shards hold more layers of the same shapes: each tensor without a shape borrows the
        # first known one of its skeleton (the index already grouped them).
        est = 0
        for group in index.by_skeleton.values():
            ref = next((t for t in group if t.shape is not None), None)
            if ref is None:
                break
            est += sum((t if t.shape is not None else ref).numel or 0 for t in group)
        else:
            return est, False, dict(dtypes)
    if snap.total_size and dtypes:
        bits = ITEMSIZE_BITS.get(dtypes.most_common(1)[0][0], 16)
        return snap.total_size * 8 // bits, False, dict(dtypes)
    return None, False, dict(dtypes)


# Tokenizer evidence (formats/tokenizer.py, or a GGUF's embedded tokenizer) -> facts.
_TOKENIZER_FACTS = (("tokenizer_class", "tokenizer_class"), ("special_tokens", "special_tokens"),
                    ("tokenizer_vocab_size", "vocab_size"), ("tokenizer_base_vocab", "base_vocab"),
                    ("chat_template_sha256", "chat_template_sha256"), ("tokenizer_model", "tokenizer_model"))


def _tokenizer_facts(values: dict, sources: dict, tok: dict[str, Any] | None) -> None:
    if not tok:
        return
    src = f"tokenizer: {tok.get('source', '?')}"
    for fact, key in _TOKENIZER_FACTS:
        if tok.get(key) not in (None, [], ""):
            _set(values, sources, fact, tok[key], src)


def _quantization(config: dict, index: TensorIndex) -> str:
    qc = config.get("quantization_config")
    if isinstance(qc, dict):
        method = qc.get("quant_method") or ("bnb" if qc.get("load_in_4bit") or qc.get("load_in_8bit") else None)
        if isinstance(method, str):
            return method.lower()
    for method, markers in _QUANT_MARKERS.items():
        if any(s.endswith(markers) for s in index.by_skeleton):
            return method
    if isinstance(config.get("quantization"), dict):  # MLX repacks
        return "mlx"
    return "none"
