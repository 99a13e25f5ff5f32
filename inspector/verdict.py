"""Rule outcomes -> the verdict: scores per field, winner, confidence, base, params, evidence."""

from __future__ import annotations

import copy
import functools
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

from .catalogue import CORE, MIN_SCORE, VOTE_MIN_SCORE, BaseMatch, match_bases
from .declared import Declared, nothing_declared
from .engine import Outcomes, RuleOutcome
from .facts import Facts
from .readout import Snapshot
from .ruleset import BaseModel
from .status import Status, is_usable

SCHEMA_VERSION = 2  # 2: `traits`
FIELDS = ("kind", "layout", "lineage")
STATUSES = tuple(s.value for s in Status)


@dataclass
class EvidenceItem:
    rule: str
    field: str
    value: str
    signal: str
    observed: str
    weight: float
    where: str | None = None  # rule file:line:col


@dataclass
class Verdict:
    target: str
    revision: str | None = None
    status: str = "ok"
    error: str | None = None
    declared: dict[str, Any] = field(default_factory=nothing_declared)
    kind: str = "unknown"
    layout: str = "unknown"
    lineage: str = "unknown"
    base: str | None = None
    base_alternatives: list[str] = field(default_factory=list)  # bases the evidence fits as well
    confidence: float = 0.0
    confidences: dict[str, float] = field(default_factory=dict)
    margins: dict[str, float] = field(default_factory=dict)
    mismatch: bool = False
    evidence: list[EvidenceItem] = field(default_factory=list)
    params: int | None = None
    params_exact: bool = False
    dtypes: dict[str, int] = field(default_factory=dict)
    io: dict[str, int] = field(default_factory=dict)
    source: str | None = None
    traits: dict[str, dict[str, Any]] = field(default_factory=dict)  # trait -> traits.Trait as a dict
    notes: list[str] = field(default_factory=list)  # what the read tolerated (config.json's duplicate keys, NaN)
    schema_version: int = SCHEMA_VERSION

    def to_dict(self) -> dict[str, Any]:
        return as_plain(self)

    @property
    def ok(self) -> bool:
        return is_usable(self.status)

    def __str__(self) -> str:
        from .output import to_text  # output.py imports this module

        return to_text(self, width=None)


_ATOMS = (str, int, float, bool, type(None))


@functools.cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


def as_plain(obj: Any) -> Any:
    """`dataclasses.asdict` for the verdict's values, the same result at a fraction of the cost (an
    audit turns every verdict into a dict): atoms are shared, not deep-copied. The contract has no NaN
    or Infinity: a non-finite float (arithmetic on a hostile config's values) becomes null."""
    kind = type(obj)
    if kind is str or kind is int or kind is bool or obj is None:  # most values: no isinstance chain
        return obj
    if isinstance(obj, _ATOMS):
        return None if kind is float and not math.isfinite(obj) else obj
    if isinstance(obj, dict):
        d = {as_plain(k): as_plain(v) for k, v in obj.items()}
        if type(obj) is dict:
            return d
        return type(obj)(obj.default_factory, d) if isinstance(obj, defaultdict) else type(obj)(d)
    if isinstance(obj, list):
        return [as_plain(x) for x in obj]
    if is_dataclass(obj) and not isinstance(obj, type):
        return {name: as_plain(getattr(obj, name)) for name in _field_names(kind)}
    if isinstance(obj, tuple) and not hasattr(obj, "_fields"):
        return type(obj)(as_plain(x) for x in obj)
    return copy.deepcopy(obj)


def confidence(top: float, runner_up: float) -> float:
    if top <= 0:
        return 0.0
    return round((1 - math.exp(-top)) * max(0.0, top - max(runner_up, 0.0)) / top, 3)


def scores(fired: list[RuleOutcome], base: BaseMatch | None, base_weight: float) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {f: defaultdict(float) for f in FIELDS}
    for o in fired:
        for f, v in o.rule.votes.items():
            out[f][v] += o.rule.weight
    if base is not None:
        out["lineage"][base.base.lineage] += base_weight * base.score
        out["kind"][base.base.kind] += base_weight * base.score
    return out


# What a repo says about itself: a rule reading only these is a claim, never evidence of a lineage.
CLAIM_FACTS = frozenset({"model_type", "architectures", "lm_model_type", "lm_architectures", "name_or_path",
                         "lm_name_or_path", "auto_map", "tokenizer_class", "repo_id", "base_model"})
CLAIM_KEYS = frozenset({"model_type", "architectures", "_name_or_path", "auto_map", "tokenizer_class"})
# What a tokenizer is: a lineage is named only where its tokenizer is recognised.
TOKENIZER_FACTS = frozenset({"vocab_size", "tokenizer_vocab_size", "tokenizer_base_vocab", "special_tokens",
                             "tokenizer_model"})


