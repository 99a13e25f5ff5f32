"""The command line: readable text, JSON Lines, exit codes, one-line errors."""

from __future__ import annotations

import json

from click.testing import CliRunner
from conftest import SAMPLES

from inspector.cli import main

QWEN = str(SAMPLES / "Qwen__Qwen-7B")
T5 = str(SAMPLES / "google-t5__t5-small")


def run(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_text_output_shows_declared_detected_evidence_and_params():
    r = run("inspect", QWEN)
    assert r.exit_code == 0, r.output
    for word in ("declared", "detected", "evidence", "params"):
        assert word in r.output


def test_json_lines_one_object_per_target_with_the_contract():
    r = run("inspect", QWEN, T5, "--json")
    assert r.exit_code == 0, r.output
    rows = [json.loads(line) for line in r.output.splitlines()]
    assert [x["target"] for x in rows] == [QWEN, T5]
    keys = {"target", "revision", "status", "error", "declared", "kind", "layout", "lineage", "base", "confidence",
            "mismatch", "evidence", "params", "params_exact", "dtypes", "schema_version"}
    assert keys <= set(rows[0])
    assert {"model_type", "architectures", "base_model"} <= set(rows[0]["declared"])
    assert {"rule", "signal", "observed", "weight"} <= set(rows[0]["evidence"][0])


def test_a_missing_target_fails_with_exit_1_and_the_others_still_print(tmp_path):
    r = run("inspect", str(tmp_path / "nope"), QWEN, "--json")
    assert r.exit_code == 1
    rows = [json.loads(line) for line in r.output.splitlines()]
    assert rows[0]["status"] == "not_found" and rows[1]["status"] == "ok"


def test_a_malformed_repo_id_is_a_typed_failure_not_a_traceback():
    r = run("inspect", "not a repo id!", "--json")
    assert r.exit_code == 1
    assert json.loads(r.output)["status"] == "invalid"


def test_a_broken_config_is_status_invalid_naming_the_file(tmp_path):
    (tmp_path / "config.json").write_text("{not json")
    r = run("inspect", str(tmp_path), "--json")
    row = json.loads(r.output)
    assert row["status"] == "invalid" and "config.json" in row["error"]


def test_config_only_folder_reports_no_weights_metadata(tmp_path):
    (tmp_path / "config.json").write_text((SAMPLES / "Qwen__Qwen-7B" / "config.json").read_text())
    row = json.loads(run("inspect", str(tmp_path), "--json").output)
    assert row["status"] == "no_weights_metadata" and row["lineage"] == "qwen"


def test_bad_rules_exit_2_with_file_line_col(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  - id: x\n    lineage: y\n    wieght: 1\n    match: {a: {fact: vocab_size, equals: 1}}\n")
    r = CliRunner().invoke(main, ["inspect", QWEN, "--rules", str(bad)])
    assert r.exit_code == 2
    assert f"{bad}:4:5: error[E111]" in r.output


def test_explain_lists_predicates_with_observed_values():
    r = run("inspect", QWEN, "--explain")
    assert r.exit_code == 0
    assert "observed" in r.output and "lineage: qwen" in r.output


def test_headers_none_reads_only_the_index():
    row = json.loads(run("inspect", QWEN, "--json", "--headers", "none").output)
    assert row["params_exact"] is False


def test_command_modules_import_without_the_root():
    """No import circle: a command module loads without the root group that registers it."""
    import subprocess
    import sys

    code = ("import sys, importlib\n"
            "for m in ('audit', 'eval', 'report', 'rules', 'options', 'exits'):\n"
            "    importlib.import_module('inspector.cli.' + m)\n"
            "print('inspector.cli.root' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
