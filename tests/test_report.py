"""`inspector report`: every format's numbers agree with an audit database whose counts are known."""

from __future__ import annotations

import csv
import io
import json
import random
import re
import sqlite3
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from inspector.cli import main
from inspector.report import hub_url, load, render, report, url_of

# The audit store's contract (owned by `inspector audit`); the report reads exactly this.
SCHEMA = """
CREATE TABLE results(repo TEXT NOT NULL, sha TEXT NOT NULL DEFAULT '', status TEXT NOT NULL, error TEXT,
  kind TEXT, layout TEXT, lineage TEXT, base TEXT, confidence REAL, mismatch INTEGER, declared_lineage TEXT,
  declared_kind TEXT, author TEXT, verdict TEXT NOT NULL, requests INTEGER, bytes INTEGER, finished_at TEXT,
  PRIMARY KEY(repo, sha));
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);
"""
XSS = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">'


def verdict(repo: str, *, status: str = "ok", kind: str = "decoder", layout: str = "llama", lineage: str = "llama",
            declared_lineage: str | None = "llama", declared_kind: str | None = "decoder", model_type: str | None = "llama",
            confidence: float = 0.9, vocab: int | None = 32000, evidence: list[dict] | None = None,
            error: str | None = None) -> dict:
    """A verdict shaped like Verdict.to_dict()."""
    usable = status in ("ok", "no_config", "no_weights_metadata")
    if evidence is None:
        evidence = [{"rule": f"{lineage}.shape", "field": "lineage", "value": lineage, "signal": "s",
                     "observed": f"vocab_size = {vocab}; gqa_group = 8" if vocab else "hidden_size = 4096",
                     "weight": 1.2, "where": "rules/x.yaml:1:1"},
                    {"rule": "kind.rope", "field": "kind", "value": kind, "signal": "s", "observed": "rope_theta = 1e4",
                     "weight": 0.4, "where": "rules/kind.yaml:1:1"}]
    mismatch = bool((declared_lineage and lineage != "unknown" and declared_lineage != lineage)
                    or (declared_kind and kind != "unknown" and declared_kind != kind))
    return {
        "target": repo, "revision": "a" * 40, "status": status, "error": error,
        "declared": {"model_type": model_type, "architectures": ["LlamaForCausalLM"], "base_model": None,
                     "lineage": declared_lineage, "kind": declared_kind} if usable else {},
        "kind": kind if usable else "unknown", "layout": layout if usable else "unknown",
        "lineage": lineage if usable else "unknown", "base": None,
        "confidence": confidence if usable else 0.0, "confidences": {}, "margins": {},
        "mismatch": mismatch if usable else False, "evidence": evidence if usable else [],
        "params": None, "params_exact": False, "dtypes": {}, "io": {"requests": 3, "bytes": 1000},
        "source": "local" if repo.startswith((".", "/", "samples/")) else "hub", "schema_version": 1,
    }


def write_db(path: Path, verdicts: list[dict], *, sha: str = "", finished_at: str = "2026-11-22T20:00:00Z",
             meta: dict[str, str] | None = None) -> Path:
    """Rows per the contract, written with sqlite3 directly (the columns mirror the verdict JSON)."""
    con = sqlite3.connect(path)
    if not con.execute("SELECT 1 FROM sqlite_master WHERE name='results'").fetchone():
        con.executescript(SCHEMA)
    for v in verdicts:
        d = v.get("declared") or {}
        repo = v["target"]
        author = repo.split("/")[0] if v["source"] == "hub" else None  # the audit has no organisation for a folder
        con.execute("INSERT OR REPLACE INTO results VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", (
            repo, sha, v["status"], v["error"], v["kind"], v["layout"], v["lineage"], v["base"], v["confidence"],
            int(v["mismatch"]), d.get("lineage"), d.get("kind"), author, json.dumps(v), 3, 1000, finished_at))
    for k, val in (meta or {}).items():
        con.execute("INSERT OR REPLACE INTO meta VALUES (?,?)", (k, val))
    con.commit()
    con.close()
    return path


