"""The engine's yes-or-no pass (used for verdicts) answers exactly as the full pass (used by --explain)."""

from __future__ import annotations

import pytest
from conftest import SAMPLES, expected_samples
from hypothesis import given, settings
from hypothesis import strategies as st

from inspector import condition as cond
from inspector.engine import _compile, _value_check, _value_op, evaluate
from inspector.facts import build_facts
from inspector.fixtures import load_fixtures

FIXTURES = load_fixtures().fixtures


def _same_verdict(insp, snap) -> None:
    full = insp.judge(snap, full=True)[0].to_dict()
    quick = insp.judge(snap, full=False)[0].to_dict()
    assert quick == full


@pytest.mark.parametrize("sample", [c["sample"] for c in expected_samples()])
def test_a_sample_gets_the_same_verdict_from_both_passes(sample, insp):
    _same_verdict(insp, insp.snapshot(str(SAMPLES / sample)))


@pytest.mark.parametrize("fx", FIXTURES, ids=[f.id for f in FIXTURES])
def test_a_fixture_gets_the_same_verdict_from_both_passes(fx, insp):
    _same_verdict(insp, fx.snapshot())


@pytest.mark.parametrize("fx", FIXTURES[::7], ids=[f.id for f in FIXTURES[::7]])
def test_the_quick_pass_fires_the_same_rules_with_the_same_evidence(fx, ruleset):
    facts = build_facts(fx.snapshot(), ruleset.facts)
    full, quick = evaluate(facts, ruleset, full=True), evaluate(facts, ruleset, full=False)
    assert [o.rule.id for o in quick.fired] == [o.rule.id for o in full.fired]
    assert [o.selections for o in quick.fired] == [o.selections for o in full.fired]
    assert all(not o.selections for o in quick.outcomes if not o.holds)


def _conditions(ruleset) -> list[tuple[object, tuple[str, ...]]]:
    return [(r.condition, tuple(r.selections)) for r in ruleset.rules if r.condition is not None]


@settings(max_examples=60, deadline=None)
@given(bits=st.lists(st.booleans(), min_size=12, max_size=12))
def test_a_compiled_condition_agrees_with_the_condition_language(bits, ruleset):
    extra = [cond.parse(t) for t in ("a or not b", "1 of x* and not c", "all of x*", "2 of them", "not (a and b) or c")]
    cases = _conditions(ruleset) + [(c, ("a", "b", "c", "x1", "x2")) for c in extra]
    for tree, names in cases:
        values = {n: bits[i % len(bits)] for i, n in enumerate(names)}
        assert _compile(tree, names)(values.__getitem__) == cond.evaluate(tree, values)


SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.integers(10**20, 10**20 + 2),
                    st.sampled_from([0.0, 1.0, 2.5, -1.0]), st.sampled_from(["", "1", "llama", "qwen2"]))
VALUES = st.one_of(SCALARS, st.lists(SCALARS, max_size=3), st.dictionaries(st.sampled_from(["a", "b"]), SCALARS, max_size=2))
OPS = st.one_of(
    st.tuples(st.sampled_from(["equals", "not_equals"]), VALUES),
    st.tuples(st.sampled_from(["in", "not_in"]), st.lists(VALUES, max_size=4)),
    st.tuples(st.sampled_from(["gte", "lt"]), st.integers(-3, 3)),
    st.tuples(st.just("exists"), st.booleans()),
    st.tuples(st.just("contains"), SCALARS),
)


@settings(max_examples=400, deadline=None)
@given(ops=st.lists(OPS, min_size=1, max_size=3), found=st.booleans(), v=VALUES)
def test_a_value_check_agrees_with_the_operators_one_by_one(ops, found, v):
    ops_map = dict(ops)
    want = all(_value_op(op, arg, found, v) for op, arg in ops_map.items())
    assert _value_check(ops_map)(found, v) == want
