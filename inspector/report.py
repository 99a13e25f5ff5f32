"""An audit database -> one report: shares, disagreements, lineage flows, confidence, unknowns, errors.

The report reads the database through the store (read-only) and scales with it: every count is an
SQL group-by over the newest row of each repo (kept in a temporary table of the indexed columns),
only the rows a table shows are read in full (their verdict JSON holds the evidence), and the per-repo
formats (CSV, JSON) are streamed. Memory does not grow with the number of rows.

Every string comes from repos and is untrusted: renderers make it inert (inspector/inert.py) and
escape it for their format, so one bad value costs at most its own cell.

Renderers: HTML (one self-contained page), Markdown (an issue comment), CSV and JSON (pandas, DuckDB).
"""

from __future__ import annotations

import base64
import csv
import hashlib
import heapq
import html
import io
import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from .errors import UsageError
from .inert import DISPLAY_LIMIT, inert, json_safe, json_safe_deep, spreadsheet_safe
from .status import USABLE
from .store import Row, Store
from .verdict import disagreements, ruled_out_by_tokenizer

FORMATS = ("html", "md", "csv", "json")
UNKNOWN = "unknown"
NONE = "(none)"  # a repo that declares nothing for a field
TOP_EVIDENCE = 3
BINS = 10
# Hub ids only: anything else (a local path, a forged id) is shown as plain text, never as a link.
# TODO(RepoRef): the Hub helper is building RepoRef.parse(), the one home for repo ids; use it here.
HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,95}/[A-Za-z0-9][A-Za-z0-9_.-]{0,95}$")
# Long lists are cut in the human formats (an issue comment holds 65,536 characters; a page with 100k
# rows stops being one): the cut says how many more, and CSV/JSON always carry every repo.
MD_LIMIT = 50
HTML_LIMIT = 3000
EXAMPLES = 8  # repos named per group of unknowns


# ---------------------------------------------------------------- rows


@dataclass
class Evidence:
    rule: str
    field: str
    value: str
    observed: str
    weight: float


# Links go to the Hub the audit read (its run.endpoint), not always huggingface.co: a Report gives
# its rows `hub`; a row from elsewhere (export) links to the default.
DEFAULT_HUB = "https://huggingface.co"
_ENDPOINT = re.compile(r"^https?://[A-Za-z0-9.\-]+(:\d{1,5})?(/[A-Za-z0-9._~/\-]*)?$")


def hub_url(repo: str, hub: str = DEFAULT_HUB) -> str | None:
    name, _, rev = repo.partition("@")
    if not HUB_ID.match(name) or ".." in name:
        return None
    url = f"{hub}/{name}"
    if rev and re.fullmatch(r"[A-Za-z0-9_.-]{1,100}", rev):
        url += f"/tree/{rev}"
    return url


def url_of(r: Row) -> str | None:
    # A folder or file: "samples/x" looks like a Hub id but must not become a link.
    return None if r.local else hub_url(r.repo, getattr(r, "hub", DEFAULT_HUB))


def _text(v: Any, default: str | None = None) -> str | None:
    """Any JSON or column value -> one bounded, inert line of text (or the default for null/empty)."""
    if v is None or v == "":
        return default
    s = v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, default=str)
    return inert(" ".join(s.split()), DISPLAY_LIMIT)


def author_of(repo: Any, local: bool = False) -> str:
    name = str(repo).partition("@")[0]
    return name.split("/", 1)[0] if HUB_ID.match(name) and not local else "(local)"


def _weight(e: dict[str, Any]) -> float:
    w = e.get("weight")
    return float(w) if isinstance(w, (int, float)) and not isinstance(w, bool) and abs(w) < 1e300 else 0.0


def _evidence(e: dict[str, Any]) -> Evidence:
    return Evidence(_plain(e.get("rule"), "?"), _plain(e.get("field"), "?"), _plain(e.get("value"), "?"),
                    _plain(e.get("observed"), ""), _weight(e))


def evidence_of(r: Row) -> list[Evidence]:
    """The verdict's evidence as stored (renderers make each value inert when they show it)."""
    raw = r.verdict.get("evidence")
    return [_evidence(e) for e in (raw if isinstance(raw, list) else [])[:50] if isinstance(e, dict)]


def _plain(v: Any, default: str) -> str:
    if v is None or v == "":
        return default
    return v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, default=str)


def load(db: str | Path) -> tuple[list[Row], dict[str, str]]:
    """Every repo's newest row and the meta table (small databases and tests; the report streams)."""
    with Store(db, readonly=True) as store:
        return list(store.rows()), store.meta()


# ---------------------------------------------------------------- the report

# The newest row of each repo, its indexed columns only: every count below is a group-by over it.
_CUR_COLS = ("repo", "status", "kind", "layout", "lineage", "confidence", "mismatch", "declared_lineage",
             "declared_kind", "declared_model_type", "vocab", "author", "sha")
_USABLE_SQL = ", ".join(f"'{s}'" for s in USABLE)
# Each column as the report counts it, whatever a foreign or hostile writer stored (idempotent).
_NORM = {
    "status": f"coalesce(nullif(CAST({{c}} AS TEXT), ''), '{UNKNOWN}')",
    "kind": f"coalesce(nullif(CAST({{c}} AS TEXT), ''), '{UNKNOWN}')",
    "layout": f"coalesce(nullif(CAST({{c}} AS TEXT), ''), '{UNKNOWN}')",
    "lineage": f"coalesce(nullif(CAST({{c}} AS TEXT), ''), '{UNKNOWN}')",
    "declared_lineage": "nullif(CAST({c} AS TEXT), '')",
    "declared_kind": "nullif(CAST({c} AS TEXT), '')",
    "declared_model_type": "nullif(CAST({c} AS TEXT), '')",
    "author": "nullif(CAST({c} AS TEXT), '')",
    "vocab": "CASE WHEN typeof({c}) = 'integer' AND {c} > 0 THEN {c} END",
    "confidence": "CASE WHEN typeof({c}) IN ('integer', 'real') AND abs({c}) < 1e300 THEN {c} END",
    "mismatch": "CASE WHEN typeof({c}) IN ('integer', 'real') THEN {c} != 0 "
                "WHEN typeof({c}) = 'text' THEN lower({c}) IN ('1', 'true') ELSE 0 END",
}
# Rows written before a column existed, or by something else: their values come from the verdict JSON.
_NEEDS_VERDICT = ("{status} IS NULL OR {author} IS NULL OR {declared_model_type} IS NULL OR {vocab} IS NULL OR "
                  f"({{status}} IN ({_USABLE_SQL}) AND "
                  "({kind} IS NULL OR {layout} IS NULL OR {lineage} IS NULL OR {mismatch} IS NULL))")


