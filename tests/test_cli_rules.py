"""`inspector rules ...` on the command line: exit codes, the caret display, JSON, and the whole
shipped rule set against the whole shipped fixture set (the CI gate)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from conftest import SAMPLES

from inspector.cli import main

BROKEN = """\
rules:
  - id: t.x
    lineage: qwen
    wieght: 0.8
    match:
      vocab:
        - fact: vocab_size
          in: [151936]
"""
WARN_ONLY = """\
rules:
  - id: t.x
    lineage: qwen
    match:
      vocab:
        - fact: vocab_size
          in: [151936]
      spare:
        - fact: hidden_size
          gte: 1
    condition: vocab
"""


def run(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_the_shipped_rules_and_fixtures_pass_rules_test():
    """The CI gate: every shipped rule on every shipped fixture (its time is measured in
    bench/bench_rules.py, not asserted here: no timed tests)."""
    from inspector.authoring import run_rule_tests

    report = run_rule_tests([])
    failures = [f"{f.fixture or f.rule} ({f.where}): {f.message}" for f in report.failures]
    assert report.ok, "\n".join(failures)
    assert len(report.results) >= 100


def test_every_sample_and_corpus_folder_is_a_fixture_with_its_provenance():
    from inspector.rule_fixtures import load_fixtures

    fixtures = load_fixtures().fixtures
    provenance = " ".join(f.source.get("provenance", "") for f in fixtures)
    folders = [p for root in (SAMPLES, SAMPLES.parent / "corpus") for p in root.iterdir() if (p / "SOURCE.md").is_file()]
    samples = {p.name for p in SAMPLES.iterdir() if p.is_dir()}
    missing = [p.name for p in folders if p.name not in provenance and not (p.parent.name == "corpus" and p.name in samples)]
    assert not missing
    assert all(f.source.get("model") and f.expect for f in fixtures)


def test_rules_test_cli_text_and_json():
    r = run("rules", "test")
    assert r.exit_code == 0, r.output[-3000:]
    assert "fixtures" in r.output.splitlines()[-1] and r.output.rstrip().endswith("ok")
    r = run("rules", "test", "--json", "-k", "Qwen__Qwen-7B")
    doc = json.loads(r.output)
    assert r.exit_code == 0 and doc["ok"] and doc["fixtures"] == 1
    assert any(st["tp"] == 1 and st["votes"].get("lineage") == "qwen" for st in doc["rule_stats"].values())


def test_rules_test_exits_1_on_a_failure_naming_fixture_and_rule(tmp_path):
    (tmp_path / "steal.yaml").write_text(
        "rules:\n  - id: t.steal\n    lineage: llama\n    weight: 50\n    match:\n      v: {fact: vocab_size, equals: 151936}\n")
    r = run("rules", "test", str(tmp_path / "steal.yaml"), "-k", "Qwen__Qwen-7B")
    assert r.exit_code == 1
    assert "FAIL Qwen__Qwen-7B (rules/tests/qwen.yaml:" in r.output
    assert "lineage expected qwen, observed llama, winner t.steal (+50.00)" in r.output


def test_rules_test_exits_2_on_broken_rules_and_unknown_selection(tmp_path):
    (tmp_path / "r.yaml").write_text(BROKEN)
    r = run("rules", "test", str(tmp_path / "r.yaml"))
    assert r.exit_code == 2 and "error[E111]" in r.output
    assert run("rules", "test", "-k", "no-such-fixture-anywhere").exit_code == 2


def test_validate_clean_warnings_and_errors(tmp_path):
    r = run("rules", "validate")
    assert r.exit_code == 0, r.output[-2000:]
    (tmp_path / "w.yaml").write_text(WARN_ONLY)
    assert run("rules", "validate", str(tmp_path / "w.yaml")).exit_code == 0
    r = run("rules", "validate", "--strict", str(tmp_path / "w.yaml"))
    assert r.exit_code == 1 and "warning[W302]" in r.output
    (tmp_path / "e.yaml").write_text(BROKEN)
    r = run("rules", "validate", str(tmp_path / "e.yaml"))
    assert r.exit_code == 2
    lines = r.output.splitlines()
    head = next(i for i, line in enumerate(lines) if "error[E111]" in line)
    assert lines[head].startswith(f"{tmp_path / 'e.yaml'}:4:5: error[E111] unknown rule key 'wieght'")
    assert lines[head + 2] == " 4 |     wieght: 0.8"
    assert lines[head + 3] == "   |     ^^^^^^"
    assert lines[head + 4] == "   = help: did you mean 'weight'?"


def test_validate_json(tmp_path):
    (tmp_path / "e.yaml").write_text(BROKEN)
    r = run("rules", "validate", "--format", "json", str(tmp_path / "e.yaml"))
    doc = json.loads(r.output)
    mine = [p for p in doc["problems"] if p["file"] == str(tmp_path / "e.yaml")]
    assert r.exit_code == 2 and doc["errors"] >= 1
    assert mine[0] == {"file": str(tmp_path / "e.yaml"), "line": 4, "col": 5, "severity": "error", "code": "E111",
                       "message": "unknown rule key 'wieght'; did you mean 'weight'?", "help": "did you mean 'weight'?"}


def test_validate_reads_a_fixture_file_as_fixtures(tmp_path):
    (tmp_path / "f.yaml").write_text("fixtures:\n  - id: x\n    expect: {kind: decodr}\n")
    r = run("rules", "validate", str(tmp_path / "f.yaml"))
    assert r.exit_code == 2 and f"{tmp_path / 'f.yaml'}:3:20: error[E163]" in r.output and "did you mean 'decoder'" in r.output


def test_snapshot_writes_a_fixture_that_rules_test_runs(tmp_path):
    out = tmp_path / "tests" / "t5.yaml"
    r = run("rules", "snapshot", str(SAMPLES / "google-t5__t5-small"), "-o", str(out), "--id", "t5", "--match", "t5.declared")
    assert r.exit_code == 0, r.output
    assert "fixture t5" in r.output
    r = run("rules", "test", str(out), "-k", str(out))
    assert r.exit_code == 0, r.output[-2000:]
    r = run("rules", "snapshot", str(SAMPLES / "google-t5__t5-small"), "-o", str(out), "--id", "t5")
    assert r.exit_code == 2 and "already in" in r.output


def test_snapshot_usage_errors(tmp_path):
    out = str(tmp_path / "x.yaml")
    r = run("rules", "snapshot", str(SAMPLES / "google-t5__t5-small"), "-o", out, "--expect", "lineaje=t5")
    assert r.exit_code == 2 and "did you mean 'lineage'" in r.output
    r = run("rules", "snapshot", str(SAMPLES / "google-t5__t5-small"), str(SAMPLES / "mlc-preset__gpt2"), "-o", out, "--id", "x")
    assert r.exit_code == 2
    r = run("rules", "snapshot", str(tmp_path / "missing"), "-o", out)
    assert r.exit_code == 1 and "no such file" in r.output


def test_new_writes_a_family_that_validates(tmp_path):
    r = run("rules", "new", "granite", "--dir", str(tmp_path))
    assert r.exit_code == 0 and (tmp_path / "granite.yaml").is_file() and (tmp_path / "tests" / "granite.yaml").is_file()
    assert run("rules", "validate", str(tmp_path)).exit_code == 0
    assert run("rules", "new", "granite", "--dir", str(tmp_path)).exit_code == 2


def test_schema_is_json_schema():
    r = run("rules", "schema")
    doc = json.loads(r.output)
    assert r.exit_code == 0 and doc["$schema"].startswith("https://json-schema.org/")
    assert {"rules", "fragments", "facts", "declared", "bases", "fixtures"} <= set(doc["properties"])


def test_explain_names_the_rules_behind_winner_and_runner_up():
    r = run("inspect", str(SAMPLES / "Qwen__Qwen-7B"), "--explain", "--rule", "qwen.tokenizer")
    assert r.exit_code == 0
    assert any(line.startswith("    qwen: qwen.") for line in r.output.splitlines())
    assert "qwen.tokenizer [lineage=qwen" in r.output


LLAMAFIED = str(SAMPLES / "JosephusCheung__Qwen-LLaMAfied-7B-Chat__gpupoor-partial")


def test_explain_shows_the_rules_that_held_then_the_runner_ups_near_misses():
    lines = run("inspect", LLAMAFIED, "--explain").output.splitlines()
    held = lines.index(next(x for x in lines if x.startswith("rules that held")))
    near = lines.index("near misses for the lineage runner-up llama (closest first):")
    rest = next(i for i, x in enumerate(lines) if x.endswith("other rules did not hold (--explain-all shows them, --rule ID one of them)"))
    assert held < near < rest
    assert next(x for x in lines[rest + 1:] if x).startswith("trait ")  # the traits' evidence comes last
    assert all(" HOLDS " in x for x in lines[held + 1:near] if x.startswith("rules/"))
    assert all("[lineage=llama" in x and " fails " in x for x in lines[near + 1:rest] if x.startswith("rules/"))
    everything = run("inspect", LLAMAFIED, "--explain-all").output
    assert everything.count(" fails ") > lines.count(" fails ") and "every other rule (" in everything


def test_explain_json_is_one_json_object_per_target():
    r = run("inspect", LLAMAFIED, str(SAMPLES / "Qwen__Qwen-7B"), "--explain", "--json")
    docs = [json.loads(line) for line in r.output.splitlines()]
    assert len(docs) == 2 and docs[0]["verdict"]["lineage"] == docs[0]["fields"]["lineage"]["value"]
    assert docs[0]["fields"]["lineage"]["runner_up"] == "llama"
    assert all(rule["holds"] for rule in docs[0]["held"])
    assert all(not rule["holds"] and rule["votes"]["lineage"] == "llama" for rule in docs[0]["near_misses"]["lineage"])
    assert isinstance(docs[0]["others"], int)


def test_rule_without_explain_and_unknown_rule_ids_are_usage_errors():
    r = CliRunner().invoke(main, ["inspect", LLAMAFIED, "--rule", "qwen.tokenizer"])
    assert r.exit_code == 2 and "add --explain" in r.output
    r = CliRunner().invoke(main, ["inspect", LLAMAFIED, "--explain", "--rule", "qwen.tokenzer"])
    assert r.exit_code == 2 and "no rule 'qwen.tokenzer'; did you mean 'qwen.tokenizer'?" in r.output


# --- rules validate: the paths given, machine formats (issue 17) -------------------------------
def test_validate_reports_only_on_the_paths_given(tmp_path):
    (tmp_path / "w.yaml").write_text(WARN_ONLY)
    r = run("rules", "validate", str(tmp_path / "w.yaml"))
    problems = [x for x in r.output.splitlines() if "warning[" in x or "error[" in x]
    assert problems and all(x.startswith(str(tmp_path / "w.yaml")) for x in problems)
    assert r.output.splitlines()[-1] == "1 files, 1 rules, 0 fixtures: 0 errors, 1 warnings"


def test_validating_the_shipped_folder_by_path_is_not_a_duplicate_of_itself():
    from inspector.ruleset import shipped_rules_dir

    doc = json.loads(run("rules", "validate", "--format", "json", str(shipped_rules_dir())).output)
    assert doc["errors"] == 0 and not [p for p in doc["problems"] if p["code"] == "E201"]
    assert doc["rules"] > 100 and doc == json.loads(run("rules", "validate", "--format", "json").output)


def test_validate_github_annotations(tmp_path):
    (tmp_path / "e.yaml").write_text(BROKEN)
    r = run("rules", "validate", "--format", "github", str(tmp_path / "e.yaml"))
    assert r.exit_code == 2
    assert f"::error file={tmp_path / 'e.yaml'},line=4,col=5,title=inspector-rules (E111)::unknown rule key 'wieght'" in r.output


def test_validate_sarif(tmp_path):
    (tmp_path / "e.yaml").write_text(BROKEN)
    doc = json.loads(run("rules", "validate", "--format", "sarif", str(tmp_path / "e.yaml")).output)
    assert doc["version"] == "2.1.0"
    result = doc["runs"][0]["results"][0]
    assert result["ruleId"] == "E111" and result["level"] == "error"
    assert result["locations"][0]["physicalLocation"]["region"] == {"startLine": 4, "startColumn": 5}
    assert doc["runs"][0]["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == "E111"


def test_validate_junit(tmp_path):
    from xml.etree import ElementTree as ET

    (tmp_path / "w.yaml").write_text(WARN_ONLY)
    lax = ET.fromstring(run("rules", "validate", "--format", "junit", str(tmp_path / "w.yaml")).output)
    strict = ET.fromstring(run("rules", "validate", "--format", "junit", "--strict", str(tmp_path / "w.yaml")).output)
    assert lax.find("testsuite").get("failures") == "0" and strict.find("testsuite").get("failures") == "1"
    assert strict.find("testsuite/testcase/failure").get("type") == "W302"


# --- rules test: summary last, table behind -v, -k, --junitxml, --update (issue 17) -------------
FAILING_FIXTURE = """\
fixtures:
  - id: my-t5
    expect: {kind: encoder-decoder, lineage: llama}
    rules: {t5.declared: no-match}
    files: [config.json]
    config: {"model_type": "t5", "architectures": ["T5ForConditionalGeneration"], "vocab_size": 32128}
    tensors: {}
