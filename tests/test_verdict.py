"""verdict.decide(): facts and rule outcomes in, the verdict out; one rule for a mismatch."""

from __future__ import annotations

import dataclasses

import pytest
from conftest import REPO

from inspector.accuracy import snapshot_of
from inspector.api import Inspector
from inspector.declared import declared_of
from inspector.engine import evaluate
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


def test_a_claim_is_ruled_out_when_no_family_is_resembled_and_the_tokenizer_is_no_known_familys(insp):
    """A from-scratch Jamba with its own 65024 vocabulary (real config), relabelled as LLaMA: no family
    votes, the stated tokenizer is none of theirs, so the LLaMA claim is ruled out: a mismatch."""
    from inspector.accuracy import retag
    from inspector.verdict import RULED_OUT, ruled_out_by_tokenizer

    snap = snapshot_of(REPO / "corpus3" / "pszemraj__jamba-900M-v0.13-KIx2__hub-page")
    snap.config = retag(snap.config, "lying", "unknown")
    v = insp.judge(snap, full=False)[0]
    assert v.declared["lineage"] == "llama" and v.lineage == "unknown" and v.mismatch
    assert ruled_out_by_tokenizer(v.evidence)
    item = next(e for e in v.evidence if e.rule == RULED_OUT)
    assert item.signal.startswith("no family's evidence") and "65024" in item.observed


@pytest.mark.parametrize("folder", SAMPLES, ids=lambda p: p.name)
def test_the_verdict_dict_is_what_asdict_makes(insp, folder):
    v = insp.inspect(str(folder))
    assert v.to_dict() == dataclasses.asdict(v) and v.to_dict() is not v.to_dict()


def test_a_non_finite_number_reaches_the_json_as_null(insp):
    # Found by fuzz/fuzz_judge.py: a rope base of 2e307 scaled by a factor overflows to inf in a trait.
    import json

    v = insp.inspect(str(SAMPLES[0]))
    v.traits = {"positions": {"value": "RoPE", "details": {"rope_base": float("inf"), "x": float("nan")}}}
    d = v.to_dict()
    assert d["traits"]["positions"]["details"] == {"rope_base": None, "x": None}
    json.dumps(d, allow_nan=False)
