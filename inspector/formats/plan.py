"""Which weight files to read, shared by the local and the Hub readers."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

from ..errors import InvalidData
from ..inert import inert
from ..jsonread import loads_strict, loads_tolerant
from .safetensors_header import MAX_NAME_CHARS, MAX_TENSORS

HEADERS_MODES = ("default", "all", "none")
MAX_INDEX_BYTES = 64_000_000
MAX_CONFIG_BYTES = 8_000_000
MAX_EVIDENCE_SHARDS = 8
# The embedding, the first layer or the output head, by the words of a tensor's name (_is_evidence):
# embed, wte, wpe or lm_head anywhere (word_embeddings and embed_out hold "embed"), a whole segment of
# these with a dot after it (`model.norm.weight`, `output.weight`),
_HEAD_SEGMENTS = frozenset(("output", "norm", "ln_f", "final_layernorm"))
# or one of these, then the segment 0 and a dot (`model.layers.0.mlp`).
_LAYER_SEGMENTS = frozenset(("layers", "h", "layer", "blocks", "block"))


@dataclass(frozen=True)
class WeightsPlan:
    index: str | None  # a *.safetensors.index.json to read for names
    singles: tuple[str, ...]  # standalone .safetensors files (no index)


def plan_weights(files: list[str]) -> WeightsPlan:
    """Prefer the HF index, then model.safetensors, then other root-level safetensors files."""
    root = [f for f in files if "/" not in f]
    if "model.safetensors.index.json" in root:
        return WeightsPlan("model.safetensors.index.json", ())
    if "model.safetensors" in root:
        return WeightsPlan(None, ("model.safetensors",))
    indexes = sorted(f for f in root if f.endswith(".safetensors.index.json"))
    if indexes:
        return WeightsPlan(indexes[0], ())
    singles = sorted(f for f in root if f.endswith(".safetensors"))
    # Adapters and original-format copies describe something else than the HF model.
    main = [f for f in singles if not f.startswith(("adapter", "consolidated", "training_args"))]
    return WeightsPlan(None, tuple(main or singles))


def other_index(files: list[str]) -> str | None:
    """A pytorch_model.bin index: tensor names without shapes, when no safetensors exist."""
    root = [f for f in files if "/" not in f]
    if "pytorch_model.bin.index.json" in root:
        return "pytorch_model.bin.index.json"
    return None


# .bin files that are not the model's weights (trainer state, adapters, optimizer).
_NOT_WEIGHTS = ("training_args", "optimizer", "scheduler", "rng_state", "adapter_", "trainer_state", "scaler")


def bin_files(files: list[str]) -> list[str]:
    """Root-level torch .bin weight files when there is no index: pytorch_model.bin first."""
    root = sorted(f for f in files if "/" not in f and f.endswith(".bin") and not f.startswith(_NOT_WEIGHTS))
    return sorted(root, key=lambda f: f != "pytorch_model.bin")


def pick_gguf(files: list[str]) -> str | None:
    """One GGUF to read: every quant of a repo shares the metadata. Projectors (mmproj) describe a
    vision tower, and only the first part of a split GGUF holds the metadata."""
    ggufs = sorted(f for f in files if f.lower().endswith(".gguf") and "mmproj" not in f.lower() and f.count("/") <= 1)
    ggufs = [f for f in ggufs if (m := re.search(r"-(\d+)-of-\d+\.gguf$", f)) is None or int(m.group(1)) == 1]
    return min(ggufs, key=lambda f: ("/" in f, len(f), f), default=None)


def safe_shard_name(name: object, where: str) -> str:
    """Shard names come from a repo's index: refuse anything that could leave the repo."""
    if not isinstance(name, str) or not name or len(name) > 255:
        raise InvalidData("index names a shard that is not a file name", where=where)
    if "\\" in name or name.startswith("/") or "\x00" in name or any(p in ("..", ".") for p in name.split("/")):
        raise InvalidData(f"index names an unsafe shard path '{inert(name, 80)}'", where=where)
    if posixpath.normpath(name) != name:
        raise InvalidData(f"index names an unsafe shard path '{inert(name, 80)}'", where=where)
    return name