class Report:
    """The aggregates of one audit database; the per-repo tables are read when rendered."""

    def __init__(self, store: Store, *, source: str = "", by: str | None = None, lineage: str | None = None,
                 claims: str | Path | None = None) -> None:
        from .store import LATEST_WHERE

        if by not in (None, "author"):
            raise UsageError(f"`by` must be 'author', not {by!r}", names={"by": "`by`"})
        self.store, self.source = store, source
        self.filters: dict[str, str | None] = {"by": by, "lineage": lineage}
        self.meta = {_text(k, "") or "": _text(v, "") or "" for k, v in list(store.meta().items())[:100]}
        endpoint = self.meta.get("run.endpoint", "").rstrip("/")
        self.hub = endpoint if _ENDPOINT.match(endpoint) else DEFAULT_HUB
        self.links: dict[str, str] = {}  # fmt -> the study's row files (report_study.write_beside)
        db = store.db
        raw = {c: c if c in store.columns else "NULL" for c in _CUR_COLS}
        exprs = [f"{raw[c]} AS {c}" if c not in _NORM else f"{_NORM[c].format(c=raw[c])} AS {c}" for c in _CUR_COLS]
        with store._guard():
            db.execute("DROP TABLE IF EXISTS temp.cur")
            # One pass over the index: the newest row per repo, normalised, and which rows need their verdict.
            db.execute(f"CREATE TEMP TABLE cur AS SELECT rowid AS rid, {', '.join(exprs)}, "
                       f"({_NEEDS_VERDICT.format(**raw)}) AS needs, "
                       f"({_NORM['status'].format(c=raw['status'])} IN ({_USABLE_SQL})) AS usable "
                       f"FROM main.results WHERE {LATEST_WHERE.replace('results.repo', 'main.results.repo')}")
            self._fill_from_verdicts()
            if lineage:
                self._known_lineage(lineage)
                db.execute("DELETE FROM cur WHERE NOT (lineage = ? OR declared_lineage IS ?)", (lineage, lineage))
            db.execute("CREATE INDEX temp.cur_repo ON cur(repo)")
            self._aggregate(by)
        from .study import Study

        self.study = Study(self, claims)

    def _known_lineage(self, lineage: str) -> None:
        """--lineage that no repo declares or is detected as is a typo, not an empty report."""
        if self._q("SELECT 1 FROM cur WHERE lineage = ? OR declared_lineage = ? LIMIT 1", (lineage, lineage)):
            return
        from .errors import did_you_mean

        known = sorted({r[0] for r in self._q("SELECT lineage FROM cur UNION SELECT declared_lineage FROM cur") if r[0]})
        raise UsageError(f"`lineage` {inert(lineage, 40)!r}: no repo of this audit declares or is detected as it"
                         + did_you_mean(lineage, known, f" (lineages here: {', '.join(known[:12])})"),
                         names={"lineage": "`lineage`"})

    def _fill_from_verdicts(self) -> None:
        """Rows whose columns are missing: read their verdict (only theirs) and fill the columns in."""
        db = self.store.db
        todo = [r[0] for r in db.execute("SELECT rid FROM cur WHERE needs")]
        for i in range(0, len(todo), 500):
            ids = todo[i:i + 500]
            recs = db.execute(f"SELECT rowid AS rid, {self.store._select(_CUR_COLS + ('verdict', 'error'))} "
                              f"FROM main.results WHERE rowid IN ({', '.join('?' * len(ids))})", ids).fetchall()
            for rec in recs:
                r = Row.from_record(rec)
                db.execute("UPDATE cur SET status = ?, kind = ?, layout = ?, lineage = ?, confidence = ?, mismatch = ?, "
                           "declared_lineage = ?, declared_kind = ?, declared_model_type = ?, vocab = ?, author = ? "
                           "WHERE rid = ?", (*(_sql_text(x) for x in (r.status, r.kind, r.layout, r.lineage)),
                                             r.confidence, int(bool(r.mismatch)),
                                             *(_sql_text(x) for x in (r.declared_lineage, r.declared_kind,
                                                                      r.declared_model_type)),
                                             r.vocab or 0, _sql_text(r.author) or author_of(r.repo, r.local),
                                             rec["rid"]))
        if todo:
            db.execute("UPDATE cur SET " + ", ".join(f"{c} = {e.format(c=c)}" for c, e in _NORM.items())
                       + " WHERE needs")
            db.execute(f"UPDATE cur SET usable = status IN ({_USABLE_SQL}) WHERE needs")

    def _q(self, sql: str, params: tuple = ()) -> list:
        with self.store._guard():
            return self.store.db.execute(sql, params).fetchall()

    def _aggregate(self, by: str | None) -> None:
        # Every count but the unknowns' and the authors' from one group-by: a scan of the table, and
        # as many groups as there are distinct combinations (not rows).
        totals: Counter[str] = Counter()
        dec: dict[str, Counter[Any]] = defaultdict(Counter)
        det: dict[str, Counter[Any]] = defaultdict(Counter)
        flows: Counter[tuple[Any, Any]] = Counter()
        bins: Counter[int] = Counter()
        statuses: Counter[Any] = Counter()
        layout_types: dict[Any, Counter[Any]] = defaultdict(Counter)
        for (usable, mism, status, kind, dkind, layout, dmt, lin, dlin, cbin, n) in self._q(
                f"SELECT usable, mismatch, status, kind, coalesce(declared_kind, '{NONE}'), layout, "
                f"coalesce(declared_model_type, '{NONE}'), lineage, coalesce(declared_lineage, '{NONE}'), "
                f"min({BINS - 1}, max(0, CAST(confidence * {BINS} AS INTEGER))), count(*) "
                "FROM cur GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10"):
            statuses[status] += n
            totals["repos"] += n
            if not usable:
                totals["errors"] += n
                continue
            totals["usable"] += n
            totals["mismatches"] += n if mism else 0
            totals["unknown"] += n if lin == UNKNOWN else 0
            for f, d, t in (("kind", dkind, kind), ("layout", dmt, layout), ("lineage", dlin, lin)):
                dec[f][d] += n
                det[f][t] += n
            layout_types[layout][dmt] += n
            flows[(dlin, lin)] += n
            if cbin is not None:
                bins[cbin] += n
        self.totals = {k: totals[k] for k in ("repos", "usable", "mismatches", "unknown", "errors")}

        def share(f: str) -> list[dict[str, Any]]:
            values = sorted(set(dec[f]) | set(det[f]), key=lambda v: (-(det[f][v] + dec[f][v]), str(v)))
            return [{"value": v, "declared": dec[f][v], "detected": det[f][v]} for v in values]

        self.shares = {f: share(f) for f in ("kind", "lineage")}
        # Nothing declares a layout, and config.json's model_type names another thing (qwen2 is laid out
        # as llama): each detected layout is listed with the model_types of its repos, never against them.
        self.shares["layout"] = [{"value": v, "detected": c, "model_types": dict(layout_types[v].most_common(4))}
                                 for v, c in sorted(det["layout"].items(), key=lambda kv: (-kv[1], str(kv[0])))]
        self.flows = [{"declared": d, "detected": t, "count": c}
                      for (d, t), c in sorted(flows.items(), key=lambda kv: (-kv[1], str(kv[0][0]), str(kv[0][1])))]
        self.confidence = [{"lo": i / BINS, "hi": (i + 1) / BINS, "count": bins[i]} for i in range(BINS)]
        self.statuses = [{"status": st, "count": c} for st, c in sorted(statuses.items(), key=lambda kv: (-kv[1], str(kv[0])))]

        unknown = f"usable AND lineage = '{UNKNOWN}'"
        types: dict[tuple[str, int | None], list[str]] = defaultdict(list)
        for lay, voc, mt, _c in self._q(
                f"SELECT layout, vocab, coalesce(declared_model_type, '{NONE}') AS mt, count(*) AS c FROM cur "
                f"WHERE {unknown} GROUP BY 1, 2, 3 ORDER BY c DESC, mt"):
            if len(types[(lay, voc)]) < 3:
                types[(lay, voc)].append(mt)
        examples: dict[tuple[str, int | None], list[Row]] = defaultdict(list)
        for rec in self._rows_where(f"rid IN (SELECT rid FROM (SELECT rid, row_number() OVER (PARTITION BY layout, vocab "
                                    f"ORDER BY repo) AS k FROM cur WHERE {unknown}) WHERE k <= {EXAMPLES})"):
            examples[(rec.layout, rec.vocab)].append(rec)
        self.unknowns = [{"layout": lay, "vocab": voc, "count": c, "model_types": types[(lay, voc)],
                          "repos": [{"repo": r.repo, "url": url_of(r)} for r in examples[(lay, voc)]]}
                         for lay, voc, c in self._q(f"SELECT layout, vocab, count(*) AS c FROM cur WHERE {unknown} "
                                                    "GROUP BY 1, 2 ORDER BY c DESC, layout, coalesce(vocab, 0)")]
        self.authors = None
        if by == "author":
            lineages: dict[str, Counter[str]] = defaultdict(Counter)
            for a, lin, c in self._q("SELECT author, lineage, count(*) FROM cur WHERE usable GROUP BY 1, 2"):
                lineages[a][lin] = c
            self.authors = [{"author": a, "repos": n, "usable": int(u), "mismatches": int(m), "unknown": int(k),
                             "errors": int(n - u), "lineages": dict(lineages[a].most_common(5))}
                            for a, n, u, m, k in self._q(
                                f"SELECT author, count(*) AS n, total(usable), total(usable AND mismatch), "
                                f"total({unknown}) FROM cur GROUP BY author ORDER BY n DESC, author")]

    # ---- the per-repo tables, streamed

    def _rows_where(self, where: str, order: str = "cur.repo", limit: int | None = None) -> Iterator[Row]:
        """Full rows (with their verdict) for `cur` rows matching `where`, the columns as normalised."""
        extra = ", ".join(f"r.{c} AS {c}" if c in self.store.columns else f"NULL AS {c}" for c in ("verdict", "error"))
        cols = ", ".join(f"cur.{c}" for c in ("rid", *_CUR_COLS, "usable"))
        sql = (f"SELECT {cols}, {extra} FROM cur JOIN main.results r ON r.rowid = cur.rid"
               + ("" if where == "1" else f" WHERE cur.rid IN (SELECT rid FROM cur WHERE {where})") + f" ORDER BY {order}"
               + (f" LIMIT {int(limit)}" if limit is not None else ""))
        with self.store._guard():
            cur = self.store.db.execute(sql)
            try:
                while batch := cur.fetchmany(200):
                    for rec in batch:
                        r = Row.from_record(rec)
                        r.author = _sql_text(rec["author"]) or author_of(r.repo, r.local)
                        r.hub = self.hub  # type: ignore[attr-defined]
                        yield r
            finally:
                cur.close()

    def disagreements(self, limit: int | None = None) -> Iterator[dict[str, Any]]:
        for r in self._rows_where("usable AND mismatch", "coalesce(cur.confidence, 0) DESC, cur.repo", limit):
            yield {"repo": r.repo, "url": url_of(r), "author": r.author, "fields": disagreeing_fields(r),
                   "declared_lineage": r.declared_lineage, "lineage": r.lineage,
                   "declared_kind": r.declared_kind, "kind": r.kind, "confidence": r.confidence,
                   "evidence": [vars(e).copy() for e in supporting(r)]}

    def errors(self, limit: int | None = None) -> Iterator[dict[str, Any]]:
        for r in self._rows_where("NOT usable", "cur.status, cur.repo", limit):
            yield {"repo": r.repo, "url": url_of(r), "status": r.status, "error": r.error}

    def rows(self) -> Iterator[Row]:
        return self._rows_where("1")

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Report:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def header(self) -> dict[str, Any]:
        return {"source": self.source, "meta": self.meta, "filters": self.filters, "totals": self.totals,
                "shares": self.shares, "flows": self.flows, "confidence": self.confidence,
                "unknowns": self.unknowns, "statuses": self.statuses, "authors": self.authors,
                "study": self.study.to_dict()}


