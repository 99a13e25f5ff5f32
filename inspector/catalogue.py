"""The base-model catalogue (`bases:` in rules): which known base a model's hyperparameters pin."""

from __future__ import annotations

from dataclasses import dataclass

from .facts import Facts
from .operators import hash_key
from .ruleset import BaseModel

# Structural dimensions must agree exactly: a fine-tune or a quantized copy keeps them.
CORE = ("hidden_size", "num_layers", "num_heads", "num_kv_heads", "intermediate_size", "num_experts")
# A fingerprint key the model does not state weighs half: a partial config still pins its base,
# yet a full match beats it.
MISSING_WEIGHT = 0.5
KEY_WEIGHT = {"vocab_size": 2.0, "rope_theta": 1.0, "max_positions": 0.5, "tied_embeddings": 0.5}
MIN_CORE_COMPARED = 3
MIN_SCORE = 0.6  # to name a base
# A structural match with a differing vocabulary (a fine-tune that extended its tokenizer) still
# says which lineage and kind the model comes from, if not which base.
VOTE_MIN_SCORE = 0.45


@dataclass(frozen=True)
class BaseMatch:
    base: BaseModel
    score: float  # 0..1: share of the fingerprint's weight that matched
    matched: tuple[str, ...]
    differing: tuple[str, ...]


def _same(a: object, b: object) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return float(a) == float(b)
    return a == b


# Every base states INDEX_KEY, a CORE key: a model that states it is compared only with the bases
# of its value (a differing core key rules a base out anyway), not with the whole catalogue.
INDEX_KEY = "hidden_size"
_index: tuple[list[BaseModel], int, dict[tuple, list[int]], list[int]] | None = None  # the last catalogue's


def _by_index_key(bases: list[BaseModel]) -> tuple[dict[tuple, list[int]], list[int]]:
    """(hash key of INDEX_KEY's value -> the positions of the bases with it, the positions of the
    bases without one). `hash_key` equates what `_same` does: numbers by value, booleans apart."""
    global _index
    if _index is None or _index[0] is not bases or _index[1] != len(bases):
        by_value: dict[tuple, list[int]] = {}
        unkeyed: list[int] = []
        for order, b in enumerate(bases):
            key = hash_key(b.fingerprint[INDEX_KEY]) if INDEX_KEY in b.fingerprint else None
            if key is None:
                unkeyed.append(order)
            else:
                by_value.setdefault(key, []).append(order)
        _index = (bases, len(bases), by_value, unkeyed)
    return _index[2], _index[3]


def _candidates(facts: Facts, bases: list[BaseModel]) -> list[int]:
    found, have = facts.get(INDEX_KEY)
    key = hash_key(have) if found and not facts.sources.get(INDEX_KEY, "").startswith("derived: =") else None
    if key is None:
        return list(range(len(bases)))
    by_value, unkeyed = _by_index_key(bases)
    return sorted(by_value.get(key, []) + unkeyed)


def match_bases(facts: Facts, bases: list[BaseModel]) -> list[BaseMatch]:
    """Candidates, best first (catalogue order breaks ties). Differing structure rules a base out."""
    out: list[tuple[int, BaseMatch]] = []
    for order in _candidates(facts, bases):
        b = bases[order]
        matched, differing = [], []
        total = got = 0.0
        core_compared = 0
        rejected = False
        for key, want in b.fingerprint.items():
            w = KEY_WEIGHT.get(key, 1.0)
            total += w
            found, have = facts.get(key)
            if found and facts.sources.get(key, "").startswith("derived: ="):
                found = False  # a default (kv heads = heads) is no evidence of the model's shape
            if not found:
                if key == "num_experts":
                    rejected = True  # a dense model is no MoE base
                    break
                total -= w * (1 - MISSING_WEIGHT)
                continue
            if _same(have, want):
                got += w
                matched.append(key)
                core_compared += key in CORE
            else:
                differing.append(key)
                if key in CORE:
                    rejected = True
                    break
        if rejected or core_compared < MIN_CORE_COMPARED or total == 0:
            continue
        out.append((order, BaseMatch(b, got / total, tuple(matched), tuple(differing))))
    out.sort(key=lambda om: (-om[1].score, -len(om[1].matched), om[0]))
    return [m for _o, m in out]
