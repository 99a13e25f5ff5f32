"""The command line: readable text, JSON Lines, exit codes, one-line errors."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner
from conftest import SAMPLES

from inspector.cli import main
from inspector.cli.examples import EXAMPLES

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
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert rows[0]["status"] == "not_found" and rows[1]["status"] == "ok"


def test_a_malformed_repo_id_is_a_typed_failure_not_a_traceback():
    r = run("inspect", "not a repo id!", "--json")
    assert r.exit_code == 1
    assert json.loads(r.stdout)["status"] == "invalid"


def test_a_broken_config_is_status_invalid_naming_the_file(tmp_path):
    (tmp_path / "config.json").write_text("{not json")
    r = run("inspect", str(tmp_path), "--json")
    row = json.loads(r.stdout)
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


# --- conventions users already know ------------------------------------------------------------

def _every_command():
    from inspector.cli.examples import commands

    return [path for path, _cmd in commands(main)]


@pytest.mark.parametrize("path", _every_command())
def test_every_command_answers_dash_h_with_examples(path):
    r = run(*path.split(), "-h")
    assert r.exit_code == 0 and "Usage: inspector" in r.output
    assert re.search(r"Examples:\n +inspector ", r.output)


@pytest.mark.parametrize("example", [e for lines in EXAMPLES.values() for e in lines])
def test_every_example_parses(example, monkeypatch):
    """Each example's options and arguments are accepted by the command it shows (not run)."""
    from conftest import REPO

    monkeypatch.chdir(REPO)
    args = shlex.split(example.split(" > ")[0].split(" < ")[0])[1:]
    cmd, name = main, "inspector"
    while isinstance(cmd, click.Group) and args and args[0] in cmd.commands:
        name, cmd, args = args[0], cmd.commands[args[0]], args[1:]
    cmd.make_context(name, args)  # raises on an unknown option or a bad value


def test_format_json_and_json_are_the_same_and_disagreeing_is_a_usage_error():
    assert run("inspect", QWEN, "--format", "json").output == run("inspect", QWEN, "--json").output
    r = CliRunner().invoke(main, ["inspect", QWEN, "--json", "--format", "text"])
    assert r.exit_code == 2 and "--json and --format text disagree" in r.stderr


def test_dash_reads_targets_from_stdin():
    r = CliRunner().invoke(main, ["inspect", "-", "--json"], input=f"# two samples\n{QWEN}\n\n{T5}\n")
    assert r.exit_code == 0, r.output
    assert [json.loads(line)["target"] for line in r.stdout.splitlines()] == [QWEN, T5]


def test_a_failed_target_is_also_reported_on_stderr(tmp_path):
    r = CliRunner().invoke(main, ["inspect", str(tmp_path / "nope"), QWEN])
    assert r.exit_code == 1
    assert r.stderr.startswith("error: ") and "nope" in r.stderr and "no such file or folder" in r.stderr
    assert "not_found" in r.stdout


@pytest.mark.parametrize("target", ["samples/nosuch", "./modls/x", "samples/Qwen__Qwen-7B/nope"])
def test_a_mistyped_local_path_is_not_looked_up_on_the_hub(target, monkeypatch):
    from conftest import REPO

    monkeypatch.chdir(REPO)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens there: a Hub lookup would fail otherwise
    row = json.loads(CliRunner().invoke(main, ["inspect", target, "--json"]).stdout)
    assert row["status"] == "not_found" and "no such file or folder" in row["error"]
    assert "repository" not in row["error"] and "HF_TOKEN" not in row["error"]


@pytest.mark.parametrize("target", ["Qwen/Qwen2-7B", "gpt2", "Qwen/Qwen2-7B@refs/pr/1", "https://huggingface.co/Qwen/Qwen2-7B"])
def test_hub_ids_and_urls_stay_hub_targets(target):
    from inspector.api import is_local

    assert not is_local(target)


def test_a_closed_pipe_stops_quietly():
    """`inspector inspect samples/* --evidence all | head -1`: more output than a pipe holds, the
    reader leaves after one line; the writer must stop without a word (exit 0 or 141, like a filter)."""
    from conftest import REPO

    models = [str(p) for p in sorted(SAMPLES.iterdir()) if p.is_dir()] * 4
    p = subprocess.Popen([sys.executable, "-m", "inspector", "inspect", *models, "--evidence", "all"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO, env={**os.environ, "COLUMNS": "200"})
    assert p.stdout.readline()
    p.stdout.close()
    err = p.stderr.read().decode()
    assert p.wait() in (0, 141) and err == "", err


def test_revision_and_token_reach_the_hub(hub):
    sha = hub.add_folder("org/gated", SAMPLES / "Qwen__Qwen3-4B__sophgo-copy", gated=True)
    token = "hf_" + "b" * 34
    hub.tokens.add(token)
    assert json.loads(run("inspect", "org/gated", "--json").stdout)["status"] == "gated"
    row = json.loads(run("inspect", "org/gated", "--json", "--token", token, "--revision", sha).stdout)
    assert row["status"] == "ok" and row["revision"] == sha and row["lineage"] == "qwen"
    wrong = json.loads(run("inspect", "org/gated", "--json", "--token", token, "--revision", "f" * 40).stdout)
    assert wrong["status"] == "not_found"


def test_a_revision_for_a_local_path_is_a_typed_failure():
    row = json.loads(run("inspect", QWEN, "--json", "--revision", "main").stdout)
    assert row["status"] == "invalid" and "revision applies to Hub repos" in row["error"]


def test_dash_with_nothing_on_stdin_is_a_usage_error():
    r = CliRunner().invoke(main, ["inspect", "-"], input="\n# nothing\n")
    assert r.exit_code == 2 and "no targets" in r.stderr


@pytest.mark.parametrize(("target", "source"), [("samples/nosuch", "local"), ("not a repo id!", "hub")])
def test_a_failed_target_has_the_full_json_shape(target, source, monkeypatch):
    from conftest import REPO

    monkeypatch.chdir(REPO)
    ok = json.loads(run("inspect", QWEN, "--json").stdout)
    row = json.loads(run("inspect", target, "--json").stdout)
    assert set(row) == set(ok) and set(row["declared"]) == set(ok["declared"])
    assert row["source"] == source and row["declared"]["architectures"] == []