def _sql_text(v: Any) -> str | None:
    return v if v is None or isinstance(v, str) else str(v)


def flat(r: Row) -> dict[str, Any]:
    """One repo as a flat record (CSV and JSON): everything a dataframe needs to recount the report.
    The one CSV schema: `inspector audit export --format csv` writes the same."""
    top = supporting(r)
    usable = r.usable
    return {
        "repo": r.repo, "url": url_of(r), "author": r.author or author_of(r.repo, r.local), "sha": r.sha,
        "status": r.status, "error": r.error, "kind": r.kind, "layout": r.layout, "lineage": r.lineage,
        "base": r.base, "confidence": r.confidence, "mismatch": bool(r.mismatch) if usable else False,
        "declared_lineage": r.declared_lineage, "declared_kind": r.declared_kind,
        "declared_model_type": r.declared_model_type, "vocab": r.vocab or None,
        "unknown": usable and r.lineage == UNKNOWN,
        "top_evidence": " | ".join(f"{_text(e.rule)} ({e.weight:+.2f}): {_text(e.observed, '')}" for e in top),
    }


CSV_FIELDS = ["repo", "url", "author", "sha", "status", "error", "kind", "layout", "lineage", "base", "confidence",
              "mismatch", "declared_lineage", "declared_kind", "declared_model_type", "vocab", "unknown", "top_evidence"]


