"""The engine's yes-or-no pass (used for verdicts) answers exactly as the full pass (used by --explain)."""

from __future__ import annotations

import pytest
from conftest import SAMPLES, expected_samples
from hypothesis import given, settings
from hypothesis import strategies as st

from inspector import condition as cond
from inspector.engine import evaluate
from inspector.facts import build_facts
from inspector.operators import OPERATORS, _member_test, same
from inspector.rule_fixtures import load_fixtures
from inspector.ruleset import value_key

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
    assert all(not o.selections for o in quick.all if not o.holds)


def _conditions(ruleset) -> list[tuple[object, tuple[str, ...]]]:
    return [(r.condition, tuple(r.selections)) for r in ruleset.rules if r.condition is not None]


def _oracle(tree, values) -> bool:
    """The condition language read plainly, all truths known (the engine's form is lazy)."""
    if isinstance(tree, cond.Sel):
        return values.get(tree.name, False)
    if isinstance(tree, cond.Not):
        return not _oracle(tree.arg, values)
    if isinstance(tree, cond.And | cond.Or):
        parts = [_oracle(a, values) for a in tree.args]
        return all(parts) if isinstance(tree, cond.And) else any(parts)
    picked = cond.expand(tree.prefix, list(values))
    hits = sum(values[n] for n in picked)
    return bool(picked) and hits == len(picked) if tree.count is None else hits >= tree.count


@settings(max_examples=60, deadline=None)
@given(bits=st.lists(st.booleans(), min_size=12, max_size=12))
def test_a_compiled_condition_agrees_with_the_condition_language(bits, ruleset):
    extra = [cond.parse(t) for t in ("a or not b", "1 of x* and not c", "all of x*", "2 of them", "not (a and b) or c")]
    cases = _conditions(ruleset) + [(c, ("a", "b", "c", "x1", "x2")) for c in extra]
    for tree, names in cases:
        values = {n: bits[i % len(bits)] for i, n in enumerate(names)}
        assert cond.to_closure(tree, names)(values.__getitem__) == _oracle(tree, values)


def test_every_rule_is_compiled_when_the_rules_load(ruleset):
    rules = [*ruleset.rules, *(t.rule for t in ruleset.traits.rules)]
    assert all("fires_on" in vars(r) and r.fires_on is not None for r in rules if r.condition is not None)
    assert all(len(p.tests) == len(p.ops) for _r, p in ruleset.predicates())


SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.integers(10**20, 10**20 + 2),
                    st.sampled_from([0.0, 1.0, 2.5, -1.0]), st.sampled_from(["", "1", "llama", "qwen2"]))
VALUES = st.one_of(SCALARS, st.lists(SCALARS, max_size=3), st.dictionaries(st.sampled_from(["a", "b"]), SCALARS, max_size=2))


@settings(max_examples=400, deadline=None)
@given(args=st.lists(VALUES, min_size=1, max_size=4), v=VALUES)
def test_a_set_lookup_agrees_with_comparing_one_by_one(args, v):
    assert _member_test(args)(v) == any(same(v, a) for a in args)


@settings(max_examples=300, deadline=None)
@given(a=VALUES, b=VALUES)
def test_values_with_one_memo_key_pass_the_same_value_checks(a, b, ruleset):
    if value_key(a) is None or value_key(a) != value_key(b):
        return
    for _r, p in ruleset.predicates():
        if p.subject in ("fact", "config"):
            assert p.value_holds(True, a) == p.value_holds(True, b), p.text


@settings(max_examples=100, deadline=None)
@given(values=st.lists(st.tuples(st.sampled_from(["vocab_size", "model_type", "architectures", "num_layers"]), VALUES),
                       max_size=4))
def test_value_checks_answer_as_each_predicate_would_alone(values, ruleset):
    facts = dict(values)
    for _ in range(2):  # cold, then from what the first answer remembered
        truth: dict[str, bool] = {}
        ruleset.value_checks.answer(truth, facts, lambda path: (False, None))
        for _r, p in ruleset.predicates():
            if p.subject == "fact":
                assert truth[p.sig] == p.value_holds(p.key in facts, facts.get(p.key)), p.text


@pytest.mark.parametrize("op, arg, found, value, holds", [
    ("equals", 1e-6, True, 0.000001, True), ("equals", 1, True, True, False), ("not_equals", 32000, False, None, False),
    ("in", [1, "a"], True, 1.0, True), ("not_in", [1], True, [1], True), ("gte", 3, True, "4", False),
    ("between", [1, 2], True, 2, True), ("exists", False, False, None, True), ("matches", "^Qwen", True, ["x", "Qwen2"], True),
    ("contains", 3, True, [1, 3], True), ("contains", "wen", True, "qwen", True), ("lt", 1, True, 10**400, False),
])
def test_each_value_operator_as_the_reference_says(op, arg, found, value, holds):
    assert OPERATORS[op].compile(arg)(found, value) is holds


@pytest.mark.parametrize(("text", "needed"), [
    ("a", [{"a"}]), ("a and b", [{"a"}, {"b"}]), ("a or b", [{"a", "b"}]), ("a and (b or c)", [{"a"}, {"b", "c"}]),
    ("(a and b) or (a and c)", [{"a"}]), ("not a", []), ("a or not b", []), ("all of them", [{"a"}, {"b"}, {"c"}]),
    ("any of them", [{"a", "b", "c"}]), ("3 of them", [{"a"}, {"b"}, {"c"}]), ("2 of them", [{"a", "b", "c"}]),
    ("all of x*", []), ("a and a", [{"a"}]),
])
def test_a_rule_is_skipped_only_when_a_group_its_condition_needs_fails(text, needed):
    assert [set(g) for g in cond.needed(cond.parse(text), ("a", "b", "c"))] == needed


@settings(max_examples=60, deadline=None)
@given(bits=st.lists(st.booleans(), min_size=12, max_size=12))
def test_a_condition_that_holds_has_a_selection_holding_in_each_group_it_needs(bits, ruleset):
    extra = [cond.parse(t) for t in ("a or not b", "1 of x* and c", "all of x*", "2 of them", "(a and b) or (c and x1)")]
    for tree, names in _conditions(ruleset) + [(c, ("a", "b", "c", "x1", "x2")) for c in extra]:
        values = {n: bits[i % len(bits)] for i, n in enumerate(names)}
        if _oracle(tree, values):
            assert all(any(values[n] for n in group) for group in cond.needed(tree, names))


def test_every_gate_is_a_value_check_of_a_group_the_condition_needs(ruleset):
    for rule in ruleset.rules:
        groups = cond.needed(rule.condition, tuple(rule.selections)) if rule.condition is not None else ()
        for gate in rule.gates:
            assert any(all(any(g in rule.selections[n].predicates for n in group) for g in gate) and len(gate) == len(group)
                       for group in groups), rule.id
            assert all(g.subject in ("fact", "config") for g in gate), rule.id
