"""Rule outcomes -> the verdict: scores per field, winner, confidence, base, params, evidence."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

from .catalogue import MIN_SCORE, VOTE_MIN_SCORE, BaseMatch, match_bases
from .declared import Declared
from .engine import Evaluation, RuleOutcome
from .facts import Facts, TensorIndex
from .safetensors_header import ITEMSIZE_BITS
from .snapshot import Snapshot

SCHEMA_VERSION = 2  # 2: `traits`
FIELDS = ("kind", "layout", "lineage")
STATUSES = ("ok", "not_found", "gated", "no_config", "no_weights_metadata", "invalid", "network_error")


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
    declared: dict[str, Any] = field(default_factory=dict)
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
    schema_version: int = SCHEMA_VERSION

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def ok(self) -> bool:
        return self.status in ("ok", "no_config", "no_weights_metadata")


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


def _winner(s: dict[str, float]) -> tuple[str, float, float]:
    ranked = sorted(s.items(), key=lambda kv: -kv[1])
    if not ranked or ranked[0][1] <= 0:
        return "unknown", 0.0, 0.0
    top = ranked[0][1]
    second = ranked[1][1] if len(ranked) > 1 else 0.0
    if second == top:
        return "unknown", top, 0.0
    return ranked[0][0], top, second


def params_of(snap: Snapshot, index: TensorIndex) -> tuple[int | None, bool, dict[str, int]]:
    """(count, exact, dtypes). Exact from every header or the Hub's own count; else an estimate."""
    tensors = list(snap.tensors.values())
    dtypes = Counter(t.dtype for t in tensors if t.dtype)
    known = [t for t in tensors if t.shape is not None]
    if tensors and len(known) == len(tensors):
        return sum(t.numel or 0 for t in known), True, dict(dtypes)
    if snap.hub_params:
        total = snap.hub_params.get("total") or sum(v for k, v in snap.hub_params.items() if k != "total")
        return int(total), True, dict(dtypes) or {k: v for k, v in snap.hub_params.items() if k != "total"}
    if known:
        # Unread shards hold more layers of the same shapes: each tensor without a shape borrows the
        # first known one of its skeleton (the facts' index already grouped them).
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


def decide(snap: Snapshot, facts: Facts, evaluation: Evaluation, declared: Declared, bases, base_weight: float) -> Verdict:
    candidates = match_bases(facts, bases)
    best = candidates[0] if candidates and candidates[0].score >= VOTE_MIN_SCORE else None
    fired = evaluation.fired
    sc = scores(fired, best, base_weight)
    v = Verdict(target=snap.target, revision=snap.revision, source=snap.source)
    for f in FIELDS:
        win, top, second = _winner(sc[f])
        setattr(v, f, win)
        v.confidences[f] = confidence(top, second)
        v.margins[f] = round(top - second, 3)
    v.confidence = v.confidences["lineage"]
    # The base must belong to the lineage the evidence chose; the best such candidate names it.
    same = [c for c in candidates if c.score >= MIN_SCORE and c.base.lineage == v.lineage]
    if same:
        v.base = same[0].base.id
        v.base_alternatives = [c.base.id for c in same[1:] if c.score == same[0].score and len(c.matched) == len(same[0].matched)]
    v.declared = {
        "model_type": declared.model_type,
        "architectures": list(declared.architectures),
        "base_model": declared.base_model,
        "lineage": declared.lineage,
        "kind": declared.kind,
    }
    v.mismatch = bool(
        (declared.lineage and v.lineage != "unknown" and declared.lineage != v.lineage)
        or (declared.kind and v.kind != "unknown" and declared.kind != v.kind)
    )
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
    # Strongest first, and evidence for the winners before the rest.
    winners = {f: getattr(v, f) for f in FIELDS}
    items.sort(key=lambda e: (winners.get(e.field) != e.value, -abs(e.weight), e.rule))
    v.evidence = items
    v.params, v.params_exact, v.dtypes = params_of(snap, facts.tensors)
    v.io = {"requests": snap.io.requests, "bytes": snap.io.bytes, "retries": snap.io.retries,
            "shards_read": snap.shards_read, "shards_total": snap.shards_total}
    if snap.config_status == "invalid" or snap.weights_invalid:
        v.status = "invalid"
        v.error = snap.config_error or snap.weights_error
    elif snap.config is None:
        v.status = "no_config"
        v.error = snap.config_error
    elif not snap.tensors:
        v.status = "no_weights_metadata"
        v.error = snap.weights_error
    return v