def disagreeing_fields(r: Row) -> list[str]:
    """The fields verdict.disagreements() (the one mismatch rule) finds in a stored row."""
    raw = r.verdict.get("evidence")
    ev = [e for e in (raw if isinstance(raw, list) else []) if isinstance(e, dict)]
    return list(disagreements({"lineage": r.declared_lineage, "kind": r.declared_kind},
                              {"lineage": r.lineage or UNKNOWN, "kind": r.kind or UNKNOWN}, ruled_out_by_tokenizer(ev)))


def supporting(r: Row, n: int = TOP_EVIDENCE) -> list[Evidence]:
    """The strongest evidence for what was detected in the disagreeing fields (else the strongest at all)."""
    fields = disagreeing_fields(r) or ["lineage", "kind"]
    want = {(f, getattr(r, f)) for f in fields}
    raw = r.verdict.get("evidence")
    ev = [e for e in (raw if isinstance(raw, list) else [])[:50] if isinstance(e, dict)]
    # Only the few shown become Evidence: a CSV of every repo reads this per row.
    pro = [e for e in ev if (e.get("field"), e.get("value")) in want and _weight(e) > 0]
    top = heapq.nsmallest(n, pro, key=lambda e: -_weight(e)) or heapq.nsmallest(n, ev, key=lambda e: -abs(_weight(e)))
    return [_evidence(e) for e in top]


def report(db: str | Path, *, by: str | None = None, lineage: str | None = None,
           claims: str | Path | None = None) -> Report:
    """The report of an audit database, opened read-only (a live audit may be writing it)."""
    store = Store(db, readonly=True)
    try:
        return Report(store, source=Path(db).name, by=by, lineage=lineage, claims=claims)
    except BaseException:
        store.close()
        raise


def chunks(rep: Report, fmt: str) -> Iterator[str]:
    """The rendered report in pieces: CSV and JSON stream their per-repo rows."""
    if fmt not in FORMATS:
        raise UsageError(f"`fmt` must be one of {', '.join(FORMATS)}", names={"fmt": "`fmt`"})
    if fmt == "csv":
        buf = io.StringIO()
        w = csv_writer(buf)
        yield _take(buf)
        for r in rep.rows():
            write_csv_row(w, r)
            if buf.tell() > 1 << 16:
                yield _take(buf)
        yield _take(buf)
    elif fmt == "json":
        yield from to_json_chunks(rep)
    else:
        yield {"html": to_html, "md": to_markdown}[fmt](rep)


def render(rep: Report, fmt: str) -> str:
    return "".join(chunks(rep, fmt))


def _take(buf: io.StringIO) -> str:
    s = buf.getvalue()
    buf.seek(0)
    buf.truncate()
    return s


# ---------------------------------------------------------------- JSON, CSV


def to_json_chunks(rep: Report) -> Iterator[str]:
    """One JSON object; its long lists (disagreements, errors, rows) written as they are read."""
    head = json_safe_deep(rep.header())
    yield json.dumps(head, ensure_ascii=False, indent=1)[:-2]
    for key, items in (("disagreements", rep.disagreements()), ("errors", rep.errors()),
                       ("rows", (flat(r) for r in rep.rows()))):
        yield f',\n "{key}": ['
        for i, item in enumerate(items):
            yield ("," if i else "") + "\n  " + json.dumps(json_safe_deep(item), ensure_ascii=False)
        yield "\n ]"
    yield "\n}\n"


def to_json(rep: Report) -> str:
    return "".join(to_json_chunks(rep))


