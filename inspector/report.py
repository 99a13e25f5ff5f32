"""An audit database -> one report: shares, disagreements, lineage flows, confidence, unknowns, errors.

The database is the one `inspector audit` writes (table `results`, one row per repo and sha, the full
inspection JSON in `verdict`; table `meta`). The report reads the verdict JSON for what only it holds
(evidence, declared model_type, vocab) and the columns otherwise; both are untrusted input: every
string is coerced and escaped by the renderers, never interpreted.

Renderers: HTML (one self-contained page), Markdown (an issue comment), CSV and JSON (pandas, DuckDB).
"""

from __future__ import annotations

import base64
import csv
import hashlib
import html
import io
import json
import math
import re
import sqlite3
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .errors import InvalidData, UsageError

FORMATS = ("html", "md", "csv", "json")
USABLE = ("ok", "no_config", "no_weights_metadata")  # the statuses that carry a detection (Verdict.ok)
UNKNOWN = "unknown"
NONE = "(none)"  # a repo that declares nothing for a field
TOP_EVIDENCE = 3
BINS = 10
# Hub ids only: anything else (a local path, a forged id) is shown as plain text, never as a link.
HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,95}/[A-Za-z0-9][A-Za-z0-9_.-]{0,95}$")
VOCAB_RE = re.compile(r"\bvocab_size\s*[=:]\s*(\d+)")
MAX_TEXT = 400  # hostile rows could carry megabytes in one field; the report shows a line, not a file
# Long lists are cut in the human formats (an issue comment holds 65,536 characters; a page with 100k
# rows stops being one): the cut says how many more, and CSV/JSON always carry every repo.
MD_LIMIT = 50
HTML_LIMIT = 3000


# ---------------------------------------------------------------- rows


@dataclass
class Evidence:
    rule: str
    field: str
    value: str
    observed: str
    weight: float


@dataclass
class Row:
    repo: str
    sha: str
    status: str
    error: str | None
    kind: str
    layout: str
    lineage: str
    base: str | None
    confidence: float | None
    mismatch: bool
    declared_lineage: str | None
    declared_kind: str | None
    declared_model_type: str | None
    author: str
    vocab: int | None
    evidence: list[Evidence] = field(default_factory=list)
    finished_at: str = ""
    local: bool = False  # a folder or file: "samples/x" looks like a Hub id but must not become a link

    @property
    def usable(self) -> bool:
        return self.status in USABLE

    @property
    def url(self) -> str | None:
        return None if self.local else hub_url(self.repo)


def hub_url(repo: str) -> str | None:
    name, _, rev = repo.partition("@")
    if not HUB_ID.match(name) or ".." in name:
        return None
    url = f"https://huggingface.co/{name}"
    if rev and re.fullmatch(r"[A-Za-z0-9_.-]{1,100}", rev):
        url += f"/tree/{rev}"
    return url


def _text(v: Any, default: str | None = None) -> str | None:
    """Any JSON or column value -> one bounded line of text (or the default for null/empty)."""
    if v is None or v == "":
        return default
    s = v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, default=str)
    s = " ".join(s.split())
    return s[:MAX_TEXT] + "…" if len(s) > MAX_TEXT else s


