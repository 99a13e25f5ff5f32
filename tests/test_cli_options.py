"""Options shared across commands (cli/options.py) and what they reach: one output flag with `--json`
as its alias, `--token`, `-` for standard input, `--follow-symlinks`, flags named in library errors."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

import pytest
from click.testing import CliRunner
from conftest import SAMPLES

from inspector.cli import main
from inspector.cli.examples import EXAMPLES

QWEN = SAMPLES / "Qwen__Qwen-7B"
# Only a guard against a hang, never a measurement.
HANG_GUARD = 120


def run(*args, **kw):
    return CliRunner().invoke(main, [str(a) for a in args], **kw)


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = tmp_path_factory.mktemp("db") / "a.sqlite"
    r = run("audit", "--dir", SAMPLES, "--db", path, "-q")
    assert r.exit_code == 0, r.output
    return path


# --- one output flag: --format NAME, with --json as its alias where JSON is an output


@pytest.mark.parametrize("args, json_format", [
    (["audit", "export", "--db", "{db}"], "jsonl"),
    (["report", "{db}"], "json"),
    (["rules", "validate"], "json"),
])
def test_json_is_the_alias_of_the_json_format(db, args, json_format):
    args = [a.format(db=db) for a in args]
    alias, named = run(*args, "--json"), run(*args, "--format", json_format)
    assert alias.exit_code == named.exit_code == 0, alias.output
    assert alias.output == named.output
    json.loads(alias.output.splitlines()[0] if json_format == "jsonl" else alias.output)


def test_rules_test_takes_format_json_as_well_as_json(tmp_path):
    alias, named = run("rules", "test", "-k", "qwen", "--json"), run("rules", "test", "-k", "qwen", "--format", "json")
    assert json.loads(alias.output)["results"] and json.loads(named.output)["results"]
    assert alias.exit_code == named.exit_code


@pytest.mark.parametrize("args", [
    ["audit", "export", "--db", "{db}", "--json", "--format", "csv"],
    ["report", "{db}", "--json", "--format", "md"],
    ["rules", "validate", "--json", "--format", "sarif"],
    ["rules", "test", "--json", "--format", "text"],
    ["eval", str(SAMPLES), "--json", "--format", "text"],
])
def test_json_and_another_format_disagree_as_a_usage_error(db, args):
    r = run(*[a.format(db=db) for a in args])
    assert r.exit_code == 2 and "--json and --format" in r.output and "Traceback" not in r.output


def test_every_command_with_a_json_output_has_the_json_alias():
    from inspector.cli.examples import commands

    with_format = {path for path, cmd in commands(main) if any("--format" in p.opts for p in cmd.params)}
    for path in with_format:
        cmd = dict(commands(main))[path]
        assert any("--json" in p.opts for p in cmd.params), path
    assert {"inspect", "eval", "report", "audit export", "rules validate", "rules test"} <= with_format


# --- --token, `--from -`, --follow-symlinks


def test_audit_reads_a_private_repo_with_the_token_given_with_token(hub, tmp_path, monkeypatch):
    hub.tokens.add("hf_given")
    hub.add_folder("org/good", QWEN, private=True, authorized_tokens=["hf_given"])
    for k, v in hub.env(tmp_path / "hf").items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    (tmp_path / "list.txt").write_text("org/good\n")
    without = run("audit", "--from", tmp_path / "list.txt", "--db", tmp_path / "a.sqlite", "-q")
    assert without.exit_code == 1 and "org/good (not_found)" in without.output
    r = run("audit", "--from", tmp_path / "list.txt", "--db", tmp_path / "b.sqlite", "-q", "--token", "hf_given")
    assert r.exit_code == 0, r.output
    sent = {a for auths in hub.stats.auth_by_host.values() for a in auths}
    assert "Bearer hf_given" in sent


def test_audit_from_dash_reads_the_ids_from_standard_input(hub, tmp_path, monkeypatch):
    hub.add_folder("org/good", QWEN)
    for k, v in hub.env(tmp_path / "hf").items():
        monkeypatch.setenv(k, v)
    r = run("audit", "--from", "-", "--db", tmp_path / "a.sqlite", "-q", input="# mine\norg/good\norg/missing\n")
    assert r.exit_code == 1 and "org/missing (not_found)" in r.output
    rows = dict(sqlite3.connect(tmp_path / "a.sqlite").execute("SELECT repo, status FROM results"))
    assert rows == {"org/good": "ok", "org/missing": "not_found"}


def test_audit_from_dash_takes_json_lines_too(hub, tmp_path, monkeypatch):
    hub.add_folder("org/good", QWEN)
    for k, v in hub.env(tmp_path / "hf").items():
        monkeypatch.setenv(k, v)
    r = run("audit", "--from", "-", "--db", tmp_path / "a.sqlite", "-q", input='{"id": "org/good"}\n')
    assert r.exit_code == 0, r.output


@pytest.mark.parametrize("how", ["inspect", "audit"])
def test_follow_symlinks_lets_a_link_out_of_the_folder_be_read(tmp_path, how):
    folder = tmp_path / "models" / "linked"
    folder.mkdir(parents=True)
    (folder / "config.json").symlink_to((QWEN / "config.json").resolve())
    if how == "inspect":
        refused, followed = (run("inspect", folder, "--json", *extra) for extra in ([], ["--follow-symlinks"]))
        assert "leaves the model folder" in json.loads(refused.output.splitlines()[0])["error"]
        assert json.loads(followed.output.splitlines()[0])["declared"]["model_type"] == "qwen"
    else:
        for extra, name in (([], "a"), (["--follow-symlinks"], "b")):
            run("audit", "--dir", folder.parent, "--db", tmp_path / f"{name}.sqlite", "-q", *extra)
        status = {n: sqlite3.connect(tmp_path / f"{n}.sqlite").execute("SELECT status FROM results").fetchone()[0]
                  for n in "ab"}
        assert status["a"] == "invalid" and status["b"] != "invalid"


@pytest.mark.parametrize("path", ["inspect", "audit", "audit export", "report", "rules validate", "rules test"])
def test_new_options_have_help_under_h_and_an_example(path):
    r = run(*path.split(), "-h")
    assert r.exit_code == 0 and "Examples:" in r.output
    wanted = {"inspect": ["--follow-symlinks"], "audit": ["--token", "--follow-symlinks", "--from -"]}.get(path, ["--json"])
    for opt in wanted:
        flag = opt.split()[0]
        assert flag in r.output, (path, flag)
        assert any(opt in line for line in EXAMPLES[path]), (path, opt)


# --- list and rule files: regular files only, never a hang


@pytest.mark.parametrize("kind", ["fifo", "/dev/zero"])
@pytest.mark.parametrize("use", ["list", "rules"])
def test_a_fifo_or_dev_zero_as_a_list_or_rule_file_is_one_line_never_a_hang(tmp_path, kind, use):
    path = tmp_path / "pipe.txt"
    if kind == "fifo":
        os.mkfifo(path)
    else:
        path = "/dev/zero"
    args = (["audit", "--from", path, "--db", tmp_path / "a.sqlite"] if use == "list"
            else ["inspect", "--rules", path, str(QWEN)])
    # A real process: a hang is a killed child and a failed test, not a stuck suite.
    p = subprocess.run([sys.executable, "-m", "inspector", *map(str, args)], capture_output=True, text=True,
                       timeout=HANG_GUARD)
    err = p.stderr.strip()
    assert p.returncode == 2 and len(err.splitlines()) == 1, err
    assert ("a FIFO" if kind == "fifo" else "a device") in err and "Traceback" not in err
    assert not (tmp_path / "a.sqlite").exists()  # a list that cannot be read leaves no database


# --- library errors name parameters; the CLI says its flags


@pytest.mark.parametrize("call, library, cli_args, cli", [
    (lambda: __import__("inspector.listing").listing.parse_shard("3/2"), "`shard` must be K/N",
     ["audit", "--dir", SAMPLES, "--shard", "3/2"], "--shard must be K/N"),
    (lambda: __import__("inspector.authoring").authoring.parse_expect(["kind"]), "`expect` takes FIELD=VALUE",
     ["rules", "snapshot", QWEN, "-o", "x.yaml", "--expect", "kind"], "--expect takes FIELD=VALUE"),
])
def test_library_errors_name_parameters_and_the_cli_its_flags(tmp_path, monkeypatch, call, library, cli_args, cli):
    from inspector.errors import UsageError

    with pytest.raises(UsageError) as e:
        call()
    assert library in str(e.value) and "--" not in str(e.value)
    monkeypatch.chdir(tmp_path)
    r = run(*cli_args)
    assert r.exit_code == 2 and cli in r.output


def test_new_family_over_existing_files_says_force(tmp_path):
    from inspector.authoring import new_family
    from inspector.errors import UsageError

    new_family("mine", tmp_path)
    with pytest.raises(UsageError, match="`force=True`"):
        new_family("mine", tmp_path)
    r = run("rules", "new", "mine", "--dir", tmp_path)
    assert r.exit_code == 2 and "use --force to overwrite" in r.output


def test_no_library_error_names_a_flag():
    """The library modules say parameters; flags are the CLI's (cli/exits.FLAGS)."""
    import re
    from pathlib import Path

    import inspector

    root = Path(inspector.__file__).parent
    found = []
    for p in root.rglob("*.py"):
        if "cli" in p.relative_to(root).parts:
            continue
        for m in re.finditer(r"(?:UsageError|InspectorError)\((f?\"[^\"]*\")", p.read_text()):
            if re.search(r"(?<![\w-])--[a-z]", m.group(1)):
                found.append(f"{p.name}: {m.group(1)[:60]}")
    assert found == []


