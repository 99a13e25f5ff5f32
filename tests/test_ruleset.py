"""Rule files load into typed rules; every mistake is reported with file:line:col and a code."""

from __future__ import annotations

import pytest
from conftest import write_rules

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