def csv_writer(fh: IO[str]) -> csv.DictWriter:
    w = csv.DictWriter(fh, fieldnames=CSV_FIELDS, lineterminator="\n")
    w.writeheader()
    return w


def write_csv_row(w: csv.DictWriter, r: Row) -> None:
    # One bad string costs its own cell: surrogates escaped; a formula start is defused (one guard).
    w.writerow({k: spreadsheet_safe(json_safe(v)) if isinstance(v, str) else v for k, v in flat(r).items()})


def write_csv(rows: Iterator[Row], fh: IO[str]) -> int:
    """The one CSV schema (report and `audit export`): a line per repo."""
    w = csv_writer(fh)
    n = 0
    for r in rows:
        write_csv_row(w, r)
        n += 1
    return n


def to_csv(rep: Report) -> str:
    return render(rep, "csv")


# ---------------------------------------------------------------- Markdown


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~>])")


def md(s: Any) -> str:
    """Untrusted text -> inert Markdown: HTML entities for < > &, backslash for Markdown syntax."""
    if s is None:
        return "—"
    t = html.escape(_text(s, "") or "", quote=False)
    return _MD_SPECIAL.sub(r"\\\1", t)


def md_repo(repo: str, url: str | None) -> str:
    return f"[{md(repo)}]({url})" if url else md(repo)


def _md_table(head: list[str], rows: list[list[Any]], limit: int | None = None, total: int | None = None) -> list[str]:
    if not rows:
        return ["_none_", ""]
    total = len(rows) if total is None else total
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows[:limit]]
    if limit is not None and total > limit:
        out += ["", f"_… and {total - limit} more: `--format csv` lists every repo._"]
    return out + [""]


def to_markdown(rep: Report) -> str:
    t = rep.totals
    out = [f"## inspector report: {md(rep.source)}", ""]
    if rep.filters.get("lineage"):
        out += [f"Filtered to lineage **{md(rep.filters['lineage'])}** (declared or detected).", ""]
    out += [f"**{t['repos']}** repos · **{t['usable']}** inspected · **{t['mismatches']}** disagreements · "
            f"**{t['unknown']}** unknown lineage · **{t['errors']}** errors", ""]
    from .report_study import WEAK, study_md

    out += study_md(rep, rep.study)
    for f, title in (("kind", "Kind"), ("lineage", "Lineage")):
        out += [f"### {title}", ""]
        out += _md_table([f, "declared", "detected"], [[md(s["value"]), s["declared"], s["detected"]] for s in rep.shares[f]])
    out += ["### Layout (the weights' naming scheme) and the model_types that declare it", ""]
    out += _md_table(["layout", "repos", "declared model_type"], [
        [md(s["value"]), s["detected"], md(", ".join(f"{k} {v}" for k, v in s["model_types"].items()))] for s in rep.shares["layout"]])
    out += [f"### Disagreements ({t['mismatches']})", ""]
    out += _md_table(["repo", "declared", "detected", "confidence", "evidence"], [
        [md_repo(d["repo"], d["url"]), f"{md(d['declared_lineage'])} · {md(d['declared_kind'])}",
         f"{md(d['lineage'])} · {md(d['kind'])}", _conf(d["confidence"])
         + (" (weak)" if d["confidence"] is not None and d["confidence"] < WEAK else ""),
         "<br>".join(f"**{md(e['rule'])}** {e['weight']:+.2f}: {md(e['observed'])}" for e in d["evidence"]) or "—"]
        for d in rep.disagreements(MD_LIMIT)], MD_LIMIT, t["mismatches"])
    out += ["### Lineage flows (declared → detected)", ""]
    out += _md_table(["declared", "detected", "repos"], [[md(f["declared"]), md(f["detected"]), f["count"]] for f in rep.flows])
    out += ["### Confidence (lineage)", ""]
    out += _md_table(["confidence", "repos"], [[f"{b['lo']:.1f}–{b['hi']:.1f}", b["count"]] for b in rep.confidence])
    out += [f"### Unknowns ({t['unknown']}): no rule explains the lineage", ""]
    out += _md_table(["layout", "vocab", "repos", "model_type", "examples"], [
        [md(u["layout"]), u["vocab"] if u["vocab"] is not None else "—", u["count"], md(", ".join(u["model_types"])),
         ", ".join(md_repo(x["repo"], x["url"]) for x in u["repos"][:5]) + (f" +{u['count'] - 5} more" if u["count"] > 5 else "")]
        for u in rep.unknowns], MD_LIMIT)
    out += ["### Status", ""]
    out += _md_table(["status", "repos"], [[md(s["status"]), s["count"]] for s in rep.statuses])
    if t["errors"]:
        out += [f"### Errors ({t['errors']})", ""]
        out += _md_table(["repo", "status", "error"], [[md_repo(e["repo"], e["url"]), md(e["status"]), md(e["error"])]
                                                       for e in rep.errors(MD_LIMIT)], MD_LIMIT, t["errors"])
    if rep.authors is not None:
        out += ["### By author", ""]
        out += _md_table(["author", "repos", "inspected", "disagreements", "unknown", "errors", "lineages"], [
            [md(a["author"]), a["repos"], a["usable"], a["mismatches"], a["unknown"], a["errors"],
             md(", ".join(f"{k} {v}" for k, v in a["lineages"].items()))] for a in rep.authors], MD_LIMIT)
    return "\n".join(out)


def _conf(c: float | None) -> str:
    return "—" if c is None else f"{c:.2f}"


# ---------------------------------------------------------------- HTML


def h(s: Any) -> str:
    """Untrusted text -> HTML text or attribute value."""
    return html.escape(_text(s, "") or "", quote=True)


PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
           "#9c755f", "#bab0ac", "#1f77b4", "#8c564b", "#17becf", "#bcbd22", "#7f7f7f", "#d62728"]