# --- issue #17: an empty folder is not a usable model; a network error names the endpoint


def test_a_folder_with_neither_config_nor_weights_is_not_found(tmp_path):
    (tmp_path / "README.md").write_text("not a model\n")
    r = run("inspect", tmp_path, "--json")
    assert r.exit_code == 1
    v = json.loads(r.output.splitlines()[0])
    assert v["status"] == "not_found" and "neither config.json nor weights" in v["error"]


def test_a_folder_with_weights_only_stays_usable(tmp_path):
    for p in QWEN.iterdir():
        if p.suffix == ".safetensors" or p.name.endswith(".index.json"):
            (tmp_path / p.name).symlink_to(p.resolve())
    r = run("inspect", tmp_path, "--json", "--follow-symlinks")
    assert json.loads(r.output.splitlines()[0])["status"] in ("no_config", "no_weights_metadata")


def test_a_connection_error_names_the_endpoint(tmp_path, monkeypatch):
    import socket

    # A port nobody listens on: bound, never listening, so connections are refused at once.
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    endpoint = f"http://127.0.0.1:{s.getsockname()[1]}"
    try:
        from inspector.api import Inspector
        from inspector.transport.http import HubClient

        monkeypatch.setenv("HF_ENDPOINT", endpoint)
        client = HubClient(endpoint=endpoint, token=False, retries=1, sleep=lambda _s: None)
        v = Inspector(client=client).inspect("org/name")
    finally:
        s.close()
    assert v.status == "network_error"
    assert f"({endpoint}, HF_ENDPOINT)" in v.error