"""


def test_rules_test_puts_the_failures_last_and_the_table_behind_v(tmp_path):
    f = tmp_path / "tests" / "mine.yaml"
    f.parent.mkdir()
    f.write_text(FAILING_FIXTURE)
    lines = run("rules", "test", str(f), "-k", "my-t5").output.splitlines()
    head = lines.index("failures (2):")
    assert lines[head + 1].startswith("FAIL my-t5") and lines[-1].endswith("2 failures (selected fixtures; coverage not checked)")
    plain = run("rules", "test").output
    assert "tp   fp   fn   tn" not in plain and "tp   fp   fn   tn" in run("rules", "test", "-v").output


def test_rules_test_k_shows_only_the_rules_that_matter():
    out = run("rules", "test", "-k", "t5").output
    table = [x.split()[0] for x in out.splitlines() if x.startswith(("t5.", "qwen.", "llama.", "kind.", "layout."))]
    assert "t5.declared" in table and "qwen.tokenizer" not in table


def test_rules_test_junitxml(tmp_path):
    from xml.etree import ElementTree as ET

    f = tmp_path / "tests" / "mine.yaml"
    f.parent.mkdir()
    f.write_text(FAILING_FIXTURE)
    run("rules", "test", str(f), "-k", "my-t5", "--junitxml", str(tmp_path / "r.xml"))
    suite = ET.parse(tmp_path / "r.xml").getroot().find("testsuite")
    case = next(c for c in suite.findall("testcase") if c.get("name") == "my-t5")
    assert suite.get("failures") == "1" and len(case.findall("failure")) == 2


def test_rules_test_update_accepts_the_observed_values(tmp_path):
    f = tmp_path / "tests" / "mine.yaml"
    f.parent.mkdir()
    f.write_text(FAILING_FIXTURE)
    r = run("rules", "test", str(f), "-k", "my-t5", "--update")
    assert r.exit_code == 0, r.output
    text = f.read_text()
    # A bare T5 claim names no lineage (no tokenizer or tensor evidence): the observed value is unknown.
    assert "expect: {kind: encoder-decoder, lineage: unknown}" in text and "rules: {t5.declared: match}" in text
    assert text.replace("lineage: unknown", "lineage: llama").replace("t5.declared: match", "t5.declared: no-match") == FAILING_FIXTURE


# --- snapshot and new never overwrite what ships (issue 17) -------------------------------------
def test_snapshot_refuses_a_shipped_fixture_id(tmp_path):
    out = tmp_path / "tests" / "t5.yaml"
    r = run("rules", "snapshot", str(SAMPLES / "google-t5__t5-small"), "-o", str(out))
    assert r.exit_code == 2 and "is a shipped fixture (rules/tests/" in r.output and not out.exists()
    r = run("rules", "snapshot", str(SAMPLES / "google-t5__t5-small"), "-o", str(out), "--replace-shipped")
    assert r.exit_code == 0 and out.is_file()


def test_new_writes_under_rules_in_the_working_directory_never_the_package(tmp_path, monkeypatch):
    import inspector

    monkeypatch.chdir(tmp_path)
    r = run("rules", "new", "granite")
    assert r.exit_code == 0 and (tmp_path / "rules" / "granite.yaml").is_file()
    r = CliRunner().invoke(main, ["rules", "new", "granite", "--dir", str(Path(inspector.__file__).parent / "_rules")])
    assert r.exit_code == 2 and "inside the installed package" in r.output


def test_a_rule_with_a_3000_term_dimension_is_a_one_line_rule_error(tmp_path):
    """Issue 12: exit 2 with the location, never an internal error."""
    expr = " + ".join(["head_dim"] * 3000)
    rules = tmp_path / "dim.yaml"
    rules.write_text("rules:\n  - id: t.dim\n    lineage: llama\n    match:\n      t:\n"
                     f"        - tensor: layers.{{N}}.self_attn.q_proj\n          shape: [\"{expr}\", \"*\"]\n")
    r = CliRunner().invoke(main, ["inspect", str(SAMPLES / "google-t5__t5-small"), "--rules", str(rules)])
    assert r.exit_code == 2, r.output
    assert f"{rules}:7:18: error[E148]" in r.output and "internal error" not in r.output


def test_a_fifo_among_the_rules_is_a_rule_error(tmp_path):
    import os

    os.mkfifo(tmp_path / "pipe.yaml")
    r = CliRunner().invoke(main, ["rules", "validate", str(tmp_path)])
    assert r.exit_code == 2 and "pipe.yaml:1:1: error[E100] is a FIFO, not a regular file" in r.output


def test_reference_prints_the_generated_tables_and_one_code_with_its_examples():
    out = run("rules", "reference").output
    assert "| `matches: REGEX` |" in out and "| W302 | warning |" in out and "- `head_dim`:" in out
    code = run("rules", "reference", "--code", "w302").output
    assert code.startswith("W302 (warning): a selection that the condition never uses")
    assert "fails (rules.yaml, reported at line 13, column 7 of rules.yaml):" in code
    r = CliRunner().invoke(main, ["rules", "reference", "--code", "E11"])
    assert r.exit_code == 2 and "no problem code 'E11'" in r.output


def test_rules_test_on_the_shipped_folder_by_path_runs_each_fixture_once():
    from inspector.authoring import run_rule_tests
    from inspector.ruleset import shipped_rules_dir

    by_path = run_rule_tests([shipped_rules_dir()])
    assert by_path.ok and [r.id for r in by_path.results] == [r.id for r in run_rule_tests([]).results]