def synthetic(n: int, seed: int = 7) -> list[dict]:
    """n repos: relabelled Yi/Qwen/DeepSeek as llama, honest repos, unknowns, errors, one hostile id."""
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        org = f"org{i % 23}"
        roll = rnd.random()
        conf = round(rnd.random(), 3)
        if roll < 0.08:
            out.append(verdict(f"{org}/broken-{i}", status=rnd.choice(["not_found", "gated", "network_error", "invalid"]),
                               error=f"{org}/broken-{i}: failed"))
        elif roll < 0.3:
            lin, voc = rnd.choice([("yi", 64000), ("qwen", 151936), ("deepseek", 102400)])
            out.append(verdict(f"{org}/relabelled-{i}", lineage=lin, vocab=voc, confidence=conf))
        elif roll < 0.4:
            out.append(verdict(f"{org}/mystery-{i}", lineage="unknown", layout=rnd.choice(["llama", "gpt2"]),
                               declared_lineage=None, model_type=None, vocab=rnd.choice([50000, 32000, None]), confidence=0.0))
        elif roll < 0.45:
            out.append(verdict(f"{org}/encoder-{i}", kind="encoder", layout="bert", lineage="bert", declared_lineage="bert",
                               declared_kind="decoder", model_type="bert", vocab=30522, confidence=conf))
        else:
            lin = rnd.choice(["llama", "qwen", "mistral", "chatglm", "baichuan"])
            out.append(verdict(f"{org}/honest-{i}", lineage=lin, declared_lineage=lin, layout=lin, model_type=lin,
                               confidence=conf))
    out.append(verdict(f"evil/{XSS}", lineage="yi", vocab=64000, confidence=0.5,
                       evidence=[{"rule": XSS, "field": "lineage", "value": "yi", "signal": XSS,
                                  "observed": f"vocab_size = 64000; {XSS}", "weight": 2.0, "where": None}]))
    out.append(verdict("./models/local-ft", lineage="qwen", vocab=151936, confidence=0.8))
    out.append(verdict("samples/org__name", confidence=0.95))  # looks like a Hub id, is a folder
    return out


def expected(verdicts: list[dict]) -> dict:
    """The report's numbers, computed independently from the rows written."""
    usable = [v for v in verdicts if v["status"] in ("ok", "no_config", "no_weights_metadata")]
    return {
        "repos": len(verdicts), "usable": len(usable),
        "mismatches": sum(v["mismatch"] for v in usable),
        "unknown": sum(v["lineage"] == "unknown" for v in usable),
        "errors": len(verdicts) - len(usable),
        "lineage": Counter(v["lineage"] for v in usable),
        "declared_lineage": Counter(v["declared"]["lineage"] or "(none)" for v in usable),
        "kind": Counter(v["kind"] for v in usable),
        "flows": Counter((v["declared"]["lineage"] or "(none)", v["lineage"]) for v in usable),
        "status": Counter(v["status"] for v in verdicts),
        "hist": Counter(min(9, int(v["confidence"] * 10)) for v in usable),
    }


@pytest.fixture(scope="module")
def audit(tmp_path_factory):
    vs = synthetic(300)
    db = write_db(tmp_path_factory.mktemp("audit") / "audit.sqlite", vs, meta={"started_at": "2026-11-22", "note": XSS})
    return db, vs, expected(vs)


def test_json_agrees_with_the_database(audit):
    db, _, exp = audit
    d = json.loads(render(report(db), "json"))
    assert d["totals"] == {k: exp[k] for k in ("repos", "usable", "mismatches", "unknown", "errors")}
    assert {s["value"]: s["detected"] for s in d["shares"]["lineage"] if s["detected"]} == exp["lineage"]
    assert {s["value"]: s["declared"] for s in d["shares"]["lineage"] if s["declared"]} == exp["declared_lineage"]
    assert {s["value"]: s["detected"] for s in d["shares"]["kind"] if s["detected"]} == exp["kind"]
    assert {(f["declared"], f["detected"]): f["count"] for f in d["flows"]} == exp["flows"]
    assert {s["status"]: s["count"] for s in d["statuses"]} == exp["status"]
    assert [b["count"] for b in d["confidence"]] == [exp["hist"][i] for i in range(10)]
    assert len(d["disagreements"]) == exp["mismatches"]
    assert sum(u["count"] for u in d["unknowns"]) == exp["unknown"]
    assert len(d["errors"]) == exp["errors"]
    assert len(d["rows"]) == exp["repos"]


def test_disagreements_carry_the_evidence_and_a_link(audit):
    db, _, _ = audit
    rep = report(db)
    yi = next(d for d in rep.disagreements() if d["lineage"] == "yi" and d["repo"].startswith("org"))
    assert yi["declared_lineage"] == "llama" and yi["fields"] == ["lineage"]
    assert yi["url"] == f"https://huggingface.co/{yi['repo']}"
    assert yi["evidence"][0]["value"] == "yi" and "64000" in yi["evidence"][0]["observed"]
    enc = next(d for d in rep.disagreements() if d["kind"] == "encoder")
    assert enc["fields"] == ["kind"] and enc["evidence"][0]["field"] == "kind"
    local = next(d for d in rep.disagreements() if d["repo"] == "./models/local-ft")
    assert local["url"] is None
    assert next(d for d in rep.disagreements() if d["repo"].startswith("evil/"))["url"] is None
    sample = next(r for r in rep.rows() if r.repo == "samples/org__name")
    assert url_of(sample) is None and sample.author == "(local)"