def _reads(o: RuleOutcome, facts: frozenset[str], keys: frozenset[str] = frozenset()) -> list[bool]:
    """Per deciding predicate: does it read one of these facts (or raw config keys)?"""
    out = []
    for p in o.deciding():
        if p.predicate.subject == "fact":
            out.append(p.predicate.key in facts)
        elif p.predicate.subject == "config":
            out.append(p.predicate.key.rsplit(".", 1)[-1] in keys)
        else:
            out.append(False)
    return out


def is_claim(o: RuleOutcome) -> bool:
    reads = _reads(o, CLAIM_FACTS, CLAIM_KEYS)
    return bool(reads) and all(reads)


def recognises_tokenizer(o: RuleOutcome) -> bool:
    """A rule that fired voting FOR a value on the tokenizer (a vocabulary size, base vocab, specials)."""
    return o.rule.weight > 0 and any(_reads(o, TOKENIZER_FACTS, frozenset({"vocab_size", "padded_vocab_size"})))


def tokenizer_stated(facts: Facts) -> bool:
    return any(facts.get(f)[0] for f in ("vocab_size", "tokenizer_base_vocab"))


# A fine-tune that grew its vocabulary keeps every structural dimension of its base: LLaMA's 32000
# SentencePiece grown to 39k..65k (Chinese-LLaMA, Atom, TigerBot, EEVE), a byte-level BPE grown by a
# quarter, a 100k+ one by up to half again (Orpheus: Llama-3 + audio codes; TAIDE: + Traditional
# Chinese, 188256), and a BPE only on the base's whole shape. Beyond that it is another tokenizer on
# a copied shape (granite-docling's 100352 on SmolLM2-135M's, LLaDA's 126464 on OLMo-2's), an own
# pretrain.
SENTENCEPIECE_VOCAB = 32_100
MAX_SENTENCEPIECE_EXTENSION = 2.1
MAX_BPE_EXTENSION = 1.25
MAX_LARGE_BPE_EXTENSION = 1.6
BPE_VOCAB = 100_000


def _extends_base_vocab(base: BaseMatch, facts: Facts) -> bool:
    if "rope_theta" in base.differing:
        return False  # another positional recipe on a copied shape: an own pretrain (ALLaM on Baichuan-7B's)
    if "vocab_size" in base.matched:
        return True
    want = base.base.fingerprint.get("vocab_size")
    found, have = facts.get("vocab_size")
    if not found or not isinstance(want, int) or not isinstance(have, int) or have <= want:
        return False
    if want <= SENTENCEPIECE_VOCAB:
        return have <= want * MAX_SENTENCEPIECE_EXTENSION
    if any(k in base.base.fingerprint and k not in base.matched for k in CORE):
        return False  # a grown BPE needs the base's whole shape, not the dims a config happens to state (LLaDA on OLMo-2's)
    if want < BPE_VOCAB:
        return have <= want * MAX_BPE_EXTENSION
    # a large BPE grown further: only with the base's other settings
    return base.score >= MIN_SCORE and have <= want * MAX_LARGE_BPE_EXTENSION


def unrecognised_lineage(fired: list[RuleOutcome], facts: Facts, base: BaseMatch | None) -> bool:
    """True when the model states a tokenizer that no rule and no base fingerprint recognises: then
    no lineage is named, whatever the layout or the tags resemble (an own pretrain on a known
    architecture). A structural base match that kept the base's vocabulary recognises it too."""
    if not tokenizer_stated(facts):
        return False
    if base is not None and _extends_base_vocab(base, facts):
        return False
    return not any(recognises_tokenizer(o) and "lineage" in o.rule.votes for o in fired)


def _winner(s: dict[str, float]) -> tuple[str, float, float]:
    ranked = sorted(s.items(), key=lambda kv: -kv[1])
    if not ranked or ranked[0][1] <= 0:
        return "unknown", 0.0, 0.0
    top = ranked[0][1]
    second = ranked[1][1] if len(ranked) > 1 else 0.0
    if second == top:
        return "unknown", top, 0.0
    return ranked[0][0], top, second


# The evidence item decide() adds when the tokenizer ruled every family out: a stored verdict keeps
# it, so the one mismatch rule can be applied again to what was stored (output, reports).
RULED_OUT = "lineage:unknown"


def ruled_out_by_tokenizer(evidence: Iterable[EvidenceItem | Mapping[str, Any]]) -> bool:
    """Whether a verdict's evidence (objects or their stored dicts) says the tokenizer ruled every family out."""
    return any((e.get("rule") if isinstance(e, Mapping) else getattr(e, "rule", None)) == RULED_OUT for e in evidence)


def _ruled_out_item(resembled: str | None, layout: str, fired: list[RuleOutcome], facts: Facts) -> EvidenceItem:
    why = sorted({o.rule.id for o in fired if o.rule.votes.get("lineage") == resembled and o.rule.weight > 0})
    vocab = facts.get("vocab_size")[1] if facts.get("vocab_size")[0] else facts.get("tokenizer_base_vocab")[1]
    signal = (f"resembles {resembled} (layout {layout}; {', '.join(why) or 'base fingerprint'})" if resembled
              else f"no family's evidence (layout {layout})")
    return EvidenceItem(RULED_OUT, "lineage", "unknown", signal,
                        f"ruled out: no family's tokenizer rule and no base accounts for vocabulary {vocab}", 0.0)