def color(name: str) -> str:
    if name in (UNKNOWN, NONE):
        return "#c8c8c8"
    # Stable across runs and reports (hash(), salted per process, would not be).
    return PALETTE[int(hashlib.md5(name.encode(), usedforsecurity=False).hexdigest(), 16) % len(PALETTE)]


CSS = """
*{box-sizing:border-box}body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#1d2330;color:#fff;padding:18px 28px}header h1{margin:0;font-size:20px}header p{margin:4px 0 0;color:#b9c0cc}
main{padding:16px 28px;max-width:1400px}section{background:#fff;border:1px solid #e1e4ea;border-radius:8px;padding:14px 18px;margin:14px 0}
h2{font-size:16px;margin:0 0 10px}.cards{display:flex;gap:12px;flex-wrap:wrap}.card{background:#fff;border:1px solid #e1e4ea;border-radius:8px;padding:10px 16px;min-width:140px}
.card b{display:block;font-size:24px}.card span{color:#5b6475}.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(380px,1fr));gap:14px}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #eceef2;vertical-align:top}
th{background:#f0f2f5;position:sticky;top:0}table.sortable th{cursor:pointer;user-select:none}table.sortable th::after{content:" \\2195";color:#9aa3b2}
th[aria-sort=ascending]::after{content:" \\25B2"}th[aria-sort=descending]::after{content:" \\25BC"}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.ev{font-size:12px;color:#3a4252;margin:0;padding-left:16px}.ev code{background:#f0f2f5;padding:0 3px;border-radius:3px}
.wrap{max-height:560px;overflow:auto}a{color:#2a5db0}.bad{color:#b3261e;font-weight:600}svg text{font:11px system-ui,sans-serif;fill:#1d2330}
.legend span{display:inline-block;margin-right:12px}.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px}
footer{color:#7a8394;font-size:12px;padding:0 28px 20px}
"""

# Sorting: click a header; numbers (data-v or the text) sort as numbers, the rest as text.
JS = """
document.querySelectorAll("table.sortable th").forEach(function(th){th.addEventListener("click",function(){
var t=th.closest("table"),b=t.tBodies[0],i=th.cellIndex,asc=th.getAttribute("aria-sort")!=="ascending";
t.querySelectorAll("th").forEach(function(x){x.removeAttribute("aria-sort")});th.setAttribute("aria-sort",asc?"ascending":"descending");
var key=function(r){var c=r.cells[i],v=c?(c.dataset.v!==undefined?c.dataset.v:c.textContent.trim()):"";var n=Number(v);return v!==""&&!isNaN(n)?[0,n]:[1,v.toLowerCase()]};
var rows=Array.prototype.slice.call(b.rows).map(function(r){return [key(r),r]});
rows.sort(function(x,y){var a=x[0],c=y[0];var d=a[0]-c[0]||(a[1]<c[1]?-1:a[1]>c[1]?1:0);return asc?d:-d});
rows.forEach(function(p){b.appendChild(p[1])})})});
window.addEventListener("load",function(){var ms=performance.now().toFixed(1);document.documentElement.dataset.loadMs=ms;
var o=document.getElementById("load-ms");if(o)o.textContent=ms})
"""


