"""Rule authoring (inspector/authoring.py, inspector/rule_fixtures.py): every problem class at its line,
the compact fixture encoding, the whole-set test semantics, snapshots and the JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import SAMPLES

from inspector.authoring import (
    caret,
    load_inputs,
    make_fixture,
    new_family,
    rules_schema,
    run_tests,
    validate,
    write_fixtures,
)
from inspector.errors import Location, RuleError, RuleProblem, UsageError
from inspector.readout import TensorInfo
from inspector.rule_fixtures import compress_tensors, expand_name, load_fixtures

FACTS = """\
facts:
  model_type: [model_type]
  architectures: [architectures]
  vocab_size: [vocab_size]
  hidden_size: [hidden_size]
  num_layers: [num_hidden_layers]
  num_heads: [num_attention_heads]
"""

GOOD = """\
rules:
  - id: t.qwen-vocab
    status: test
    lineage: qwen
    weight: 0.8
    match:
      vocab:
        - fact: vocab_size
          in: [151936, 152064]
"""


def check(tmp_path: Path, text: str, *, name: str = "r.yaml", extra: dict[str, str] | None = None) -> list[RuleProblem]:
    """Problems of one rule folder (own facts, no shipped rules, no samples): fast and isolated."""
    folder = tmp_path / "pack"
    folder.mkdir(exist_ok=True)
    (folder / "facts.yaml").write_text(FACTS)
    (folder / name).write_text(text)
    for rel, body in (extra or {}).items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(body)
    return validate([folder], shipped=False, samples=tmp_path / "no-samples").problems


def found(problems: list[RuleProblem], code: str, line: int, hint: str = "") -> bool:
    return any(p.code == code and p.location and p.location.line == line and hint in p.message for p in problems)


# --- every problem class, each at its line ------------------------------------------------------
BROKEN = [
    # (name, text, code, line, hint)
    ("invalid yaml", GOOD.replace("    weight: 0.8\n", "    weight: [0.8\n"), "E101", 6, "invalid YAML"),
    ("tab indentation", GOOD.replace("    lineage: qwen", "\tlineage: qwen"), "E101", 4, "invalid YAML"),
    ("duplicate key", GOOD.replace("    weight: 0.8\n", "    weight: 0.8\n    weight: 0.9\n"), "E102", 6, "duplicate key 'weight'"),
    ("alias", GOOD.replace("in: [151936, 152064]", "in: &v [151936]\n        - fact: hidden_size\n          in: *v"), "E103", 11, "aliases"),
    ("not a mapping", "- just\n- a list\n", "E110", 1, "mapping"),
    ("unknown top-level key", GOOD + "rulez: []\n", "E111", 10, "did you mean 'rules'"),
    ("unknown rule key", GOOD.replace("weight: 0.8", "wieght: 0.8"), "E111", 5, "did you mean 'weight'"),
    ("unknown operator", GOOD.replace("in: [151936", "inn: [151936"), "E111", 9, "did you mean 'in'"),
    ("unknown status", GOOD.replace("status: test", "status: stabel"), "E111", 3, "did you mean 'stable'"),
    ("unknown kind", GOOD.replace("lineage: qwen", "kind: decodr"), "E111", 4, "did you mean 'decoder'"),
    ("rules not a list", "rules:\n  id: x\n", "E120", 2, "list of rules"),
    ("rule without id", GOOD.replace("  - id: t.qwen-vocab\n    status: test", "  - status: test"), "E121", 2, "needs an `id`"),
    ("vote not a string", GOOD.replace("lineage: qwen", "lineage: [qwen]"), "E122", 4, "non-empty string"),
    ("references not strings", GOOD.replace("status: test", "status: test\n    references: [1, 2]"), "E122", 4, "references"),
    ("votes for nothing", GOOD.replace("    lineage: qwen\n", ""), "E125", 2, "votes for nothing"),
    ("weight not a number", GOOD.replace("weight: 0.8", "weight: high"), "E126", 5, "number"),
    ("no match", GOOD.split("    match:")[0], "E127", 2, "needs a `match:`"),
    ("condition syntax", GOOD + "    condition: vocab and\n", "E128", 10, "ends too early"),
    ("condition not a string", GOOD + "    condition: [vocab]\n", "E128", 10, "must be a string"),
    ("condition names nothing", GOOD + "    condition: vocab or vocb\n", "E129", 10, "did you mean 'vocab'"),
    ("extends unknown", GOOD.replace("status: test", "extends: t.qwen-vocb"), "E130", 3, "did you mean 't.qwen-vocab'"),
    ("extends loop", GOOD.replace("status: test", "extends: t.b") + "  - id: t.b\n    extends: t.qwen-vocab\n", "E131", 3, "loops"),
    ("empty selection", GOOD.replace("      vocab:\n        - fact: vocab_size\n          in: [151936, 152064]", "      vocab: []"), "E140", 7, "non-empty list"),
    ("predicate not a mapping", GOOD.replace("        - fact: vocab_size\n          in: [151936, 152064]", "        - vocab_size"), "E141", 8, "must be a mapping"),
    ("unknown fragment", GOOD.replace("        - fact: vocab_size\n          in: [151936, 152064]", "        - use: t.frag"), "E142", 8, "unknown fragment"),
    ("two subjects", GOOD.replace("        - fact: vocab_size\n", "        - fact: vocab_size\n          config: vocab_size\n"), "E144", 8, "exactly one"),
    ("subject not a string", GOOD.replace("fact: vocab_size", "fact: 12"), "E145", 8, "must name something"),
    ("unknown fact", GOOD.replace("fact: vocab_size", "fact: vocab_sise"), "E146", 8, "did you mean 'vocab_size'"),
    ("bad tensor placeholder", GOOD.replace("        - fact: vocab_size\n          in: [151936, 152064]", "        - tensor: layers.{X}.q_proj"), "E147", 8, "placeholder"),
    ("empty tensor component", GOOD.replace("        - fact: vocab_size\n          in: [151936, 152064]", "        - tensor: layers..q_proj"), "E147", 8, "empty component"),
    ("boolean written on", GOOD.replace("        - fact: vocab_size\n          in: [151936, 152064]", "        - tensor: lm_head\n          present: on"), "E148", 9, "expected true/false, got 'on'"),
    ("boolean written yes", GOOD.replace("          in: [151936, 152064]", "          exists: yes"), "E148", 9, "expected true/false"),
    ("regex backreference", GOOD.replace("          in: [151936, 152064]", "          matches: '(a)\\1'"), "E148", 9, "RE2"),
    ("regex lookahead", GOOD.replace("          in: [151936, 152064]", "          matches: 'Qwen(?!2)'"), "E148", 9, "RE2"),
    ("regex that does not compile", GOOD.replace("          in: [151936, 152064]", "          matches: '(unclosed'"), "E148", 9, "regex"),
    ("between reversed", GOOD.replace("in: [151936, 152064]", "between: [9, 1]"), "E148", 9, "[low, high]"),
    ("layers out of range", GOOD.replace("        - fact: vocab_size\n          in: [151936, 152064]", "        - tensor: layers.{N}.q_proj\n          layers: 90"), "E148", 9, "fraction"),
    ("shape with code", GOOD.replace("        - fact: vocab_size\n          in: [151936, 152064]", "        - tensor: lm_head\n          shape: ['__import__(1)']"), "E148", 9, "fact names"),
    ("no operator", GOOD.replace("          in: [151936, 152064]\n", ""), "E149", 8, "needs an operator"),
    ("duplicate id in a file", GOOD + GOOD.split("rules:\n")[1], "E201", 10, "duplicate rule id"),
    ("selection never used", GOOD + "      spare:\n        - fact: hidden_size\n          gte: 1\n    condition: vocab\n", "W302", 10, "never used"),
    ("nested quantifier", GOOD.replace("          in: [151936, 152064]", "          matches: '^(Qwen\\w+)+$'"), "W303", 9, "nested quantifier"),
    ("unhashable key", GOOD + "? [a, b]\n: 1\n", "E104", 10, "plain value"),
    ("base_weight not a number", GOOD + "base_weight: lots\n", "E120", 10, "base_weight"),
    ("base without fingerprint", "bases:\n  - id: X-7B\n    lineage: x\n", "E123", 2, "fingerprint"),
    ("fragment without predicates", "fragments:\n  - id: f.a\n", "E124", 2, "predicates"),
    ("fragment that uses itself", "fragments:\n  - id: f.a\n    predicates:\n      - use: f.a\n"
     + GOOD.replace("        - fact: vocab_size\n          in: [151936, 152064]", "        - use: f.a"), "E143", 4, "too deeply"),
]


@pytest.mark.parametrize("text, code, line, hint", [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN])
def test_a_broken_rule_file_is_reported_at_its_line(tmp_path, text, code, line, hint):
    problems = check(tmp_path, text)
    assert found(problems, code, line, hint), [str(p) for p in problems]


def test_a_missing_path_an_oversized_file_and_missing_facts(tmp_path):
    assert found(validate([tmp_path / "nope.yaml"], samples=tmp_path).problems, "E100", 1)
    big = tmp_path / "big.yaml"
    big.write_text("# " + "x" * 5_100_000 + "\n")
    assert found(validate([big], samples=tmp_path).problems, "E105", 1, "limit")
    (tmp_path / "only").mkdir()
    (tmp_path / "only" / "r.yaml").write_text(GOOD)
    problems = validate([tmp_path / "only"], shipped=False, samples=tmp_path).problems
    assert any(p.code == "W301" and p.severity == "warning" for p in problems)


def test_every_problem_is_found_in_one_pass(tmp_path):
    text = GOOD.replace("weight: 0.8", "wieght: 0.8").replace("status: test", "status: nope").replace("in: [", "inn: [")
    codes = sorted(p.code for p in check(tmp_path, text) if p.severity == "error")
    assert codes == ["E111", "E111", "E111"]


def test_a_float_written_1e_minus_5_is_a_float(tmp_path):
    check(tmp_path, GOOD.replace("weight: 0.8", "weight: 1e-5"))
    rs, _fx = load_inputs([tmp_path / "pack"], shipped=False)
    assert rs.rule("t.qwen-vocab").weight == pytest.approx(1e-5)


def test_the_same_id_in_two_extra_files_is_a_duplicate(tmp_path):
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text(GOOD)
    b.write_text(GOOD)
    problems = validate([a, b], samples=tmp_path).problems
    assert any(p.code == "E201" and p.location.file == str(b) for p in problems), [str(p) for p in problems]


def test_an_extra_rule_with_a_shipped_id_replaces_it_quietly(tmp_path, ruleset):
    shipped = next(r for r in ruleset.rules if r.status != "deprecated")
    p = tmp_path / "r.yaml"
    p.write_text(GOOD.replace("t.qwen-vocab", shipped.id))
    v = validate([p], samples=tmp_path)
    assert not v.errors, [str(e) for e in v.errors]


def test_dead_config_keys_and_tensor_patterns_are_warnings(tmp_path):
    text = GOOD.replace("        - fact: vocab_size\n          in: [151936, 152064]",
                        "        - config: no_such_key_anywhere\n          exists: true\n        - tensor: layers.{N}.no_such_proj\n"
                        "        - tensor: layers.{N}.self_attn.q_proj\n        - config: rope_theta\n          exists: true")
    p = tmp_path / "r.yaml"
    p.write_text(text)
    problems = [x for x in validate([p]).problems if x.location and x.location.file == str(p)]
    assert found(problems, "W304", 8, "no_such_key_anywhere")
    assert found(problems, "W305", 10, "no_such_proj")
    assert not any(x.code in ("W304", "W305") and x.location.line in (11, 12) for x in problems)
    w = next(x for x in problems if x.code == "W305")
    assert w.location.col == 19 and w.severity == "warning"  # the pattern itself, not the predicate


def test_validate_exit_codes():
    ok = validate([], samples=Path("/nonexistent"))
    assert ok.exit_code(strict=False) == 0
    warn = type(ok)([RuleProblem("W302", "w", None, "warning")], [], 0, 0)
    err = type(ok)([RuleProblem("E111", "e", None)], [], 0, 0)
    assert (warn.exit_code(False), warn.exit_code(True), err.exit_code(False)) == (0, 1, 2)


def test_caret_points_at_the_column_with_help(tmp_path):
    p = tmp_path / "r.yaml"
    p.write_text(GOOD.replace("weight: 0.8", "wieght: 0.8"))
    prob = next(x for x in validate([p], samples=tmp_path).problems if x.code == "E111")
    lines = caret(prob).splitlines()
    assert lines[0] == str(prob) and lines[0].startswith(f"{p}:5:5: error[E111]")
    assert lines[2] == " 5 |     wieght: 0.8"
    assert lines[3] == "   |     ^^^^^^"
    assert lines[4] == "   = help: did you mean 'weight'?"


def test_caret_underlines_a_whole_tensor_pattern():
    text = "rules:\n  - tensor: decoder.layers.{N}.encoder_attn\n    in: [a, b]\n"
    prob = RuleProblem("W305", "x", Location("f", 2, 13), "warning")
    out = caret(prob, {"f": text.splitlines()}).splitlines()
    assert out[3].index("^") == out[2].index("decoder") and out[3].count("^") == len("decoder.layers.{N}.encoder_attn")
    flow = caret(RuleProblem("E1", "x", Location("f", 3, 10)), {"f": text.splitlines()}).splitlines()
    assert flow[3].count("^") == 1  # `a` inside [a, b]


# --- fixtures: the compact encoding ---------------------------------------------------------------
@pytest.mark.parametrize("names", [
    [f"model.layers.{i}.mlp.up_proj.weight" for i in range(32)],
    [f"model.layers.{i}.mlp.up_proj.weight" for i in (0, 1, 2, 3, 5, 7, 8, 9)],
    [f"model.layers.{i}.block_sparse_moe.experts.{e}.w1.weight" for i in range(4) for e in range(8)],
    [f"m.{i}.x.{e}" for i in range(3) for e in range(i + 1)],  # not a product: rows per shape
    ["h.01.attn", "h.1.attn", "h.2.attn"],  # `01` is not folded
    ["lm_head.weight", "transformer.h.0.ln_1.weight"],
])
def test_compact_tensor_names_expand_back_exactly(names):
    tensors = {n: TensorInfo(n, "BF16", (4, 4)) for n in names}
    packed = compress_tensors(tensors)
    assert sorted(x for k in packed for x in expand_name(k)) == sorted(names)
    assert all(v == ["BF16", [4, 4]] for v in packed.values())


def test_compact_names_fold_a_layer_range_and_keep_shapes_apart():
    tensors = {f"l.{i}.w": TensorInfo(f"l.{i}.w", "F16", (8,) if i < 2 else (4,)) for i in range(4)}
    assert compress_tensors(tensors) == {"l.{0-1}.w": ["F16", [8]], "l.{2-3}.w": ["F16", [4]]}


def test_a_range_bomb_is_refused(tmp_path):
    p = tmp_path / "f.yaml"
    p.write_text("fixtures:\n  - id: x\n    tensors:\n      a.{0-99999999}.{0-99999999}.w: null\n")
    fx = load_fixtures([p], shipped=False)
    assert any(x.code == "E162" and x.location.line == 4 for x in fx.problems)


FIXTURE_ERRORS = [
    ("not a list", "fixtures: {a: 1}\n", "E160", 1),
    ("no id", "fixtures:\n  - expect: {kind: decoder}\n", "E161", 2),
    ("duplicate id", "fixtures:\n  - id: a\n  - id: a\n", "E161", 3),
    ("unknown key", "fixtures:\n  - id: a\n    expcet: {}\n", "E111", 3),
    ("bad tensor value", "fixtures:\n  - id: a\n    tensors:\n      w: [BF16, 12]\n", "E162", 4),
    ("bad kind", "fixtures:\n  - id: a\n    expect: {kind: decodr}\n", "E163", 3),
    ("unknown expect field", "fixtures:\n  - id: a\n    expect: {linage: qwen}\n", "E111", 3),
    ("bad todo", "fixtures:\n  - id: a\n    todo: 3\n", "E163", 3),
    ("bad rule outcome", "fixtures:\n  - id: a\n    rules: {x.y: matches}\n", "E164", 3),
    ("unknown rule", "fixtures:\n  - id: a\n    rules: {qwen.tokenizr: match}\n", "E165", 3),
]


@pytest.mark.parametrize("text, code, line", [f[1:] for f in FIXTURE_ERRORS], ids=[f[0] for f in FIXTURE_ERRORS])
def test_a_broken_fixture_is_reported_at_its_line(tmp_path, text, code, line):
    p = tmp_path / "f.yaml"
    p.write_text(text)
    problems = [x for x in validate([p], samples=tmp_path).problems if x.location and x.location.file == str(p)]
    assert any(x.code == code and x.location.line == line for x in problems), [str(x) for x in problems]


def test_an_unknown_rule_in_a_fixture_gets_a_did_you_mean(tmp_path):
    p = tmp_path / "f.yaml"
    p.write_text(FIXTURE_ERRORS[-1][1])
    prob = next(x for x in validate([p], samples=tmp_path).problems if x.code == "E165")
    assert "did you mean 'qwen.tokenizer'" in prob.message


# --- the whole-set test ---------------------------------------------------------------------------
RULES = """\
rules:
  - id: a.vocab
    status: stable
    lineage: alpha
    weight: 1.0
    match:
      v: {fact: vocab_size, equals: 100}
  - id: a.against
    status: test
    lineage: beta
    weight: -0.5
    match:
      v: {fact: vocab_size, equals: 100}
  - id: b.greedy
    status: experimental
    lineage: beta
    weight: 2.0
    match:
      v: {fact: hidden_size, gte: 1}
  - id: c.never
    status: stable
    lineage: gamma
    match:
      v: {fact: vocab_size, equals: 7}