def parse_index(raw: bytes, where: str) -> tuple[dict[str, str], int | None]:
    """(tensor -> shard, total_size) from an index JSON, refusing unsafe or malformed entries."""
    # Four `"` an entry: an index past the tensor limit is refused before it is parsed.
    if raw.count(b'"') > 4 * MAX_TENSORS + 10_000:
        raise InvalidData(f"index names more than {MAX_TENSORS} tensors (the limit per repo)", where=where)
    doc = loads_strict(raw, "index", where)
    if not isinstance(doc, dict) or not isinstance(doc.get("weight_map"), dict):
        raise InvalidData("index has no `weight_map` object", where=where)
    if len(doc["weight_map"]) > MAX_TENSORS:
        raise InvalidData(f"index names {len(doc['weight_map'])} tensors (limit {MAX_TENSORS} per repo)", where=where)
    wm = doc["weight_map"]
    if not _entries_fine(wm, where):
        _first_bad_entry(wm, where)
    total = None
    meta = doc.get("metadata")
    if isinstance(meta, dict):
        ts = meta.get("total_size")
        if isinstance(ts, int | float) and not isinstance(ts, bool) and 0 <= ts < 2**60:
            total = int(ts)
    return wm, total


def _entries_fine(weight_map: dict, where: str) -> bool:
    """Whether every shard name is safe and every tensor name within bounds. Thousands of tensors name a
    few shards: each shard is checked once, and the names' lengths at C speed."""
    if set(map(type, weight_map.values())) - {str} or max(map(len, weight_map), default=0) > MAX_NAME_CHARS:
        return False
    try:
        for shard in set(weight_map.values()):
            safe_shard_name(shard, where)
    except InvalidData:
        return False
    return True


def _first_bad_entry(weight_map: dict, where: str) -> None:
    """Raise the error of the first entry, in the index's order, with an unsafe shard or a long name."""
    for tensor, shard in weight_map.items():
        safe_shard_name(shard, where)
        if len(tensor) > MAX_NAME_CHARS:
            raise InvalidData(f"index names a tensor of {len(tensor)} characters (limit {MAX_NAME_CHARS})", where=where)


def _is_evidence(name: str) -> bool:
    # An index lists thousands of names and most are no evidence: substring tests settle most of them
    # (each segment test needs one of the substrings), the segments are looked at for a few.
    if "embed" in name or "wte" in name or "wpe" in name or "lm_head" in name:
        return True
    if not (".0." in name or "output." in name or "norm." in name or "ln_f." in name):
        return False
    heads = name.split(".")[:-1]  # the segments a dot follows
    if not _HEAD_SEGMENTS.isdisjoint(heads):
        return True
    return "0" in heads and any(heads[k] == "0" and heads[k - 1] in _LAYER_SEGMENTS for k in range(1, len(heads)))


def evidence_shards(weight_map: dict[str, str]) -> list[str]:
    """The shards holding the embedding, the first layer and the output head: enough to judge. At most
    MAX_EVIDENCE_SHARDS, in the index's order: an index scattering its evidence over a thousand shards
    must not cost a thousand reads."""
    chosen: dict[str, None] = {}
    for tensor, shard in weight_map.items():
        if shard not in chosen and _is_evidence(tensor):
            chosen[shard] = None
            if len(chosen) >= MAX_EVIDENCE_SHARDS:
                break
    if not chosen and weight_map:
        chosen.setdefault(sorted(set(weight_map.values()))[0])
    return list(chosen)


def parse_config(raw: bytes, where: str, notes: list[str] | None = None) -> dict:
    """config.json read as transformers reads it (duplicate keys: the last wins; NaN/Infinity: read as
    missing), each such thing appended to `notes`; every other malformation is refused."""
    doc, tolerated = loads_tolerant(raw, "config.json", where)
    if not isinstance(doc, dict):
        raise InvalidData(f"config.json is a JSON {type(doc).__name__}, not an object", where=where)
    if notes is not None:
        notes.extend(tolerated)
    return doc