def _float(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _vocab(verdict: dict[str, Any], evidence: list[dict[str, Any]]) -> int | None:
    # A future schema may carry facts; today the vocab size shows up in the evidence's observed values.
    for holder in (verdict, verdict.get("facts") if isinstance(verdict.get("facts"), dict) else {}):
        v = holder.get("vocab_size")
        if isinstance(v, int) and not isinstance(v, bool) and v > 0:
            return v
    for e in evidence:
        m = VOCAB_RE.search(str(e.get("observed", "")))
        if m and len(m.group(1)) < 10:
            return int(m.group(1))
    return None


def author_of(repo: str, local: bool = False) -> str:
    name = repo.partition("@")[0]
    return name.split("/", 1)[0] if HUB_ID.match(name) and not local else "(local)"


def row_from(rec: sqlite3.Row) -> Row:
    try:
        verdict = json.loads(rec["verdict"] or "{}")
    except (ValueError, RecursionError, TypeError):
        verdict = {}  # a broken verdict still counts by its columns
    if not isinstance(verdict, dict):
        verdict = {}
    declared = verdict.get("declared") if isinstance(verdict.get("declared"), dict) else {}
    raw_ev = [e for e in verdict.get("evidence") or [] if isinstance(e, dict)] if isinstance(verdict.get("evidence"), list) else []

    def col(name: str, *fallback: Any) -> Any:
        v = rec[name]
        if v is not None:
            return v
        for f in fallback:
            if f is not None:
                return f
        return None

    repo = _text(rec["repo"], "") or ""
    mismatch = col("mismatch", verdict.get("mismatch"))
    return Row(
        repo=repo,
        sha=_text(rec["sha"], "") or "",
        status=_text(col("status", verdict.get("status")), UNKNOWN),
        error=_text(col("error", verdict.get("error"))),
        kind=_text(col("kind", verdict.get("kind")), UNKNOWN),
        layout=_text(col("layout", verdict.get("layout")), UNKNOWN),
        lineage=_text(col("lineage", verdict.get("lineage")), UNKNOWN),
        base=_text(col("base", verdict.get("base"))),
        confidence=_float(col("confidence", verdict.get("confidence"))),
        mismatch=bool(mismatch) if not isinstance(mismatch, str) else mismatch.lower() in ("1", "true"),
        declared_lineage=_text(col("declared_lineage", declared.get("lineage"))),
        declared_kind=_text(col("declared_kind", declared.get("kind"))),
        declared_model_type=_text(declared.get("model_type")),
        author=_text(rec["author"]) or author_of(repo, verdict.get("source") == "local"),
        vocab=_vocab(verdict, raw_ev),
        evidence=[Evidence(_text(e.get("rule"), "?"), _text(e.get("field"), "?"), _text(e.get("value"), "?"),
                           _text(e.get("observed"), "") or "", _float(e.get("weight")) or 0.0) for e in raw_ev[:50]],
        finished_at=_text(rec["finished_at"], "") or "",
        local=verdict.get("source") == "local",
    )


def load(db: str | Path) -> tuple[list[Row], dict[str, str]]:
    """Rows (the newest result per repo) and the meta table. Opened read-only: a live audit may be writing."""
    path = Path(db)
    if not path.is_file():
        raise UsageError(f"{db}: no such audit database")
    try:
        con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as e:
        raise InvalidData(f"{db}: cannot open: {e}") from e
    con.row_factory = sqlite3.Row
    try:
        cols = {r["name"] for r in con.execute("PRAGMA table_info(results)")}
        need = {"repo", "sha", "status", "verdict"}
        if not need <= cols:
            raise InvalidData(f"{db}: not an inspector audit database (table results with {', '.join(sorted(need))})")
        # Columns a writer may not have yet are read as null: the verdict JSON fills them in.
        wanted = ["repo", "sha", "status", "error", "kind", "layout", "lineage", "base", "confidence", "mismatch",
                  "declared_lineage", "declared_kind", "author", "verdict", "finished_at"]
        select = ", ".join(c if c in cols else f"NULL AS {c}" for c in wanted)
        latest: dict[str, tuple[tuple[str, int], Row]] = {}
        for rec in con.execute(f"SELECT rowid AS rowid_, {select} FROM results"):
            r = row_from(rec)
            # One repo audited at several commits counts once: its newest result (the store's own rule:
            # latest finished_at, then the last written).
            key = (r.finished_at, rec["rowid_"] or 0)
            old = latest.get(r.repo)
            if old is None or key > old[0]:
                latest[r.repo] = (key, r)
        meta: dict[str, str] = {}
        if con.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'").fetchone():
            meta = {_text(k, "") or "": _text(v, "") or "" for k, v in con.execute("SELECT key, value FROM meta")}
    except sqlite3.DatabaseError as e:
        raise InvalidData(f"{db}: not a readable SQLite database: {e}") from e
    finally:
        con.close()
    return sorted((r for _, r in latest.values()), key=lambda r: r.repo), meta


# ---------------------------------------------------------------- the report


@dataclass
class Report:
    source: str
    meta: dict[str, str]
    filters: dict[str, str | None]
    totals: dict[str, int]
    shares: dict[str, list[dict[str, Any]]]  # field -> [{value, declared, detected}]
    disagreements: list[dict[str, Any]]
    flows: list[dict[str, Any]]  # [{declared, detected, count}]
    confidence: list[dict[str, Any]]  # [{lo, hi, count}]
    unknowns: list[dict[str, Any]]  # [{layout, vocab, count, model_types, repos}]
    statuses: list[dict[str, Any]]  # [{status, count}]
    errors: list[dict[str, Any]]  # [{repo, url, status, error}]
    authors: list[dict[str, Any]] | None
    rows: list[Row]

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["rows"] = [flat(r) for r in self.rows]
        return d


def flat(r: Row) -> dict[str, Any]:
    """One repo as a flat record (CSV and JSON): everything a dataframe needs to recount the report."""
    top = supporting(r)
    return {
        "repo": r.repo, "url": r.url, "author": r.author, "sha": r.sha, "status": r.status, "error": r.error,
        "kind": r.kind, "layout": r.layout, "lineage": r.lineage, "base": r.base, "confidence": r.confidence,
        "mismatch": r.mismatch, "declared_lineage": r.declared_lineage, "declared_kind": r.declared_kind,
        "declared_model_type": r.declared_model_type, "vocab": r.vocab,
        "unknown": r.usable and r.lineage == UNKNOWN,
        "top_evidence": " | ".join(f"{e.rule} ({e.weight:+.2f}): {e.observed}" for e in top),
    }


def disagreeing_fields(r: Row) -> list[str]:
    out = []
    if r.declared_lineage and r.lineage != UNKNOWN and r.declared_lineage != r.lineage:
        out.append("lineage")
    if r.declared_kind and r.kind != UNKNOWN and r.declared_kind != r.kind:
        out.append("kind")
    return out


def supporting(r: Row, n: int = TOP_EVIDENCE) -> list[Evidence]:
    """The strongest evidence for what was detected in the disagreeing fields (else the strongest at all)."""
    fields = disagreeing_fields(r) or ["lineage", "kind"]
    want = {(f, getattr(r, f)) for f in fields}
    pro = [e for e in r.evidence if (e.field, e.value) in want and e.weight > 0]
    pro.sort(key=lambda e: -e.weight)
    return (pro or sorted(r.evidence, key=lambda e: -abs(e.weight)))[:n]


def _share(rows: list[Row], declared_of, detected_of) -> list[dict[str, Any]]:
    dec = Counter(declared_of(r) or NONE for r in rows)
    det = Counter(detected_of(r) or UNKNOWN for r in rows)
    values = sorted(set(dec) | set(det), key=lambda v: (-(det[v] + dec[v]), v))
    return [{"value": v, "declared": dec[v], "detected": det[v]} for v in values]


def build(rows: list[Row], meta: dict[str, str] | None = None, *, source: str = "",
          by: str | None = None, lineage: str | None = None) -> Report:
    if by not in (None, "author"):
        raise UsageError(f"--by must be 'author', not {by!r}")
    if lineage:
        # Everything that comes from or goes to the lineage: its flows in and out stay visible.
        rows = [r for r in rows if lineage in (r.lineage, r.declared_lineage)]
    usable = [r for r in rows if r.usable]
    failed = [r for r in rows if not r.usable]
    mism = [r for r in usable if r.mismatch]
    unknown = [r for r in usable if r.lineage == UNKNOWN]

    shares = {
        "kind": _share(usable, lambda r: r.declared_kind, lambda r: r.kind),
        # Nothing declares a layout: the nearest claim is config.json's model_type.
        "layout": _share(usable, lambda r: r.declared_model_type, lambda r: r.layout),
        "lineage": _share(usable, lambda r: r.declared_lineage, lambda r: r.lineage),
    }
    disagreements = []
    for r in sorted(mism, key=lambda r: (-(r.confidence or 0), r.repo)):
        disagreements.append({
            "repo": r.repo, "url": r.url, "author": r.author, "fields": disagreeing_fields(r),
            "declared_lineage": r.declared_lineage, "lineage": r.lineage,
            "declared_kind": r.declared_kind, "kind": r.kind, "confidence": r.confidence,
            "evidence": [asdict(e) for e in supporting(r)],
        })
    flows = Counter((r.declared_lineage or NONE, r.lineage) for r in usable)
    flow_list = [{"declared": d, "detected": t, "count": c}
                 for (d, t), c in sorted(flows.items(), key=lambda kv: (-kv[1], kv[0]))]
    bins = [0] * BINS
    for r in usable:
        if r.confidence is not None:
            bins[min(BINS - 1, max(0, int(r.confidence * BINS)))] += 1
    hist = [{"lo": i / BINS, "hi": (i + 1) / BINS, "count": c} for i, c in enumerate(bins)]

    groups: dict[tuple[str, int | None], list[Row]] = defaultdict(list)
    for r in unknown:
        groups[(r.layout, r.vocab)].append(r)
    unknowns = [{"layout": lay, "vocab": voc, "count": len(rs),
                 "model_types": [m for m, _ in Counter(r.declared_model_type or NONE for r in rs).most_common(3)],
                 "repos": [{"repo": r.repo, "url": r.url} for r in rs]}
                for (lay, voc), rs in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0][0], kv[0][1] or 0))]
    statuses = [{"status": s, "count": c} for s, c in sorted(Counter(r.status for r in rows).items(), key=lambda kv: (-kv[1], kv[0]))]
    errors = [{"repo": r.repo, "url": r.url, "status": r.status, "error": r.error} for r in sorted(failed, key=lambda r: (r.status, r.repo))]

    authors = None
    if by == "author":
        per: dict[str, list[Row]] = defaultdict(list)
        for r in rows:
            per[r.author].append(r)
        authors = []
        for a, rs in sorted(per.items(), key=lambda kv: (-len(kv[1]), kv[0])):
            us = [r for r in rs if r.usable]
            authors.append({
                "author": a, "repos": len(rs), "usable": len(us), "mismatches": sum(r.mismatch for r in us),
                "unknown": sum(r.lineage == UNKNOWN for r in us), "errors": len(rs) - len(us),
                "lineages": dict(Counter(r.lineage for r in us).most_common(5)),
            })
    totals = {"repos": len(rows), "usable": len(usable), "mismatches": len(mism),
              "unknown": len(unknown), "errors": len(failed)}
    return Report(source=source, meta=meta or {}, filters={"by": by, "lineage": lineage}, totals=totals,
                  shares=shares, disagreements=disagreements, flows=flow_list, confidence=hist,
                  unknowns=unknowns, statuses=statuses, errors=errors, authors=authors, rows=rows)