"""
FIXTURES = """\
fixtures:
  - id: fa
    expect: {lineage: alpha}
    rules: {a.vocab: match, c.never: no-match, b.greedy: todo}
    config: {"vocab_size": 100}
  - id: fb
    expect: {lineage: beta}
    config: {"vocab_size": 200, "hidden_size": 64}
  - id: fa-big
    expect: {lineage: alpha}
    config: {"vocab_size": 100, "hidden_size": 64}
  - id: unsure
    expect: {lineage: alpha}
    todo: [lineage]
    config: {"vocab_size": 5}
"""


@pytest.fixture
def report(tmp_path):
    (tmp_path / "facts.yaml").write_text(FACTS)
    (tmp_path / "r.yaml").write_text(RULES)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "f.yaml").write_text(FIXTURES)
    rs, fx = load_inputs([tmp_path], shipped=False)
    assert not rs.errors and not fx.errors, [str(p) for p in rs.problems + fx.problems]
    return run_tests(rs, fx.fixtures)


def test_counts_true_and_false_positives_and_negatives(report):
    s = {r.id: r for r in report.rules}
    assert (s["a.vocab"].tp, s["a.vocab"].fp, s["a.vocab"].fn, s["a.vocab"].tn) == (2, 0, 0, 1)
    assert (s["b.greedy"].tp, s["b.greedy"].fp, s["b.greedy"].tn) == (1, 1, 1)
    assert s["b.greedy"].fp_fixtures == ["fa-big"]
    # a negative weight is right where its value is NOT expected
    assert (s["a.against"].tp, s["a.against"].fp, s["a.against"].fn, s["a.against"].tn) == (2, 0, 0, 1)


def test_a_rule_that_steals_a_fixture_fails_it_with_the_winner_and_margin(report):
    fails = [f for f in report.failures if f.fixture == "fa-big"]
    assert len(fails) == 1 and fails[0].what == "verdict"
    f = fails[0]
    assert (f.field, f.expected, f.observed, f.rule) == ("lineage", "alpha", "beta", "b.greedy")
    assert "margin 0.50" in f.message and "alpha scored +1.00" in f.message  # beta 2.0 - 0.5 against alpha 1.0


def test_rule_expectations_todo_and_coverage(report):
    assert not [f for f in report.failures if f.fixture == "fa"]
    todos = dict(report.todos)
    assert "b.greedy does not fire" in todos["fa"] and "unconfirmed" in todos["unsure"]
    assert report.never_fired == ["c.never"]
    cov = [f for f in report.failures if f.what == "coverage"]
    assert [f.rule for f in cov] == ["c.never"] and "no positive" in cov[0].message
    assert not report.ok


def test_a_broken_rule_expectation_fails(tmp_path):
    (tmp_path / "facts.yaml").write_text(FACTS)
    (tmp_path / "r.yaml").write_text(RULES)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "f.yaml").write_text(FIXTURES.replace("c.never: no-match", "c.never: match"))
    rs, fx = load_inputs([tmp_path], shipped=False)
    fails = [f for f in run_tests(rs, fx.fixtures).failures if f.what == "rule"]
    assert len(fails) == 1 and fails[0].rule == "c.never" and fails[0].where.endswith(":4:29")


# --- snapshots ------------------------------------------------------------------------------------
@pytest.mark.parametrize("sample", ["Qwen__Qwen-7B", "microsoft__WizardLM-2-8x22B", "google-t5__t5-small"])
def test_a_sample_snapshot_reads_back_as_the_same_snapshot(tmp_path, insp, sample):
    target = str(SAMPLES / sample)
    item = make_fixture(insp, target)
    out = tmp_path / "t.yaml"
    write_fixtures(out, [item])
    fx = load_fixtures([out], shipped=False)
    assert not fx.problems, [str(p) for p in fx.problems]
    got, snap = fx.fixtures[0], insp.snapshot(target)
    assert got.config == snap.config
    assert {n: (t.dtype, t.shape) for n, t in got.tensors.items()} == {n: (t.dtype, t.shape) for n, t in snap.tensors.items()}
    assert got.todo == () and got.expect["lineage"]  # samples/expected.tsv confirms every field
    assert insp.judge(got.snapshot())[0].lineage == insp.judge(snap)[0].lineage


def test_snapshot_guesses_what_nobody_gave_as_todo(tmp_path, insp):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "config.json").write_text((SAMPLES / "Qwen__Qwen-7B" / "config.json").read_text())
    item = make_fixture(insp, str(tmp_path / "m"), expect={"lineage": "qwen"})
    assert item["expect"]["lineage"] == "qwen" and "lineage" not in item["todo"]
    assert set(item["todo"]) == {"kind", "layout", "base"}
    bare = make_fixture(insp, str(tmp_path / "m"), guess=False)
    assert bare["expect"] == {} and bare["todo"] == []


def test_a_corpus_folder_brings_its_label_and_provenance(insp):
    item = make_fixture(insp, str(SAMPLES.parent / "corpus" / "FlagAlpha__Atom-7B"), guess=False)
    assert item["expect"] == {"kind": "decoder", "lineage": "llama"}
    assert item["source"]["model"] == "FlagAlpha/Atom-7B" and "HuengchI/Atom-7B" in item["source"]["provenance"]
    assert "pytorch_model.bin.index.json" in item["files"] and len(item["tensors"]) > 5


def test_a_hub_repo_becomes_a_fixture(tmp_path, hub, hub_client):
    from inspector.api import Inspector

    hub.add_folder("Qwen/Qwen-7B", SAMPLES / "Qwen__Qwen-7B")
    insp = Inspector(client=hub_client)
    item = make_fixture(insp, "Qwen/Qwen-7B", expect={"lineage": "qwen"})
    assert item["id"] == "Qwen__Qwen-7B" and item["repo_id"] == "Qwen/Qwen-7B"
    assert item["source"]["revision"] == hub.sha("Qwen/Qwen-7B")
    write_fixtures(tmp_path / "t.yaml", [item])
    fx = load_fixtures([tmp_path / "t.yaml"], shipped=False).fixtures[0]
    assert fx.repo_id == "Qwen/Qwen-7B" and insp.judge(fx.snapshot())[0].lineage == "qwen"


def test_appending_keeps_comments_and_refuses_a_duplicate_id(tmp_path, insp):
    out = tmp_path / "t.yaml"
    out.write_text("# my notes\nfixtures:\n  - id: mine  # hand-written\n    expect: {lineage: qwen}\n")
    write_fixtures(out, [make_fixture(insp, str(SAMPLES / "google-t5__t5-small"))])
    text = out.read_text()
    assert text.startswith("# my notes\n") and "# hand-written" in text
    assert [f.id for f in load_fixtures([out], shipped=False).fixtures] == ["mine", "google-t5__t5-small"]
    with pytest.raises(UsageError):
        write_fixtures(out, [make_fixture(insp, str(SAMPLES / "google-t5__t5-small"))])
    rules = tmp_path / "facts.yaml"
    rules.write_text(FACTS)
    with pytest.raises(UsageError):  # not a fixture file: never appended to
        write_fixtures(rules, [{"id": "x"}])
    assert rules.read_text() == FACTS


def test_a_user_fixture_with_a_shipped_id_replaces_it(tmp_path):
    shipped = load_fixtures().fixtures[0]
    p = tmp_path / "f.yaml"
    p.write_text(f"fixtures:\n  - id: {shipped.id}\n    expect: {{lineage: other}}\n")
    fx = load_fixtures([p])
    mine = [f for f in fx.fixtures if f.id == shipped.id]
    assert not fx.problems and len(mine) == 1 and mine[0].expect == {"lineage": "other"}


# --- new family, schema ---------------------------------------------------------------------------
def test_a_new_family_validates_and_refuses_to_overwrite(tmp_path):
    paths = new_family("granite", tmp_path / "pack")
    assert [p.name for p in paths] == ["granite.yaml", "granite.yaml"]
    v = validate([tmp_path / "pack"], samples=tmp_path)
    assert not v.errors, [str(e) for e in v.errors]
    rs, fx = load_inputs([tmp_path / "pack"])
    assert rs.rule("granite.declared") and any(f.id == "granite-stub" for f in fx.fixtures)
    with pytest.raises(UsageError):
        new_family("granite", tmp_path / "pack")
    with pytest.raises(UsageError):
        new_family("Bad Name", tmp_path / "pack")


def _plain(v):
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_plain(x) for x in v]
    return v


def test_the_schema_accepts_every_shipped_file_and_rejects_a_typo():
    jsonschema = pytest.importorskip("jsonschema")
    from inspector.ruleset import shipped_rules_dir
    from inspector.yamlloc import load_file

    schema = rules_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    check = jsonschema.Draft202012Validator(schema)
    files = sorted(shipped_rules_dir().rglob("*.yaml"))
    assert len(files) > 10
    for f in files:
        errors = list(check.iter_errors(_plain(load_file(f))))
        assert not errors, (f, errors[0].message)
    bad = _plain(json.loads('{"rules": [{"id": "x", "lineage": "q", "wieght": 1, "match": {"a": {"fact": "v", "equals": 1}}}]}'))
    assert list(check.iter_errors(bad))
    bad_op = {"rules": [{"id": "x", "lineage": "q", "match": {"a": {"tensor": "t", "equals": 1}}}]}
    assert list(check.iter_errors(bad_op))


def test_the_schema_lists_every_operator():
    from inspector.operators import FILE_OPS, TENSOR_OPS, VALUE_OPS

    preds = rules_schema()["$defs"]["predicate"]["oneOf"]
    ops = {k for p in preds for k in p["properties"]}
    assert set(VALUE_OPS) | set(TENSOR_OPS) | set(FILE_OPS) <= ops


def test_errors_are_the_projects_own(tmp_path):
    (tmp_path / "r.yaml").write_text("rules: [\n")
    from inspector.authoring import run_rule_tests

    with pytest.raises(RuleError) as e:
        run_rule_tests([tmp_path / "r.yaml"])
    assert e.value.problems[0].code == "E101"