def disagreements(declared: Mapping[str, Any], detected: Mapping[str, Any], tokenizer_ruled_out: bool = False) -> dict[str, tuple[str, str]]:
    """The one mismatch rule: field -> (claimed, detected) wherever a claim disagrees with the
    evidence. A detected `unknown` disagrees only where the evidence ruled every family out (the
    model's tokenizer is no known family's, so not the claimed one's either)."""
    out: dict[str, tuple[str, str]] = {}
    for f in ("lineage", "kind"):
        claim, got = declared.get(f), detected.get(f, "unknown")
        if not claim:
            continue
        if (got != "unknown" and got != claim) or (f == "lineage" and got == "unknown" and tokenizer_ruled_out):
            out[f] = (claim, got)
    return out


def decide(facts: Facts, outcomes: Outcomes, declared: Declared, bases: list[BaseModel], base_weight: float) -> Verdict:
    """Facts and rule outcomes -> the verdict. Pure: the parameter count and the read status are facts
    (facts.py); what names the target and what its reading cost is the caller's (`verdict_for`)."""
    candidates = match_bases(facts, bases)
    best = candidates[0] if candidates and candidates[0].score >= VOTE_MIN_SCORE else None
    fired = outcomes.fired
    sc = scores(fired, best, base_weight)
    v = Verdict(target="")
    for f in FIELDS:
        win, top, second = _winner(sc[f])
        setattr(v, f, win)
        v.confidences[f] = confidence(top, second)
        v.margins[f] = round(top - second, 3)
    # `ruled_out`: the tokenizer is no known family's. Then no lineage is named, and a claimed one is
    # ruled out too (a mismatch), whether a family was resembled (its name) or none was ("").
    ruled_out: str | None = None
    if unrecognised_lineage(fired, facts, best):
        ruled_out = "" if v.lineage == "unknown" else v.lineage
        v.lineage = "unknown"
        v.confidences["lineage"] = 0.0
    v.confidence = v.confidences["lineage"]
    # The base must belong to the lineage the evidence chose; the best such candidate names it.
    same = [c for c in candidates if c.score >= MIN_SCORE and c.base.lineage == v.lineage]
    if same:
        v.base = same[0].base.id
        v.base_alternatives = [c.base.id for c in same[1:] if c.score == same[0].score]
    v.declared = {
        "model_type": declared.model_type,
        "architectures": list(declared.architectures),
        "base_model": declared.base_model,
        "lineage": declared.lineage,
        "kind": declared.kind,
    }
    v.mismatch = bool(disagreements(v.declared, {f: getattr(v, f) for f in FIELDS}, ruled_out is not None))
    items: list[EvidenceItem] = []
    for o in fired:
        preds = o.deciding()
        signal = "; ".join(p.predicate.text for p in preds) or o.rule.condition_text
        observed = "; ".join(f"{p.predicate.key} = {p.observed}" if p.predicate.subject in ("fact", "config") else f"{p.predicate.key}: {p.observed}" for p in preds)
        for f, val in o.rule.votes.items():
            items.append(EvidenceItem(o.rule.id, f, val, signal, observed, o.rule.weight, str(o.rule.loc)))
    if best is not None:
        fp = ", ".join(f"{k}={best.base.fingerprint[k]}" for k in best.matched)
        observed = fp + (f"; differs: {', '.join(best.differing)}" if best.differing else "")
        for f, val in (("lineage", best.base.lineage), ("kind", best.base.kind)):
            items.append(EvidenceItem(f"base:{best.base.id}", f, val, f"fingerprint of {best.base.id}", observed,
                                      round(base_weight * best.score, 3), str(best.base.loc)))
    if ruled_out is not None:
        items.append(_ruled_out_item(ruled_out or None, v.layout, fired, facts))
    # Strongest first, and evidence for the winners before the rest.
    winners = {f: getattr(v, f) for f in FIELDS}
    items.sort(key=lambda e: (winners.get(e.field) != e.value, -abs(e.weight), e.rule))
    v.evidence = items
    v.params = facts.values.get("param_count")
    v.params_exact = bool(facts.values.get("params_exact"))
    v.dtypes = dict(facts.values.get("param_dtypes") or {})
    v.status = facts.values.get("status", "ok")
    v.error = facts.values.get("status_error")
    v.notes = list(facts.values.get("read_notes") or [])
    return v


def verdict_for(snap: Snapshot, facts: Facts, outcomes: Outcomes, declared: Declared, bases: list[BaseModel],
                base_weight: float) -> Verdict:
    """decide(), plus what names the target and what reading it cost (the snapshot's, not evidence)."""
    v = decide(facts, outcomes, declared, bases, base_weight)
    v.target, v.revision, v.source = snap.target, snap.revision, snap.source
    v.io = {"requests": snap.io.requests, "bytes": snap.io.bytes, "retries": snap.io.retries,
            "shards_read": snap.shards_read, "shards_total": snap.shards_total}
    return v