def _svg_bars(items: list[tuple[str, list[int]]], series: list[tuple[str, str]], width: int = 440) -> str:
    """Horizontal grouped bars: one label per line, one bar per series."""
    if not items:
        return "<p>nothing to chart</p>"
    label_w, bar_h, gap = 130, 9, 6
    row_h = bar_h * len(series) + gap
    top = 18
    height = top + row_h * len(items) + 4
    vmax = max(max(v) for _, v in items) or 1
    scale = (width - label_w - 40) / vmax
    parts = [f'<svg class="chart" role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">']
    for k, (name, col) in enumerate(series):
        parts.append(f'<rect x="{label_w + k * 90}" y="2" width="10" height="10" fill="{col}"/><text x="{label_w + k * 90 + 14}" y="11">{h(name)}</text>')
    for i, (label, vals) in enumerate(items):
        y = top + i * row_h
        parts.append(f'<text x="{label_w - 6}" y="{y + row_h / 2 + 1}" text-anchor="end"><title>{h(label)}</title>{h(label[:20])}</text>')
        for k, v in enumerate(vals):
            w = v * scale
            by = y + k * bar_h
            parts.append(f'<rect x="{label_w}" y="{by}" width="{w:.1f}" height="{bar_h - 1}" fill="{series[k][1]}"><title>{h(label)}: {v}</title></rect>'
                         f'<text x="{label_w + w + 3:.1f}" y="{by + bar_h - 1}">{v}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _svg_hist(bins: list[dict[str, Any]], width: int = 440, height: int = 200) -> str:
    vmax = max((b["count"] for b in bins), default=0) or 1
    left, bottom, top = 30, 24, 14
    bw = (width - left - 10) / len(bins)
    parts = [f'<svg class="chart" id="hist" role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">',
             f'<line x1="{left}" y1="{height - bottom}" x2="{width - 10}" y2="{height - bottom}" stroke="#888"/>']
    for i, b in enumerate(bins):
        hgt = (height - bottom - top) * b["count"] / vmax
        x = left + i * bw
        y = height - bottom - hgt
        parts.append(f'<rect x="{x + 2:.1f}" y="{y:.1f}" width="{bw - 4:.1f}" height="{hgt:.1f}" fill="#4e79a7"><title>{b["lo"]:.1f}–{b["hi"]:.1f}: {b["count"]}</title></rect>')
        if b["count"]:
            parts.append(f'<text x="{x + bw / 2:.1f}" y="{y - 3:.1f}" text-anchor="middle">{b["count"]}</text>')
        parts.append(f'<text x="{x + bw / 2:.1f}" y="{height - 8}" text-anchor="middle">{b["lo"]:.1f}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _svg_flows(flows: list[dict[str, Any]], width: int = 900) -> str:
    """Sankey-like: declared lineages left, detected right, a band per flow as wide as its count."""
    if not flows:
        return "<p>nothing to chart</p>"
    left = Counter()
    right = Counter()
    for f in flows:
        left[f["declared"]] += f["count"]
        right[f["detected"]] += f["count"]
    total = sum(left.values())
    pad = 6
    n = max(len(left), len(right))
    height = max(220, min(900, 14 * n + 260))
    unit = (height - 30 - pad * (n - 1)) / total
    node_w, lx, rx = 12, 150, width - 162

    # One order for both sides (by total count): a lineage declared and detected sits at the same height,
    # so honest flows run straight and only the relabelled ones cross.
    order = {k: i for i, k in enumerate(sorted(set(left) | set(right), key=lambda k: (-(left[k] + right[k]), k)))}

    def place(c: Counter) -> dict[str, float]:
        y, pos = 20.0, {}
        for k in sorted(c, key=order.__getitem__):
            pos[k] = y
            y += c[k] * unit + pad
        return pos

    lpos, rpos = place(left), place(right)
    lcur, rcur = dict(lpos), dict(rpos)
    parts = [f'<svg class="chart" id="flows" role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">',
             f'<text x="{lx}" y="12">declared</text><text x="{rx}" y="12">detected</text>']
    # Big flows first so the small ones are drawn on top and stay hoverable.
    for f in sorted(flows, key=lambda f: (-f["count"], f["declared"], f["detected"])):
        hgt = f["count"] * unit
        y0, y1 = lcur[f["declared"]], rcur[f["detected"]]
        lcur[f["declared"]] += hgt
        rcur[f["detected"]] += hgt
        x0, x1, mx = lx + node_w, rx, (lx + node_w + rx) / 2
        d = (f"M{x0},{y0:.1f} C{mx},{y0:.1f} {mx},{y1:.1f} {x1},{y1:.1f} L{x1},{y1 + hgt:.1f} "
             f"C{mx},{y1 + hgt:.1f} {mx},{y0 + hgt:.1f} {x0},{y0 + hgt:.1f} Z")
        changed = f["declared"] != f["detected"] and f["declared"] != NONE and f["detected"] != UNKNOWN
        stroke = ' stroke="#b3261e" stroke-width="1"' if changed else ""
        parts.append(f'<path class="flow" d="{d}" fill="{color(f["detected"])}" fill-opacity="{0.75 if changed else 0.3}"{stroke}>'
                     f'<title>{h(f["declared"])} → {h(f["detected"])}: {f["count"]}</title></path>')
    for side, pos, c, x in (("l", lpos, left, lx), ("r", rpos, right, rx)):
        for k, y in pos.items():
            hgt = max(1.0, c[k] * unit)
            parts.append(f'<rect x="{x}" y="{y:.1f}" width="{node_w}" height="{hgt:.1f}" fill="{color(k)}"><title>{h(k)}: {c[k]}</title></rect>')
            tx, anchor = (x - 4, "end") if side == "l" else (x + node_w + 4, "start")
            parts.append(f'<text x="{tx}" y="{y + hgt / 2 + 4:.1f}" text-anchor="{anchor}">{h(k[:22])} ({c[k]})</text>')
    parts.append("</svg>")
    return "".join(parts)


def _repo_cell(repo: str, url: str | None) -> str:
    return f'<a href="{h(url)}" rel="noopener noreferrer">{h(repo)}</a>' if url else h(repo)


def _table(tid: str, head: list[tuple[str, bool]], rows: list[list[tuple[str, Any]]], sortable: bool = True) -> str:
    """rows: cells as (html, sort key or None); head: (title, numeric)."""
    cls = ' class="sortable"' if sortable else ""
    out = [f'<div class="wrap"><table id="{tid}"{cls}><thead><tr>']
    out += [f'<th{" class=n" if num else ""}>{h(t)}</th>' for t, num in head]
    out.append("</tr></thead><tbody>")
    for r in rows:
        out.append("<tr>")
        for (cell, key), (_, num) in zip(r, head, strict=True):
            dv = f' data-v="{h(key)}"' if key is not None else ""
            out.append(f'<td{" class=n" if num else ""}{dv}>{cell}</td>')
        out.append("</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


def _more(n: int) -> str:
    return f"<p>… and {n - HTML_LIMIT} more: <code>--format csv</code> lists every repo.</p>" if n > HTML_LIMIT else ""


def _num(v: int | float | None, fmt: str = "{}") -> tuple[str, Any]:
    return ("—", -1) if v is None else (fmt.format(v), v)


def to_html(rep: Report) -> str:
    t = rep.totals
    from .report_study import CSS as STUDY_CSS
    from .report_study import JS as STUDY_JS
    from .report_study import WEAK, header_items, study_html

    script = JS.strip() + "\n" + STUDY_JS.strip()
    # The CSP allows our script alone (by hash) and no network: markup that slipped through would not run.
    sha = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    csp = f"default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'sha256-{sha}'"
    title = f"inspector report: {rep.source}"
    body = [f'<header><h1>{h(title)}</h1><p>'
            + (f'lineage filter <b>{h(rep.filters["lineage"])}</b> (declared or detected) · ' if rep.filters.get("lineage") else "")
            + " · ".join(f"{h(k)} {h(v)}" for k, v in header_items(rep.meta)) + "</p></header><main>"]
    study_top, study_body = study_html(rep, rep.study, rep.links)
    body.append(study_top)
    cards = [("repos", t["repos"]), ("inspected", t["usable"]), ("disagreements", t["mismatches"]),
             ("unknown lineage", t["unknown"]), ("errors", t["errors"])]
    body.append('<div class="cards" id="totals">' + "".join(
        f'<div class="card" data-key="{h(k)}"><b>{v}</b><span>{h(k)}</span></div>' for k, v in cards) + "</div>")

    # Shares
    ser = [("declared", "#bab0ac"), ("detected", "#4e79a7")]
    grid = []
    for f, title_ in (("kind", "Kind"), ("lineage", "Lineage")):
        sh = rep.shares[f]
        grid.append(f'<div><h2>{h(title_)}</h2>'
                    + _svg_bars([(s["value"], [s["declared"], s["detected"]]) for s in sh[:15]], ser)
                    + _table(f"share-{f}", [(f, False), ("declared", True), ("detected", True)],
                             [[(h(s["value"]), None), _num(s["declared"]), _num(s["detected"])] for s in sh]) + "</div>")
    lay = rep.shares["layout"]
    grid.append('<div><h2>Layout: the weights\' naming scheme, and the model_types that declare it</h2>'
                + _svg_bars([(s["value"], [s["detected"]]) for s in lay[:15]], [("detected", "#4e79a7")])
                + _table("share-layout", [("layout", False), ("repos", True), ("declared model_type", False)],
                         [[(h(s["value"]), None), _num(s["detected"]),
                           (h(", ".join(f"{k} {v}" for k, v in s["model_types"].items())), None)] for s in lay]) + "</div>")
    body.append('<section id="shares"><div class="grid">' + "".join(grid) + "</div></section>")
    body.append(study_body)

    # Disagreements
    drows = []
    for d in rep.disagreements(HTML_LIMIT):
        weak = d["confidence"] is not None and d["confidence"] < WEAK
        ev = "".join(f'<li><code>{h(e["rule"])}</code> {e["weight"]:+.2f} {h(e["field"])}={h(e["value"])}: {h(e["observed"])}</li>'
                     for e in d["evidence"])
        drows.append([(_repo_cell(d["repo"], d["url"]), d["repo"].lower()), (h(d["author"]), None),
                      (f'{h(d["declared_lineage"] or "—")} · {h(d["declared_kind"] or "—")}', None),
                      (f'<span class="bad{" weak" if weak else ""}">{h(d["lineage"])}</span> · {h(d["kind"])}'
                       + ('<span class="tag">weak evidence</span>' if weak else ""), None),
                      _num(d["confidence"], "{:.2f}"), (f'<ul class="ev">{ev}</ul>', None)])
    body.append(f'<section id="disagreements"><h2>Disagreements ({t["mismatches"]}): the declared tags imply another lineage or kind than the evidence</h2>'
                + f'<p class="legend">A detected lineage in red is a strong disagreement; <span class="bad weak">dashed amber</span> '
                  f'<span class="tag">weak evidence</span> marks one whose confidence is below {WEAK}.</p>'
                + _table("disagreements-table", [("repo", False), ("author", False), ("declared", False), ("detected", False),
                                                 ("confidence", True), ("evidence", False)], drows)
                + _more(t["mismatches"]) + "</section>")

    # Flows + confidence
    body.append('<section id="flows-section"><h2>Lineage flows: declared → detected</h2>'
                '<p class="legend"><span><i style="border:1px solid #b3261e"></i>red-outlined bands: the evidence says another lineage</span></p>'
                + _svg_flows(rep.flows)
                + _table("flows-table", [("declared", False), ("detected", False), ("repos", True)],
                         [[(h(f["declared"]), None), (h(f["detected"]), None), _num(f["count"])] for f in rep.flows]) + "</section>")
    body.append('<section id="confidence"><div class="grid"><div><h2>Confidence (lineage)</h2>' + _svg_hist(rep.confidence) + "</div><div>"
                + _table("confidence-table", [("confidence", False), ("repos", True)],
                         [[(f'{b["lo"]:.1f}–{b["hi"]:.1f}', b["lo"]), _num(b["count"])] for b in rep.confidence]) + "</div></div></section>")

    # Unknowns
    urows = []
    for u in rep.unknowns:
        ex = ", ".join(_repo_cell(x["repo"], x["url"]) for x in u["repos"][:8]) + (f" +{u['count'] - 8} more" if u["count"] > 8 else "")
        urows.append([(h(u["layout"]), None), _num(u["vocab"]), _num(u["count"]), (h(", ".join(u["model_types"])), None), (ex, None)])
    body.append(f'<section id="unknowns"><h2>Unknowns ({t["unknown"]}): no rule explains the lineage, by layout and vocab size</h2>'
                + _table("unknowns-table", [("layout", False), ("vocab", True), ("repos", True), ("model_type", False), ("examples", False)], urows)
                + "</section>")

    # Status and errors
    body.append('<section id="errors"><div class="grid"><div><h2>Status</h2>'
                + _table("status-table", [("status", False), ("repos", True)], [[(h(s["status"]), None), _num(s["count"])] for s in rep.statuses])
                + f'</div><div><h2>Errors ({t["errors"]})</h2>'
                + _table("errors-table", [("repo", False), ("status", False), ("error", False)],
                         [[(_repo_cell(e["repo"], e["url"]), h(e["repo"]).lower()), (h(e["status"]), None), (h(e["error"] or ""), None)]
                          for e in rep.errors(HTML_LIMIT)]) + _more(t["errors"])
                + "</div></div></section>")
    if rep.authors is not None:
        body.append('<section id="authors"><h2>By author</h2>' + _table("authors-table", [
            ("author", False), ("repos", True), ("inspected", True), ("disagreements", True), ("unknown", True), ("errors", True), ("lineages", False)],
            [[(h(a["author"]), None), _num(a["repos"]), _num(a["usable"]), _num(a["mismatches"]), _num(a["unknown"]), _num(a["errors"]),
              (h(", ".join(f"{k} {v}" for k, v in a["lineages"].items())), None)] for a in rep.authors[:HTML_LIMIT]])
            + _more(len(rep.authors)) + "</section>")
    body.append('</main><footer>generated by inspector report · rendered in <output id="load-ms">…</output> ms</footer>')
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f'<meta http-equiv="Content-Security-Policy" content="{h(csp)}">'
            '<meta name="viewport" content="width=device-width,initial-scale=1">'
            f"<title>{h(title)}</title><style>{CSS.strip()}{STUDY_CSS.strip()}</style></head><body>"
            + "".join(body) + f"<script>{script}</script></body></html>\n")
