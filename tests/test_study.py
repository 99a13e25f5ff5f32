"""The study end to end: a population (and its derivatives) audited from the fake Hub with the listing
fields stored per row, and the report's numbers (claims, shares by count and downloads, trends) equal
to what SQL on the database says, in every format."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from collections import Counter

import pytest
from click.testing import CliRunner
from studyhub import DERIVATIVES, MEMBERS, POPULATION_YAML, populate

from inspector.cli import main
from inspector.report import render, report
from inspector.status import USABLE
from inspector.store import COLUMNS, STUDY_COLUMNS, Store
from inspector.study import check_order, check_share, load_claims, wilson


def cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """One audit of the sample population with derivatives (the fake Hub is read once per module)."""
    from fakehub import FakeHub, use_endpoint

    d = tmp_path_factory.mktemp("study")
    with FakeHub() as hub, use_endpoint(hub.endpoint, hf_home=d / "hf"):
        listing = populate(hub)
        (d / "pop.yaml").write_text(POPULATION_YAML)
        r = cli("audit", "--population", d / "pop.yaml", "--derivatives", "--db", d / "a.sqlite")
        assert r.exit_code == 0, r.output
        yield d, d / "a.sqlite", listing, hub.endpoint


def test_a_population_audit_lists_members_and_derivatives_only(study):
    _, db, _, _ = study
    repos = {r[0] for r in sqlite3.connect(db).execute("SELECT repo FROM results")}
    assert repos == {r for r, *_ in MEMBERS} | {r for r, *_ in DERIVATIVES}  # the bystander is not listed


def test_the_listing_fields_are_stored_with_each_row(study):
    _, db, listing, _ = study
    for repo, dl, likes, created, modified in sqlite3.connect(db).execute(
            "SELECT repo, downloads, likes, created_at, last_modified FROM results"):
        want = listing[repo]
        assert (dl, likes) == (want["downloads"], want["likes"])
        assert created.startswith(want["createdAt"][:19]) and modified.startswith(want["lastModified"][:19])


def test_the_run_records_its_population_tool_rules_and_hub(study):
    _, db, _, endpoint = study
    with Store(db, readonly=True) as s:
        meta = s.meta()
    assert json.loads(meta["run.query"])["derivatives"] is True
    assert meta["run.population"].startswith("china-sample (")
    assert meta["run.tool"].startswith("inspector ") and len(meta["run.rules"]) == 12
    assert meta["run.endpoint"] == endpoint.rstrip("/")


def test_a_resume_of_an_unfinished_population_listing_lists_it_again(study, tmp_path):
    import shutil

    from fakehub import FakeHub, use_endpoint

    d, db, _, _ = study
    copy = tmp_path / "b.sqlite"
    shutil.copy(db, copy)
    con = sqlite3.connect(copy)
    con.execute("DELETE FROM results WHERE repo LIKE 'Qwen/%'")
    con.execute("DELETE FROM queue WHERE repo LIKE 'Qwen/%'")
    con.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", [("run.listed", "0"), ("run.state", "running")])
    con.commit()
    con.close()
    with FakeHub() as hub, use_endpoint(hub.endpoint, hf_home=tmp_path / "hf"):
        populate(hub)
        r = cli("audit", "--resume", "--db", copy, "-q")
        assert r.exit_code == 0, r.output
    n = sqlite3.connect(copy).execute("SELECT count(*) FROM results").fetchone()[0]
    assert n == len(MEMBERS) + len(DERIVATIVES)


@pytest.mark.parametrize("args, words", [
    (("--derivatives", "--author", "Qwen"), "--derivatives goes with --population"),
    (("--population", "china", "--author", "Qwen"), "give no --author"),
    (("--population", "atlantis"), "no population 'atlantis'"),
])
def test_population_usage_errors_are_one_line(tmp_path, args, words):
    r = cli("audit", *args, "--db", tmp_path / "x.sqlite")
    assert r.exit_code == 2 and words in r.output and "Traceback" not in r.output


def test_an_older_database_gains_the_study_columns(tmp_path):
    db = tmp_path / "old.sqlite"
    con = sqlite3.connect(db)
    old = [c for c in COLUMNS if c not in dict(STUDY_COLUMNS)]
    con.execute(f"CREATE TABLE results({', '.join(old)}, PRIMARY KEY(repo, sha))")
    con.execute("INSERT INTO results(repo, sha, status, verdict) VALUES ('a/b', '', 'ok', '{}')")
    con.commit()
    con.close()
    with Store(db) as s:
        assert {"downloads", "likes", "created_at", "last_modified", "traits"} <= s.columns
        assert s.count() == 1


# ---------------------------------------------------------------- the numbers


def sql_counts(db, column: str) -> tuple[Counter, Counter]:
    """(repos, downloads) per value of a results column, newest row per repo, usable rows only."""
    n, dl = Counter(), Counter()
    for v, c, d in sqlite3.connect(db).execute(
            f"SELECT {column}, count(*), total(downloads) FROM results WHERE status IN ({', '.join(map(repr, USABLE))}) "
            "GROUP BY 1"):
        n[v], dl[v] = c, int(d)
    return n, dl


def test_json_shares_equal_sql_on_the_database(study):
    _, db, _, _ = study
    with report(db) as rep:
        doc = json.loads(render(rep, "json"))["study"]
    for field in ("kind", "lineage"):
        n, dl = sql_counts(db, field)
        got = {s["value"]: (s["detected"], s["detected_downloads"]) for s in doc["shares"][field] if s["detected"]}
        assert got == {v: (n[v], dl[v]) for v in n}
    attention = Counter(json.loads(t)["attention"] for (t,) in sqlite3.connect(db).execute("SELECT traits FROM results"))
    assert {s["value"]: s["detected"] for s in doc["shares"]["attention"]} == dict(attention)
    assert doc["repos"] == sum(sql_counts(db, "kind")[0].values())
    assert doc["downloads"] == sum(sql_counts(db, "kind")[1].values())


def test_every_format_shows_the_same_claim_numbers(study, tmp_path):
    d, db, _, _ = study
    n, _ = sql_counts(db, "kind")
    total, dec = sum(n.values()), n["decoder"]
    with report(db) as rep:
        md, html, doc = render(rep, "md"), render(rep, "html"), json.loads(render(rep, "json"))
    share = next(c for c in doc["study"]["claims"] if c["type"] == "share")
    assert (share["detected"]["count"], share["n"]) == (dec, total)
    assert f"{dec}/{total} = {100 * dec / total:.1f}%" in md
    assert f"{dec} of {total} = {100 * dec / total:.1f}%" in html
    lo, hi = wilson(dec, total)
    assert f"{100 * lo:.1f}–{100 * hi:.1f}%" in md and f"{100 * lo:.1f}–{100 * hi:.1f}%" in html
    # The rows' files beside the HTML hold every repo with the database's downloads.
    out = tmp_path / "r.html"
    assert cli("report", db, "-o", out).exit_code == 0
    rows = list(csv.DictReader(io.StringIO((tmp_path / "r.rows.csv").read_text())))
    assert {r["repo"]: int(r["downloads"]) for r in rows} == dict(sqlite3.connect(db).execute("SELECT repo, downloads FROM results"))
    assert len(json.loads((tmp_path / "r.rows.json").read_text())) == len(rows)
    assert 'href="r.rows.csv"' in out.read_text()


def test_the_report_has_headline_methods_trends_with_the_release_marked(study):
    _, db, _, endpoint = study
    with report(db) as rep:
        html = render(rep, "html")
        st = rep.study
    assert 'id="headline"' in html and 'id="methods"' in html and 'id="claims"' in html
    assert 'id="trend-chart"' in html and 'class="release"' in html and "DeepSeek-R1 (2025-01)" in html
    assert st.months[0] == "2023-03" and "2025-01" in st.months
    moe = next(b for b in st.before_after if b["label"] == "MoE")
    assert moe["after"][0] / moe["after"][1] > moe["before"][0] / moe["before"][1]  # MoE rose after R1
    # Links go to the Hub the audit read; the header shows words, not run.* keys.
    assert f'href="{endpoint.rstrip("/")}/Qwen/Qwen3-8B"' in html and "huggingface.co/Qwen" not in html
    head = html.split("</header>")[0]
    assert "run." not in head and "population china-sample" in head


def test_the_layout_table_never_sets_a_model_type_against_a_layout(study):
    _, db, _, _ = study
    with report(db) as rep:
        lay = rep.shares["layout"]
        md = render(rep, "md")
    assert all("declared" not in s for s in lay)
    model_types = {v for (v,) in sqlite3.connect(db).execute("SELECT declared_model_type FROM results")}
    assert any(s["model_types"] for s in lay) and not ({s["value"] for s in lay} & (model_types - {s["value"] for s in lay}))
    assert "Layout (the weights' naming scheme)" in md


def test_an_unknown_lineage_filter_is_a_usage_error_with_a_suggestion(study):
    _, db, _, _ = study
    r = cli("report", db, "--lineage", "qwne")
    assert r.exit_code == 2 and "did you mean 'qwen'?" in r.output and "Traceback" not in r.output


# ---------------------------------------------------------------- claims


def test_wilson_interval_known_values():
    lo, hi = wilson(95, 100)
    assert (round(lo, 4), round(hi, 4)) == (0.8882, 0.9785)
    assert wilson(0, 0) == (0.0, 1.0)


def _claim(tmp_path, text):
    p = tmp_path / "c.yaml"
    p.write_text(text)
    return load_claims(p)[0][0]


def test_a_share_claim_is_judged_by_its_interval(tmp_path):
    c = _claim(tmp_path, "claims:\n- {id: d, says: most are decoders, field: kind, share: {value: decoder, expected: 0.95}}\n")
    ok = check_share(c, {"detected": Counter(decoder=95), "declared": Counter(decoder=90)}, 100)
    assert ok["verdict"].startswith("Supported") and ok["declared"]["count"] == 90
    low = check_share(c, {"detected": Counter(decoder=60), "declared": Counter()}, 100)
    assert low["verdict"].startswith("Not supported") and "below" in low["verdict"]


def test_a_ranking_claim_counts_pairs_and_ties(tmp_path):
    c = _claim(tmp_path, "claims:\n- {id: r, says: a then b then c, field: lineage, order: [a, b, c]}\n")
    side = {"declared": Counter()}
    assert check_order(c, side | {"detected": Counter(a=30, b=20, c=10)}, 60)["verdict"].startswith("Supported")
    tie = check_order(c, side | {"detected": Counter(a=30, b=20, c=20)}, 70)
    assert tie["verdict"].startswith("Partly supported") and tie["detected"]["pairs_agreeing"] == 2
    wrong = check_order(c, side | {"detected": Counter(a=5, b=20, c=10)}, 35)
    assert wrong["verdict"].startswith("Not supported") and wrong["detected"]["measured"] == ["b", "c", "a"]


def test_the_report_checks_a_users_claims_file(study, tmp_path):
    _, db, _, _ = study
    p = tmp_path / "mine.yaml"
    p.write_text("title: Mine\nclaims:\n- {id: moe, says: Half use MoE, field: moe, share: {value: MoE, expected: 0.5}}\n")
    r = cli("report", db, "--claims", p, "--format", "json")
    assert r.exit_code == 0, r.output
    claims = json.loads(r.output)["study"]["claims"]
    assert [c["id"] for c in claims] == ["moe"] and claims[0]["verdict"]


@pytest.mark.parametrize("text, words", [
    ("claims: []\n", "non-empty `claims:`"),
    ("claims:\n- {id: x, says: y, field: kind}\n", "a `share:`"),
    ("claims:\n- {id: x, says: y, field: kind, share: {value: d, expected: 2}}\n", "from 0 to 1"),
    ("claims: [\n", "invalid YAML"),
])
def test_a_broken_claims_file_is_one_line_naming_it(study, tmp_path, text, words):
    _, db, _, _ = study
    p = tmp_path / "bad.yaml"
    p.write_text(text)
    r = cli("report", db, "--claims", p)
    assert r.exit_code == 2 and words in r.output and str(p) in r.output and "Traceback" not in r.output


def test_the_per_repo_csv_recounts_to_the_studys_shares(study):
    _, db, _, _ = study
    with report(db) as rep:
        rows = list(csv.DictReader(io.StringIO(render(rep, "csv"))))
        shares = rep.study.shares
    usable = [r for r in rows if r["status"] in USABLE]
    for field in ("kind", "lineage"):
        assert Counter(r[field] for r in usable) == {s["value"]: s["detected"] for s in shares[field] if s["detected"]}


def test_an_audit_without_listing_dates_says_so_instead_of_a_chart(tmp_path):
    from conftest import SAMPLES

    db = tmp_path / "local.sqlite"
    assert cli("audit", "--dir", SAMPLES / "Qwen__Qwen-7B", "--db", db, "-q").exit_code in (0, 2)
    assert cli("audit", "--from", "/dev/null", "--db", db, "-q").exit_code in (0, 2)
    with Store(db) as s:
        from inspector.store import Row

        s.put(Row.from_verdict("a/b", "a" * 40, {"status": "ok", "kind": "decoder", "lineage": "qwen"}, author="a"))
    with report(db) as rep:
        html = render(rep, "html")
        assert rep.study.months == [] and rep.study.n == 1
    assert "no repo of this audit has a creation date" in html and 'id="trend-chart"' not in html
