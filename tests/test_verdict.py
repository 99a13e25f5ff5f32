"""verdict.decide(): facts and rule outcomes in, the verdict out; one rule for a mismatch."""

from __future__ import annotations

import dataclasses

import pytest
from conftest import REPO

from inspector.api import Inspector
from inspector.declared import declared_of
from inspector.engine import evaluate
from inspector.evaluation import snapshot_of
from inspector.facts import build_facts
from inspector.verdict import FIELDS, decide, disagreements

SAMPLES = sorted(p for p in (REPO / "samples").iterdir() if p.is_dir())[:8]


@pytest.fixture(scope="module")
def insp():
    return Inspector()


@pytest.mark.parametrize("folder", SAMPLES, ids=lambda p: p.name)
def test_decide_needs_no_snapshot(insp, folder):
    snap = snapshot_of(folder)
    facts = build_facts(snap, insp.rules.facts)
    evaluation = evaluate(facts, insp.rules, full=False)
    declared = declared_of(snap.config, snap.card, insp.rules)
    whole = insp.judge(snap, full=False)[0]
    pure = decide(dataclasses.replace(facts, snapshot=None), evaluation, declared, insp.rules.bases, insp.rules.base_weight)
    for f in (*FIELDS, "base", "confidence", "mismatch", "params", "params_exact", "status", "error"):
        assert getattr(pure, f) == getattr(whole, f), f


@pytest.mark.parametrize(("claimed", "detected", "ruled_out", "fields"), [
    ({"lineage": "llama", "kind": "decoder"}, {"lineage": "qwen", "kind": "decoder"}, False, {"lineage"}),
    ({"lineage": "llama", "kind": "decoder"}, {"lineage": "unknown", "kind": "decoder"}, False, set()),
    ({"lineage": "llama", "kind": "decoder"}, {"lineage": "unknown", "kind": "decoder"}, True, {"lineage"}),
    ({"lineage": None, "kind": "encoder"}, {"lineage": "bert", "kind": "decoder"}, False, {"kind"}),
    ({"lineage": "qwen", "kind": None}, {"lineage": "qwen", "kind": "decoder"}, False, set()),
])
def test_a_claim_disagrees_only_with_evidence(claimed, detected, ruled_out, fields):
    """`unknown` is no disagreement, unless the tokenizer ruled every family out (the claimed one too)."""
    assert set(disagreements(claimed, detected, ruled_out)) == fields


@pytest.mark.parametrize("folder", SAMPLES, ids=lambda p: p.name)
def test_the_verdict_dict_is_what_asdict_makes(insp, folder):
    v = insp.inspect(str(folder))
    assert v.to_dict() == dataclasses.asdict(v) and v.to_dict() is not v.to_dict()