def report(db: str | Path, *, by: str | None = None, lineage: str | None = None) -> Report:
    rows, meta = load(db)
    return build(rows, meta, source=Path(db).name, by=by, lineage=lineage)


def render(rep: Report, fmt: str) -> str:
    if fmt not in FORMATS:
        raise UsageError(f"--format must be one of {', '.join(FORMATS)}")
    return {"html": to_html, "md": to_markdown, "csv": to_csv, "json": to_json}[fmt](rep)


# ---------------------------------------------------------------- JSON, CSV


def to_json(rep: Report) -> str:
    return json.dumps(rep.to_dict(), ensure_ascii=False, indent=1)


CSV_FIELDS = list(flat(Row("", "", "", None, "", "", "", None, None, False, None, None, None, "", None)).keys())


def to_csv(rep: Report) -> str:
    """One line per repo (after the filter): pandas/DuckDB recount every table of the report from it."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_FIELDS, lineterminator="\n")
    w.writeheader()
    for r in rep.rows:
        rec = flat(r)
        # A cell starting with = + - @ would be a formula in a spreadsheet: hostile repos must not run one.
        w.writerow({k: ("'" + v if isinstance(v, str) and v[:1] in ("=", "+", "-", "@", "\t", "\r") else v)
                    for k, v in rec.items()})
    return buf.getvalue()


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


def _md_table(head: list[str], rows: list[list[Any]], limit: int | None = None) -> list[str]:
    if not rows:
        return ["_none_", ""]
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows[:limit]]
    if limit is not None and len(rows) > limit:
        out += ["", f"_… and {len(rows) - limit} more: `--format csv` lists every repo._"]
    return out + [""]


def to_markdown(rep: Report) -> str:
    t = rep.totals
    out = [f"## inspector report: {md(rep.source)}", ""]
    if rep.filters.get("lineage"):
        out += [f"Filtered to lineage **{md(rep.filters['lineage'])}** (declared or detected).", ""]
    out += [f"**{t['repos']}** repos · **{t['usable']}** inspected · **{t['mismatches']}** disagreements · "
            f"**{t['unknown']}** unknown lineage · **{t['errors']}** errors", ""]
    for f, title in (("kind", "Kind"), ("layout", "Layout (declared = config model_type)"), ("lineage", "Lineage")):
        out += [f"### {title}", ""]
        out += _md_table([f, "declared", "detected"], [[md(s["value"]), s["declared"], s["detected"]] for s in rep.shares[f]])
    out += [f"### Disagreements ({len(rep.disagreements)})", ""]
    out += _md_table(["repo", "declared", "detected", "confidence", "evidence"], [
        [md_repo(d["repo"], d["url"]), f"{md(d['declared_lineage'])} · {md(d['declared_kind'])}",
         f"{md(d['lineage'])} · {md(d['kind'])}", _conf(d["confidence"]),
         "<br>".join(f"**{md(e['rule'])}** {e['weight']:+.2f}: {md(e['observed'])}" for e in d["evidence"]) or "—"]
        for d in rep.disagreements], MD_LIMIT)
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
    if rep.errors:
        out += [f"### Errors ({len(rep.errors)})", ""]
        out += _md_table(["repo", "status", "error"], [[md_repo(e["repo"], e["url"]), md(e["status"]), md(e["error"])] for e in rep.errors], MD_LIMIT)
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
    script = JS.strip()
    # The CSP allows our script alone (by hash) and no network: markup that slipped through would not run.
    sha = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    csp = f"default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'sha256-{sha}'"
    title = f"inspector report: {rep.source}"
    body = [f'<header><h1>{h(title)}</h1><p>'
            + (f'lineage filter <b>{h(rep.filters["lineage"])}</b> (declared or detected) · ' if rep.filters.get("lineage") else "")
            + " · ".join(f"{h(k)} {h(v)}" for k, v in sorted(rep.meta.items())[:8]) + "</p></header><main>"]
    cards = [("repos", t["repos"]), ("inspected", t["usable"]), ("disagreements", t["mismatches"]),
             ("unknown lineage", t["unknown"]), ("errors", t["errors"])]
    body.append('<div class="cards" id="totals">' + "".join(
        f'<div class="card" data-key="{h(k)}"><b>{v}</b><span>{h(k)}</span></div>' for k, v in cards) + "</div>")

    # Shares
    ser = [("declared", "#bab0ac"), ("detected", "#4e79a7")]
    grid = []
    for f, title_ in (("kind", "Kind"), ("layout", "Layout (declared = config model_type)"), ("lineage", "Lineage")):
        sh = rep.shares[f]
        grid.append(f'<div><h2>{h(title_)}</h2>'
                    + _svg_bars([(s["value"], [s["declared"], s["detected"]]) for s in sh[:15]], ser)
                    + _table(f"share-{f}", [(f, False), ("declared", True), ("detected", True)],
                             [[(h(s["value"]), None), _num(s["declared"]), _num(s["detected"])] for s in sh]) + "</div>")
    body.append('<section id="shares"><div class="grid">' + "".join(grid) + "</div></section>")

    # Disagreements
    drows = []
    for d in rep.disagreements[:HTML_LIMIT]:
        ev = "".join(f'<li><code>{h(e["rule"])}</code> {e["weight"]:+.2f} {h(e["field"])}={h(e["value"])}: {h(e["observed"])}</li>'
                     for e in d["evidence"])
        drows.append([(_repo_cell(d["repo"], d["url"]), d["repo"].lower()), (h(d["author"]), None),
                      (f'{h(d["declared_lineage"] or "—")} · {h(d["declared_kind"] or "—")}', None),
                      (f'<span class="bad">{h(d["lineage"])}</span> · {h(d["kind"])}', None),
                      _num(d["confidence"], "{:.2f}"), (f'<ul class="ev">{ev}</ul>', None)])
    body.append(f'<section id="disagreements"><h2>Disagreements ({len(rep.disagreements)}): the declared tags imply another lineage or kind than the evidence</h2>'
                + _table("disagreements-table", [("repo", False), ("author", False), ("declared", False), ("detected", False),
                                                 ("confidence", True), ("evidence", False)], drows)
                + _more(len(rep.disagreements)) + "</section>")

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
                + f'</div><div><h2>Errors ({len(rep.errors)})</h2>'
                + _table("errors-table", [("repo", False), ("status", False), ("error", False)],
                         [[(_repo_cell(e["repo"], e["url"]), e["repo"].lower()), (h(e["status"]), None), (h(e["error"] or ""), None)] for e in rep.errors[:HTML_LIMIT]]) + _more(len(rep.errors))
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
            f"<title>{h(title)}</title><style>{CSS.strip()}</style></head><body>"
            + "".join(body) + f"<script>{script}</script></body></html>\n")
