"""The audit store: the results contract, one row per (repo, sha), merge, export."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import sqlite3

import pytest

from inspector.errors import UsageError
from inspector.export import export
from inspector.store import Row, Store, merge
from inspector.verdict import Verdict

CONTRACT = ["repo", "sha", "status", "error", "kind", "layout", "lineage", "base", "confidence", "mismatch",
            "declared_lineage", "declared_kind", "author", "verdict", "requests", "bytes", "finished_at",
            "declared_model_type", "vocab", "downloads", "likes", "created_at", "last_modified", "traits"]


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
        assert [(r["repo"], r["sha"]) for r in s.records(latest=False)] == [("org/a", "a" * 40)]


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
        assert {r["repo"]: r["lineage"] for r in m.records()} == {"org/a": "llama", "org/b": "llama", "org/both": "yi"}
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
        assert (got[0]["repo"], got[0]["lineage"], got[0]["declared_lineage"]) == ("org/a", "qwen", "llama")


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


# ---- a store that fails, or that someone else owns


def sha256(path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_second_writer_is_refused_in_one_line(tmp_path):
    from inspector.errors import StoreError

    with Store(tmp_path / "a.sqlite") as first:
        first.claim()
        with Store(tmp_path / "a.sqlite") as second, pytest.raises(StoreError, match=r"another audit \(pid \d+\)"):
            second.claim()
    with Store(tmp_path / "a.sqlite") as third:  # the first one ended: its claim ended with it
        third.claim()


def test_a_full_disk_stops_with_one_line_and_keeps_every_committed_row(tmp_path, insp):
    from conftest import SAMPLES

    from inspector.audit import Audit
    from inspector.errors import StoreError
    from inspector.listing import list_dir

    items = list_dir(SAMPLES)
    store = Store(tmp_path / "a.sqlite")
    seen = []

    def fill_the_disk(out, _stats):
        seen.append(out.repo)
        if len(seen) == 3:  # from now on SQLite answers SQLITE_FULL, as a full file system does
            n = store.db.execute("PRAGMA page_count").fetchone()[0]
            store.db.execute(f"PRAGMA max_page_count = {n}")

    audit = Audit(insp, store, workers=2, progress=fill_the_disk)
    with pytest.raises(StoreError) as e:
        audit.run(items)
    assert "disk is full" in str(e.value) and "\n" not in str(e.value) and "kept" in str(e.value)
    store.close()
    db = sqlite3.connect(tmp_path / "a.sqlite")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert {r for (r,) in db.execute("SELECT repo FROM results")} == set(seen[:3])


def test_merge_opens_its_sources_read_only(tmp_path):
    with Store(tmp_path / "a.sqlite") as a:
        a.put(row("org/a"))
    foreign = tmp_path / "foreign.sqlite"
    con = sqlite3.connect(foreign)
    con.execute("CREATE TABLE notes(x)")
    con.commit()
    con.close()
    broken = tmp_path / "broken.sqlite"
    broken.write_bytes(b"SQLite format 3\x00" + b"\xff" * 5000)
    before = {p: sha256(p) for p in (tmp_path / "a.sqlite", foreign, broken)}
    for bad in (foreign, broken):
        with pytest.raises(Exception) as e:
            merge(tmp_path / f"out-{bad.stem}.sqlite", [tmp_path / "a.sqlite", bad])
        assert type(e.value).__name__ in ("StoreError", "UsageError") and "\n" not in str(e.value)
    assert merge(tmp_path / "ok.sqlite", [tmp_path / "a.sqlite"]) == 1
    assert {p: sha256(p) for p in before} == before


def test_a_corrupted_page_is_a_one_line_error(tmp_path):
    from inspector.errors import StoreError

    path = tmp_path / "a.sqlite"
    with Store(path) as s:
        for i in range(60):
            s.put(row(f"org/m{i:03d}"))
        s.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(path.read_bytes())
    page = 4096
    for p in range(3, len(data) // page):  # every page but the schema's: b-tree pages become noise
        data[p * page:p * page + 64] = b"\xa5" * 64
    path.write_bytes(bytes(data))
    with pytest.raises(StoreError, match="damaged") as e, Store(path, readonly=True) as s:
        list(s.rows())
    assert "\n" not in str(e.value)
    from click.testing import CliRunner

    from inspector.cli import main

    for args in (["report", str(path)], ["audit", "export", "--db", str(path)]):
        r = CliRunner().invoke(main, args)
        assert r.exit_code == 1 and r.output.startswith("error:") and "damaged" in r.output
        assert "internal error" not in r.output and len(r.output.strip().splitlines()) == 1


def test_a_stored_verdict_that_is_not_json_costs_only_its_json(tmp_path):
    with Store(tmp_path / "a.sqlite") as s:
        s.put(row("org/a"))
        s.db.execute("INSERT INTO results(repo, sha, status, verdict, error) VALUES ('org/b', '', 'invalid', '{not json', 'boom')")
        buf = io.StringIO()
        assert export(s, "jsonl", buf) == 2
    recs = {r["target"]: r for r in map(json.loads, buf.getvalue().splitlines())}
    from inspector.verdict import Verdict

    assert set(recs["org/b"]) == set(Verdict(target="x").to_dict())  # the contract's full shape
    assert (recs["org/b"]["status"], recs["org/b"]["error"]) == ("invalid", "boom")


def test_csv_export_and_report_csv_share_one_schema_and_one_formula_guard(tmp_path):
    from inspector.report import CSV_FIELDS, render, report

    with Store(tmp_path / "a.sqlite") as s:
        s.put(row("org/a"))
        bad = Row.from_verdict("=cmd|' /C calc'!A0", "", Verdict(target="=x", status="invalid", error="+SUM(1)").to_dict(),
                               author="@evil")
        s.put(bad)
        export(s, "csv", tmp_path / "e.csv")
    with open(tmp_path / "e.csv", newline="") as fh:
        exported = list(csv.DictReader(fh))
    with report(tmp_path / "a.sqlite") as rep:
        reported = list(csv.DictReader(io.StringIO(render(rep, "csv"))))
    assert list(exported[0]) == list(reported[0]) == CSV_FIELDS
    assert exported == reported
    cells = [v for r in exported for v in r.values() if v]
    assert not [c for c in cells if c[0] in "=+-@"]
    assert "'=cmd|' /C calc'!A0" in {r["repo"] for r in exported}


BAD_STRINGS = ["llama\ud800", "x\x1b]0;owned\x07\x1b[2J\rforged line\nnext", "\u202eevil"]


@pytest.mark.parametrize("bad", BAD_STRINGS)
def test_one_bad_string_costs_at_most_its_own_field_in_every_format(tmp_path, bad):
    from inspector.report import render, report

    with Store(tmp_path / "a.sqlite") as s:
        s.put(row("org/good"))
        v = Verdict(target="org/bad", status="ok", kind="decoder", lineage=bad, layout=bad,
                    declared={"model_type": bad, "lineage": "llama"}, mismatch=True, error=None).to_dict()
        v["evidence"] = [{"rule": bad, "field": "lineage", "value": bad, "signal": "s", "observed": bad, "weight": 1.0}]
        s.put(Row.from_verdict("org/bad", "b" * 40, v, author=bad))
        s.db.execute("INSERT INTO results(repo, sha, status, verdict) VALUES ('org/bytes', '', 'ok', CAST(? AS TEXT))",
                     (b'{"lineage": "\xed\xa0\x80\xff"}',))
        buf = io.StringIO()
        export(s, "jsonl", buf)
        export(s, "csv", tmp_path / "e.csv")
    assert len(buf.getvalue().splitlines()) == 3
    for fmt in ("md", "html", "csv", "json"):
        with report(tmp_path / "a.sqlite", by="author") as rep:
            text = render(rep, fmt)
        text.encode("utf-8")  # every character encodes
        assert "org/bad" in text  # its disagreement is shown
        if fmt in ("csv", "json"):
            assert "org/good" in text and "org/bytes" in text
        else:
            assert "\x1b" not in text and "\u202e" not in text and "\ud800" not in text
    json.loads(text)


def test_parquet_has_struct_list_and_map_columns_and_flat_declared_ones(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    import pyarrow as pa

    with Store(tmp_path / "a.sqlite") as s:
        v = Verdict(target="org/a", revision="a" * 40, kind="decoder", lineage="qwen",
                    declared={"lineage": "llama", "kind": "decoder", "model_type": "llama"},
                    dtypes={"BF16": 291}, confidences={"lineage": 0.9}, io={"requests": 4, "bytes": 10}).to_dict()
        v["evidence"] = [{"rule": "qwen.vocab", "field": "lineage", "value": "qwen", "signal": "s",
                          "observed": "vocab_size = 151936", "weight": 1.5, "where": None}]
        s.put(Row.from_verdict("org/a", "a" * 40, v, author="org"))
        s.put(row("org/missing", "", "not_found"))
        assert export(s, "parquet", tmp_path / "o.parquet") == 2
    t = pq.read_table(tmp_path / "o.parquet")
    schema = t.schema
    assert pa.types.is_struct(schema.field("declared").type)
    assert pa.types.is_list(schema.field("evidence").type)
    assert pa.types.is_struct(schema.field("evidence").type.value_type)
    assert pa.types.is_map(schema.field("dtypes").type)
    rows = {r["target"]: r for r in t.to_pylist()}
    assert rows["org/a"]["declared"]["lineage"] == "llama" and rows["org/a"]["declared_lineage"] == "llama"
    assert rows["org/a"]["evidence"][0]["observed"] == "vocab_size = 151936"
    assert dict(rows["org/a"]["dtypes"]) == {"BF16": 291}
    assert rows["org/missing"]["status"] == "not_found" and rows["org/missing"]["revision"] is None


# ---- any stored value: a typed error or a report, never a crash


def _sql_values():
    from hypothesis import strategies as st

    text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30)
    return st.one_of(st.none(), st.integers(min_value=-(2**63), max_value=2**63 - 1), st.floats(allow_nan=False),
                     text, st.binary(max_size=30), st.sampled_from(["ok", "invalid", "unknown", "llama", "", "=1+1"]))


def test_rows_of_any_stored_values_never_break_a_report_or_an_export(tmp_path):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from inspector.errors import InspectorError
    from inspector.report import render, report

    verdicts = st.one_of(_sql_values(), st.recursive(
        st.one_of(st.none(), st.booleans(), st.floats(allow_nan=False), st.text(max_size=10)),
        lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.sampled_from(
            ["status", "lineage", "declared", "evidence", "kind", "weight", "field", "value", "observed", "source"]),
            kids, max_size=5), max_leaves=20).map(json.dumps))
    rows = st.lists(st.tuples(st.text(max_size=12), *[_sql_values() for _ in CONTRACT[2:13]], verdicts,
                              *[_sql_values() for _ in CONTRACT[14:]]), max_size=6)
    counter = iter(range(10**6))

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(rows, st.sampled_from(["html", "md", "csv", "json"]), st.booleans())
    def check(recs, fmt, by_author):
        path = tmp_path / f"h{next(counter)}.sqlite"
        stored = set()
        with Store(path) as s:
            for i, rec in enumerate(recs):
                with contextlib.suppress(sqlite3.IntegrityError):  # NOT NULL: the schema refuses it
                    s.db.execute(f"INSERT OR REPLACE INTO results({', '.join(CONTRACT)}) VALUES "
                                 f"({', '.join('?' * len(CONTRACT))})", (rec[0], str(i), *rec[1:]))
                    stored.add(rec[0])
        try:
            with report(path, by="author" if by_author else None) as rep:
                text = render(rep, fmt)
        except InspectorError as e:
            assert "\n" not in str(e)
            return
        text.encode("utf-8")
        if fmt == "json":
            assert len(json.loads(text)["rows"]) == len(stored)
        with Store(path, readonly=True) as s:
            buf = io.StringIO()
            export(s, "jsonl", buf)
            export(s, "csv", io.StringIO())
        assert all(json.loads(line)["target"] is not None for line in buf.getvalue().splitlines())

    check()


def test_a_schema_with_text_that_is_not_utf8_is_one_line_and_the_file_is_untouched(tmp_path):
    # Found by fuzz/fuzz_store.py (the input is kept as it was found): sqlite3 decodes schema text
    # itself, past the connection's text_factory, and that was "internal error".
    import shutil
    from pathlib import Path

    from click.testing import CliRunner

    from inspector.cli import main

    db = tmp_path / "found.sqlite"
    shutil.copy(Path(__file__).parent / "data" / "fuzz" / "store-schema-not-utf8.sqlite", db)
    data = db.read_bytes()
    r = CliRunner().invoke(main, ["audit", "export", "--db", str(db), "--format", "jsonl"])
    assert r.exit_code == 1 and "damaged" in r.output and "internal error" not in r.output
    assert db.read_bytes() == data


def test_a_repo_begun_in_any_thread_stays_in_the_journal_until_its_row_is_put(tmp_path):
    import threading

    with Store(tmp_path / "a.sqlite") as s:
        threads = [threading.Thread(target=s.begin, args=(f"org/m{i}",)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        inflight = "SELECT repo, attempts FROM inflight ORDER BY repo"
        assert [tuple(r) for r in s._read(inflight)] == [(f"org/m{i}", 1) for i in range(4)]
        s.put(row("org/m0", "", "network_error"))
        s.put(row("org/m1"))
        assert [r[0] for r in s._read(inflight)] == ["org/m2", "org/m3"]


def test_a_write_after_close_is_one_line_whichever_thread_makes_it(tmp_path):
    from inspector.errors import StoreError

    s = Store(tmp_path / "a.sqlite")
    s.begin("org/a")  # this thread's journal connection, closed with the store
    s.close()
    for write in (lambda: s.begin("org/b"), lambda: s.put(row("org/b"))):
        with pytest.raises(StoreError):
            write()
