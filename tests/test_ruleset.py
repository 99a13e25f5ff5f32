"""Rule files load into typed rules; every mistake is reported with file:line:col and a code."""

from __future__ import annotations

import pytest
from conftest import write_rules
from hypothesis import given, settings
from hypothesis import strategies as st

from inspector.errors import RuleError
from inspector.ruleset import load_ruleset

GOOD = """
rules:
  - id: t.qwen-vocab
    description: test rule
    status: test
    lineage: qwen
    weight: 0.8
    match:
      vocab:
        - fact: vocab_size
          in: [151936, 152064]
"""


def problems(tmp_path, text):
    p = write_rules(tmp_path, text)
    rs = load_ruleset([p], strict=False)
    return [x for x in rs.problems if x.location and x.location.file == str(p)]


def test_the_shipped_rules_load_without_errors(ruleset):
    assert not ruleset.errors


def test_a_good_rule_loads(tmp_path):
    p = write_rules(tmp_path, GOOD)
    rs = load_ruleset([p])
    r = rs.rule("t.qwen-vocab")
    assert r.votes == {"lineage": "qwen"} and r.weight == 0.8
    assert r.loc.line == 3


def test_an_extra_rule_with_a_shipped_id_replaces_it(tmp_path, ruleset):
    shipped = ruleset.rules[0]
    p = write_rules(tmp_path, GOOD.replace("t.qwen-vocab", shipped.id))
    rs = load_ruleset([p])
    assert [r for r in rs.rules if r.id == shipped.id][0].loc.file == str(p)


@pytest.mark.parametrize(
    "text, code, line, hint",
    [
        (GOOD.replace("weight: 0.8", "wieght: 0.8"), "E111", 7, "did you mean 'weight'"),
        (GOOD.replace("in: [151936", "inn: [151936"), "E111", 11, "did you mean 'in'"),
        (GOOD.replace("fact: vocab_size", "fact: vocab_sise"), "E146", 10, "did you mean 'vocab_size'"),
        (GOOD.replace("status: test", "status: stabel"), "E111", 5, "did you mean 'stable'"),
        (GOOD.replace("weight: 0.8", "weight: high"), "E126", 7, "number"),
        (GOOD + "    condition: vocab and nope\n", "E129", 12, "nope"),
        (GOOD + "    condition: vocab and\n", "E128", 12, "ends too early"),
        (GOOD.replace("        - fact: vocab_size\n          in: [151936, 152064]", "        - tensor: a.{X}.b"), "E147", 10, "placeholder"),
        (GOOD.replace("        - fact: vocab_size\n          in: [151936, 152064]", "        - fact: model_type\n          matches: '(a)\\1'"), "E148", 11, "regex"),
        (GOOD.replace("        - fact: vocab_size\n          in: [151936, 152064]", "        - tensor: a.b\n          present: on"), "E148", 11, "true/false"),
        (GOOD.replace("lineage: qwen\n", "kind: decodr\n"), "E111", 6, "did you mean 'decoder'"),
        (GOOD + "  - id: t.qwen-vocab\n    lineage: x\n    match: {a: {fact: vocab_size, exists: true}}\n", "E201", 12, "duplicate rule id"),
        (GOOD.replace("status: test", "extends: t.nothing"), "E130", 5, "unknown rule"),
        (GOOD.replace("        - fact: vocab_size\n          in: [151936, 152064]", "        - use: t.frag"), "E142", 10, "unknown fragment"),
        # Found by fuzz_rules: a selection named by an anchor alone (`&arch:`) is a null key; the
        # condition's did-you-mean then crashed on it.
        (GOOD.replace("      vocab:", "      &arch:") + "    condition: arch\n", "E122", 9, "non-empty string"),
        (GOOD.replace("      vocab:", "      1:") + "    condition: vocab\n", "E122", 9, "non-empty string"),
    ],
)
def test_a_broken_rule_is_reported_at_its_line(tmp_path, text, code, line, hint):
    found = problems(tmp_path, text)
    assert any(p.code == code and p.location.line == line and hint in p.message for p in found), [str(p) for p in found]


def test_a_selection_never_used_is_a_warning(tmp_path):
    text = GOOD.replace("          in: [151936, 152064]", "          in: [151936, 152064]\n      spare:\n        - fact: hidden_size\n          gte: 1\n    condition: vocab")
    found = problems(tmp_path, text)
    assert any(p.code == "W302" and p.severity == "warning" for p in found)


def test_errors_stop_loading_with_every_problem(tmp_path):
    p = write_rules(tmp_path, GOOD.replace("weight: 0.8", "wieght: 0.8").replace("status: test", "status: nope"))
    with pytest.raises(RuleError) as e:
        load_ruleset([p])
    assert len(e.value.problems) == 2