def test_unknowns_grouped_by_layout_and_vocab(audit):
    db, vs, _ = audit
    want = Counter((v["layout"], int(m.group(1)) if (m := re.search(r"vocab_size = (\d+)", v["evidence"][0]["observed"])) else None)
                   for v in vs if v["status"] == "ok" and v["lineage"] == "unknown")
    got = {(u["layout"], u["vocab"]): u["count"] for u in report(db).unknowns}
    assert got == want


def test_csv_agrees_with_the_database(audit):
    db, _, exp = audit
    rows = list(csv.DictReader(io.StringIO(render(report(db), "csv"))))
    assert len(rows) == exp["repos"]
    usable = [r for r in rows if r["status"] in ("ok", "no_config", "no_weights_metadata")]
    assert Counter(r["lineage"] for r in usable) == exp["lineage"]
    assert sum(r["mismatch"] == "True" for r in usable) == exp["mismatches"]
    assert sum(r["unknown"] == "True" for r in rows) == exp["unknown"]
    assert Counter(r["status"] for r in rows) == exp["status"]


def test_markdown_agrees_with_the_database(audit):
    db, _, exp = audit
    text = render(report(db), "md")
    assert f"**{exp['repos']}** repos · **{exp['usable']}** inspected · **{exp['mismatches']}** disagreements" in text
    assert f"### Disagreements ({exp['mismatches']})" in text
    for (dec, det), n in exp["flows"].items():
        assert re.search(rf"^\| {re.escape(dec)} \| {re.escape(det)} \| {n} \|$", text.replace("\\(", "(").replace("\\)", ")"), re.M)
    for status, n in exp["status"].items():
        assert f"| {status.replace('_', chr(92) + '_')} | {n} |" in text
    # An issue comment holds 65,536 characters: long lists are cut, saying how many more.
    section = text.split("### Disagreements", 1)[1].split("###", 1)[0]
    assert section.count("\n| ") - 1 == min(50, exp["mismatches"])
    assert f"and {exp['mismatches'] - 50} more" in section
    # Hostile text is inert: no raw tag, no table-breaking pipe, no forged link.
    assert "<script" not in text and "<img" not in text
    assert "&lt;script&gt;" in text


def test_html_agrees_and_escapes(audit):
    db, _, exp = audit
    page = render(report(db, by="author"), "html")
    for key, n in (("repos", exp["repos"]), ("disagreements", exp["mismatches"]), ("errors", exp["errors"])):
        assert f'data-key="{key}"><b>{n}</b>' in page
    body = page.split("<body>", 1)[1]
    assert body.count("<script") == 1, "only the page's own script"
    assert "<img" not in body and "&lt;script&gt;window.__xss=1&lt;/script&gt;" in body
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "") and "https://fonts" not in page
    section = page.split('<section id="disagreements">', 1)[1].split("</section>", 1)[0]
    # Every disagreement is linked but the two that are no Hub id (the hostile one, the local path).
    assert section.count('<a href="https://huggingface.co/') == exp["mismatches"] - 2
    assert 'id="authors-table"' in page and page.count("<svg") == 5


def test_filters(audit):
    db, vs, _ = audit
    rep = report(db, lineage="yi", by="author")
    want = [v for v in vs if "yi" in (v["lineage"], (v["declared"] or {}).get("lineage"))]
    assert rep.totals["repos"] == len(want)
    assert {f["detected"] for f in rep.flows} == {"yi"}
    assert sum(a["repos"] for a in rep.authors) == len(want)
    assert "evil" in {a["author"] for a in rep.authors}
    assert "(local)" in {a["author"] for a in report(db, lineage="qwen", by="author").authors}


def test_newest_result_per_repo_counts_once(tmp_path):
    db = write_db(tmp_path / "a.sqlite", [verdict("o/m", lineage="llama")], sha="old", finished_at="2026-01-01")
    write_db(db, [verdict("o/m", lineage="qwen")], sha="new", finished_at="2026-02-01")
    rows, _ = load(db)
    assert [(r.repo, r.lineage) for r in rows] == [("o/m", "qwen")]


