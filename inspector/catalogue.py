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


# Every base states these CORE keys: a model is compared only with the bases of the values it states
# (a differing core key rules a base out anyway), not with the whole catalogue.
INDEX_KEYS = ("hidden_size", "num_layers", "num_heads")
_Index = dict[str, tuple[dict[tuple, frozenset[int]], frozenset[int]]]
_index: tuple[list[BaseModel], int, _Index] | None = None  # the last catalogue's


def _by_index_keys(bases: list[BaseModel]) -> _Index:
    """Per index key: (hash key of a value -> the positions of the bases with it, the positions of
    the bases without one). `hash_key` equates what `_same` does: numbers by value, booleans apart."""
    global _index
    if _index is None or _index[0] is not bases or _index[1] != len(bases):
        index: _Index = {}
        for name in INDEX_KEYS:
            by_value: dict[tuple, set[int]] = {}
            unkeyed: set[int] = set()
            for order, b in enumerate(bases):
                key = hash_key(b.fingerprint[name]) if name in b.fingerprint else None
                (unkeyed if key is None else by_value.setdefault(key, set())).add(order)
            index[name] = ({k: frozenset(v) for k, v in by_value.items()}, frozenset(unkeyed))
        _index = (bases, len(bases), index)
    return _index[2]


def _candidates(facts: Facts, bases: list[BaseModel]) -> list[int] | range:
    """The positions of the bases that agree with the index keys the model states, in catalogue order."""
    out: frozenset[int] | None = None
    for name in INDEX_KEYS:
        found, have = facts.get(name)
        key = hash_key(have) if found and not facts.sources.get(name, "").startswith("derived: =") else None
        if key is not None:
            by_value, unkeyed = _by_index_keys(bases)[name]
            agree = by_value.get(key, frozenset()) | unkeyed
            out = agree if out is None else out & agree
    return range(len(bases)) if out is None else sorted(out)


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