def test_extends_overrides_keys_and_merges_selections(tmp_path):
    text = GOOD + """  - id: t.child
    extends: t.qwen-vocab
    weight: 0.2
    match:
      big:
        - fact: hidden_size
          gte: 4096
"""
    rs = load_ruleset([write_rules(tmp_path, text)])
    child = rs.rule("t.child")
    assert child.weight == 0.2 and child.votes == {"lineage": "qwen"}
    assert set(child.selections) == {"vocab", "big"}


def test_fragments_are_shared_across_files(tmp_path):
    (tmp_path / "a.yaml").write_text("fragments:\n  - id: f.vocab\n    predicates:\n      - fact: vocab_size\n        equals: 64000\n")
    (tmp_path / "b.yaml").write_text("rules:\n  - id: t.yi\n    lineage: yi\n    match:\n      v:\n        - use: f.vocab\n")
    rs = load_ruleset([tmp_path])
    assert rs.rule("t.yi").selections["v"].predicates[0].key == "vocab_size"


def _computed_facts(snap, ruleset) -> set[str]:
    """Facts that code computed: not a facts.yaml entry read from the config."""
    from inspector.facts import build_facts

    facts = build_facts(snap, ruleset.facts)
    return {n for n in facts.values if n not in ruleset.facts or not facts.sources[n].startswith("config:")}


def test_derived_facts_are_exactly_the_facts_code_computes(ruleset, insp):
    """Issue 14: DERIVED_FACTS advertised facts nothing computed (a rule on them never held)."""
    from conftest import SAMPLES

    from inspector.readout import Snapshot, TensorInfo
    from inspector.rule_fixtures import load_fixtures
    from inspector.ruleset import DERIVED_FACTS

    # synthetic: a config without vocab_size / hidden_size, a card, a repo id and a read note (no real sample has all four).
    synthetic = Snapshot(target="synthetic", source="fixture", repo_id="org/synthetic", files=["config.json"],
                         config={"auto_map": {"AutoModel": "m.M"}, "num_attention_heads": 2},
                         tensors={"model.embed_tokens.weight": TensorInfo("model.embed_tokens.weight", "BF16", (64, 8))},
                         card={"base_model": "org/base"}, config_notes=["config.json: `rope_theta` is NaN"])
    snaps = [synthetic] + [fx.snapshot() for fx in load_fixtures().fixtures]
    snaps += [insp.snapshot(str(p)) for p in SAMPLES.iterdir() if p.is_dir()]
    computed = set().union(*(_computed_facts(s, ruleset) for s in snaps))
    assert computed == set(DERIVED_FACTS)


def test_a_rule_on_a_fact_nothing_computes_is_refused(tmp_path):
    found = problems(tmp_path, GOOD.replace("fact: vocab_size", "fact: declared_lineage"))
    assert [(p.code, p.location.line) for p in found] == [("E146", 10)]


def test_tags_are_kept_on_the_rule(tmp_path):
    rs = load_ruleset([write_rules(tmp_path, GOOD.replace("    status: test\n", "    status: test\n    tags: [moe, vocab]\n"))])
    assert rs.rule("t.qwen-vocab").tags == ("moe", "vocab")


def test_tags_that_are_not_a_list_of_strings_are_refused(tmp_path):
    found = problems(tmp_path, GOOD.replace("    status: test\n", "    status: test\n    tags: moe\n"))
    assert [(p.code, p.location.line, p.location.col) for p in found] == [("E122", 6, 11)]


@pytest.mark.parametrize("condition", ["(" * 3000 + "vocab" + ")" * 3000, "not " * 3000 + "vocab"])
def test_a_condition_nested_too_deeply_is_a_rule_error_not_a_crash(tmp_path, condition):
    """Issue 12: the condition parser recurses on `not` and parentheses; it stops at 32."""
    found = problems(tmp_path, GOOD + f'    condition: "{condition}"\n')
    assert [(p.code, p.location.line) for p in found] == [("E128", 12)] and "deeper than 32" in found[0].message


def test_a_long_extends_chain_is_a_rule_error_not_a_crash(tmp_path):
    chain = "".join(f"  - id: t.r{i}\n    extends: t.r{i + 1}\n" for i in range(3000))
    found = problems(tmp_path, GOOD.replace("rules:\n", "rules:\n" + chain).replace("t.qwen-vocab", "t.r3000"))
    assert found and {p.code for p in found} == {"E131"} and "deeper than 16" in found[0].message


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=" ()abx*01", max_size=60).map(lambda s: s.replace("a", " and ").replace("b", " or ").replace("x", " not ")))
def test_any_condition_text_parses_or_is_a_condition_error(text):
    from inspector import condition as cond

    try:
        tree = cond.parse(text)
    except cond.ConditionError:
        return
    assert cond.evaluate(tree, {"s1": True}) in (True, False)