def test_hostile_rows_do_not_break_the_report(tmp_path):
    db = write_db(tmp_path / "h.sqlite", [verdict("o/ok")])
    con = sqlite3.connect(db)
    con.execute("INSERT INTO results(repo, sha, status, verdict, confidence) VALUES ('o/bad', '', 'ok', '{not json', 'NaN')")
    con.execute("INSERT INTO results(repo, sha, status, verdict) VALUES ('o/deep', '', 'ok', ?)", ("[" * 100000 + "]" * 100000,))
    con.execute("INSERT INTO results(repo, sha, status, verdict) VALUES ('o/types', '', 'ok', ?)",
                (json.dumps({"lineage": {"x": 1}, "evidence": [1, {"rule": ["a"], "weight": "heavy"}], "declared": []}),))
    con.commit()
    con.close()
    rep = report(db)
    assert rep.totals["repos"] == 4
    for fmt in ("html", "md", "csv", "json"):
        assert render(rep, fmt)


def test_an_empty_audit_still_reports(tmp_path):
    db = write_db(tmp_path / "e.sqlite", [])
    rep = report(db, by="author")
    assert rep.totals == {"repos": 0, "usable": 0, "mismatches": 0, "unknown": 0, "errors": 0}
    for fmt in ("html", "md", "csv", "json"):
        assert render(rep, fmt)


def test_hub_url():
    assert hub_url("Qwen/Qwen2-7B") == "https://huggingface.co/Qwen/Qwen2-7B"
    assert hub_url("Qwen/Qwen2-7B@main") == "https://huggingface.co/Qwen/Qwen2-7B/tree/main"
    for bad in ("./local", "/abs/path", "javascript:alert(1)/x", "a/../b", "o/n\" onclick=x", "o/<b>"):
        assert hub_url(bad) is None


def test_report_rejects_unknown_grouping(audit):
    from inspector.errors import UsageError

    with pytest.raises(UsageError):
        report(audit[0], by="colour")


def test_cli_formats_and_errors(audit, tmp_path):
    db, _, exp = audit
    r = CliRunner()
    for fmt, suffix in (("html", ".html"), ("md", ".md"), ("csv", ".csv"), ("json", ".json")):
        out = tmp_path / f"report{suffix}"
        res = r.invoke(main, ["report", str(db), "-o", str(out)])
        assert res.exit_code == 0, res.output
        assert out.stat().st_size > 0
        if fmt == "json":
            assert json.loads(out.read_text())["totals"]["repos"] == exp["repos"]
    res = r.invoke(main, ["report", str(db), "--format", "json", "--by", "author", "--lineage", "qwen"])
    assert res.exit_code == 0 and json.loads(res.output)["filters"] == {"by": "author", "lineage": "qwen"}
    missing = r.invoke(main, ["report", str(tmp_path / "nope.sqlite")])
    assert missing.exit_code == 2 and "no such audit database" in missing.output
    junk = tmp_path / "junk.sqlite"
    junk.write_text("not sqlite at all " * 100)
    bad = r.invoke(main, ["report", str(junk)])
    assert bad.exit_code == 1 and bad.output.startswith("error:") and "Traceback" not in bad.output
    nodir = r.invoke(main, ["report", str(db), "-o", str(tmp_path / "no" / "dir" / "r.html")])
    assert nodir.exit_code == 2 and "cannot write" in nodir.output


def test_a_disagreement_on_an_unknown_lineage_is_named_only_where_the_one_mismatch_rule_says_so(tmp_path):
    ruled_out = {"rule": "lineage:unknown", "field": "lineage", "value": "unknown", "signal": "resembles llama",
                 "observed": "ruled out: no family's tokenizer rule and no base accounts for vocabulary 50000", "weight": 0.0}
    kind = {"rule": "kind.rope", "field": "kind", "value": "decoder", "signal": "s", "observed": "rope_theta = 1e4", "weight": 0.4}
    own = verdict("org/own-pretrain", lineage="unknown", evidence=[kind, ruled_out])
    kind_only = verdict("org/kind-only", lineage="unknown", declared_kind="encoder", evidence=[kind])
    own["mismatch"] = True  # as decide() sets it: the tokenizer rules the claimed llama out
    db = write_db(tmp_path / "a.db", [own, kind_only])
    fields = {d["repo"]: d["fields"] for d in report(db).disagreements()}
    assert fields == {"org/own-pretrain": ["lineage"], "org/kind-only": ["kind"]}
