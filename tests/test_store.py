"""The audit store: the results contract, one row per (repo, sha), merge, export."""

from __future__ import annotations

import csv
import io
import json
import sqlite3

import pytest

from inspector.errors import UsageError
from inspector.store import Row, Store, export, merge
from inspector.verdict import Verdict

CONTRACT = ["repo", "sha", "status", "error", "kind", "layout", "lineage", "base", "confidence", "mismatch",
            "declared_lineage", "declared_kind", "author", "verdict", "requests", "bytes", "finished_at"]


def row(repo: str, sha: str = "a" * 40, status: str = "ok", lineage: str = "llama") -> Row:
    v = Verdict(target=repo, revision=sha or None, status=status, kind="decoder", lineage=lineage,
                declared={"lineage": "llama", "kind": "decoder"}, mismatch=lineage != "llama",
                io={"requests": 4, "bytes": 1000})
    return Row.from_verdict(repo, sha, v.to_dict(), author=repo.split("/")[0])


def test_the_results_table_is_the_contract(tmp_path):
    with Store(tmp_path / "a.sqlite") as s:
        s.put(row("org/a"))
        cols = [(c[1], c[2], c[3], c[5]) for c in s.db.execute("PRAGMA table_info(results)")]
        assert [c[0] for c in cols] == CONTRACT
        assert [c[0] for c in cols if c[3]] == ["repo", "sha"]  # primary key
        assert s.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert s.get_meta("schema_version") == "1"
    # Readable by plain sqlite3, as the report reads it.
    db = sqlite3.connect(tmp_path / "a.sqlite")
    repo, status, lineage, mismatch, verdict = db.execute(
        "SELECT repo, status, lineage, mismatch, verdict FROM results").fetchone()
    assert (repo, status, lineage, mismatch) == ("org/a", "ok", "llama", 0)
    assert json.loads(verdict)["schema_version"] == 2 and list(json.loads(verdict))[0] == "target"


def test_same_repo_and_sha_is_one_row_and_a_sha_supersedes_a_shaless_failure(tmp_path):
    with Store(tmp_path / "a.sqlite") as s:
        s.put(row("org/a", "", "network_error"))
        s.put(row("org/a"))
        s.put(row("org/a"))
        assert [(r["repo"], r["sha"]) for r in s.rows(latest=False)] == [("org/a", "a" * 40)]


def test_a_newer_schema_version_is_refused(tmp_path):
    with Store(tmp_path / "a.sqlite") as s:
        s.set_meta("schema_version", "99")
    with pytest.raises(UsageError, match="schema_version 99"):
        Store(tmp_path / "a.sqlite")


def test_merge_unions_and_the_newer_row_wins(tmp_path):
    with Store(tmp_path / "a.sqlite") as a, Store(tmp_path / "b.sqlite") as b:
        a.put(row("org/a"))
        a.put(row("org/both", lineage="qwen"))
        b.put(row("org/b"))
        b.put(row("org/both", lineage="yi"))  # later
    assert merge(tmp_path / "all.sqlite", [tmp_path / "a.sqlite", tmp_path / "b.sqlite"]) == 3
    assert merge(tmp_path / "all.sqlite", [tmp_path / "a.sqlite"]) == 3  # older rows do not overwrite
    with Store(tmp_path / "all.sqlite") as m:
        assert {r["repo"]: r["lineage"] for r in m.rows()} == {"org/a": "llama", "org/b": "llama", "org/both": "yi"}
    with pytest.raises(UsageError, match="no such"):
        merge(tmp_path / "x.sqlite", [tmp_path / "nope.sqlite"])


def test_export_jsonl_and_csv_give_a_row_per_repo_with_the_contract(tmp_path):
    with Store(tmp_path / "a.sqlite") as s:
        s.put(row("org/a", "a" * 40))
        s.put(row("org/a", "b" * 40, lineage="qwen"))  # a newer sha: the export shows the present
        s.put(row("org/missing", "", "not_found"))
        buf = io.StringIO()
        assert export(s, "jsonl", buf) == 2
        recs = [json.loads(line) for line in buf.getvalue().splitlines()]
        assert [(r["target"], r["revision"], r["lineage"]) for r in recs] == [
            ("org/a", "b" * 40, "qwen"), ("org/missing", None, "llama")]
        assert set(recs[0]) >= {"status", "declared", "evidence", "io", "schema_version"}
        assert export(s, "csv", tmp_path / "out.csv") == 2
        with open(tmp_path / "out.csv", newline="") as fh:
            got = list(csv.DictReader(fh))
        assert got[0]["target"] == "org/a" and json.loads(got[0]["declared"])["lineage"] == "llama"


def test_parquet_export_without_pyarrow_is_one_clear_error(tmp_path, monkeypatch):
    import builtins

    real = builtins.__import__

    def no_pyarrow(name, *a, **kw):
        if name.startswith("pyarrow"):
            raise ImportError(name)
        return real(name, *a, **kw)

    monkeypatch.setattr(builtins, "__import__", no_pyarrow)
    with Store(tmp_path / "a.sqlite") as s, pytest.raises(UsageError, match=r"needs pyarrow"):
        export(s, "parquet", tmp_path / "o.parquet")
