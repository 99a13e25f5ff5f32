"""The study's part of the report: headline, methods, claims checked, shares by count and downloads,
trends by month, and the full table of repos with its files (CSV / JSON / Parquet) beside it.

Numbers come from inspector/study.py (SQL); this module only renders them. Every string from a
repo is made inert by report.h / report.md.
"""

from __future__ import annotations

import base64
import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from . import __version__
from .inert import json_safe_deep, spreadsheet_safe
from .report import HTML_LIMIT, MD_LIMIT, Report, _md_table, color, h, hub_url, md, md_repo
from .study import RELEASE, Study, meta_json

WEAK = 0.5  # a disagreement below this confidence is shown as weak
ROW_FIELDS = ["repo", "url", "author", "status", "kind", "declared_kind", "lineage", "declared_lineage", "confidence",
              "mismatch", "downloads", "created", "attention", "moe", "context", "vocab", "params_total"]
TABLE_COLS = [("repo", False), ("author", False), ("kind", False), ("lineage", False), ("declared lineage", False),
              ("confidence", True), ("downloads", True), ("created", False), ("attention", False), ("moe", False),
              ("context", False), ("vocab", False)]
# Meta keys shown in the header, with the words a reader understands; the others are the runner's own.
META_LABELS = {"run.population": "population", "run.started": "audit started", "run.state": "audit",
               "run.tool": "tool", "run.rules": "rules", "run.endpoint": "Hub"}
STATE_WORDS = {"done": "finished", "running": "unfinished (resume it)"}


def header_items(meta: dict[str, str]) -> list[tuple[str, str]]:
    """(label, value) for the report's header line, in reading order."""
    out = []
    for k, label in META_LABELS.items():
        v = meta.get(k)
        if v:
            out.append((label, STATE_WORDS.get(v, v) if k == "run.state" else (v[:19].replace("T", " ") if k == "run.started" else v)))
    return out


def pct(k: float, n: float) -> str:
    return f"{100 * k / n:.1f}%" if n else "—"


# ---------------------------------------------------------------- rows


def rows(rep: Report, limit: int | None = None) -> Iterator[dict[str, Any]]:
    """The study's row per repo (the table and its CSV / JSON files): newest row of each repo, most
    downloaded first."""
    sql = ("SELECT cur.repo, cur.sha, cur.author, cur.status, cur.kind, cur.declared_kind, cur.lineage, cur.declared_lineage, "
           "cur.confidence, cur.mismatch, cur.usable, st.dl, st.month, st.traits, st.created "
           "FROM cur LEFT JOIN st ON st.rid = cur.rid "
           "ORDER BY coalesce(st.dl, -1) DESC, cur.repo" + (f" LIMIT {int(limit)}" if limit is not None else ""))
    seen: dict[Any, dict[str, Any]] = {}  # repos share trait sets: each one is parsed once
    with rep.store._guard():
        cur = rep.store.db.execute(sql)
        try:
            while batch := cur.fetchmany(500):
                for (repo, sha, author, status, kind, dkind, lin, dlin, conf, mism, usable, dl, _m, traits, created) in batch:
                    t = seen.get(traits)
                    if t is None:
                        t = _trait_cells(traits)
                        if len(seen) < 100_000:
                            seen[traits] = t
                    local = str(sha or "").startswith("local:")
                    yield {"repo": repo, "url": None if local else hub_url(repo, rep.hub), "author": author, "status": status,
                           "kind": kind if usable else None, "declared_kind": dkind, "lineage": lin if usable else None,
                           "declared_lineage": dlin, "confidence": conf, "mismatch": bool(mism) if usable else False,
                           "downloads": dl, "created": str(created)[:10] if created else None,
                           **t}
        finally:
            cur.close()


def _trait_cells(traits: str | None) -> dict[str, Any]:
    try:
        t = json.loads(traits) if traits else {}
    except ValueError:
        t = {}
    if not isinstance(t, dict):
        t = {}
    return {"attention": t.get("attention"), "moe": t.get("moe"), "context": t.get("context"),
            "vocab": t.get("vocab.vocab_size"), "params_total": t.get("params.total")}


def write_rows(rep: Report, outs: dict[str, Any]) -> int:
    """Every repo's study row into each of `outs` (fmt -> a text file for csv and json, a path for
    parquet, which needs pyarrow), in one pass over the rows; returns the count."""
    csv_w = None
    if "csv" in outs:
        csv_w = csv.writer(outs["csv"], lineterminator="\n")
        csv_w.writerow(ROW_FIELDS)
    js = outs.get("json")
    batch: list[dict[str, Any]] | None = [] if "parquet" in outs else None
    if js is not None:
        js.write("[")
    n = 0
    for r in rows(rep):
        if csv_w is not None:
            # The one formula guard; surrogates are escaped by the file's error handler.
            csv_w.writerow([spreadsheet_safe(r[k]) for k in ROW_FIELDS])
        if js is not None:
            # ASCII: a lone surrogate from a repo stays a valid JSON escape.
            js.write(("," if n else "") + "\n" + json.dumps(r))
        if batch is not None:
            batch.append(json_safe_deep(r))
        n += 1
    if js is not None:
        js.write("\n]\n")
    if batch is not None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.Table.from_pylist(batch), outs["parquet"])
    return n


def have_parquet() -> bool:
    try:
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        return False
    return True


def write_beside(rep: Report, output: Path) -> dict[str, str]:
    """The rows' files next to an HTML report (`report.rows.csv`, ...): fmt -> relative link."""
    import contextlib

    fmts = ("csv", "json", *(("parquet",) if have_parquet() else ()))
    paths = {f: output.with_name(f"{output.stem}.rows.{f}") for f in fmts}
    tmps = {f: p.with_name(f".{p.name}.tmp") for f, p in paths.items()}
    with contextlib.ExitStack() as stack:
        outs: dict[str, Any] = {f: stack.enter_context(open(tmps[f], "w", encoding="utf-8", newline="", errors="backslashreplace"))
                                for f in fmts if f != "parquet"}
        if "parquet" in fmts:
            outs["parquet"] = str(tmps["parquet"])
        write_rows(rep, outs)
    for f in fmts:
        tmps[f].replace(paths[f])
    return {f: p.name for f, p in paths.items()}


def inline_links(rep: Report) -> dict[str, str]:
    """data: links for a small audit printed to standard output (no file beside it to link to)."""
    bufs = {"csv": io.StringIO(), "json": io.StringIO()}
    write_rows(rep, bufs)
    mime = {"csv": "text/csv", "json": "application/json"}
    return {f: f"data:{mime[f]};base64," + base64.b64encode(b.getvalue().encode("utf-8", "backslashreplace")).decode()
            for f, b in bufs.items()}


# ---------------------------------------------------------------- HTML

CSS = """
#headline{font-size:17px;font-weight:600;margin:14px 0}.methods dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:0}
.methods dt{font-weight:600;color:#3a4252}.methods dd{margin:0}.verdict{font-weight:600}.v-yes{color:#1e7b34}.v-no{color:#b3261e}.v-rough{color:#a06000}
.pbar{display:inline-block;height:8px;background:#4e79a7;border-radius:2px;vertical-align:middle;margin-right:6px;max-width:100%}
.pbar.dl{background:#f28e2b}td .pct{color:#5b6475}.filters input{width:100%;min-width:50px;font:12px system-ui;padding:1px 3px}
#repo-search{font:14px system-ui;padding:4px 8px;width:320px;max-width:100%;margin:0 12px 8px 0}.downloads a{margin-right:10px}
svg.chart{max-width:100%;height:auto}.grid>.wide{grid-column:1/-1}#study-shares .pct{white-space:nowrap}.weak{color:#a06000;font-weight:400;border-bottom:1px dashed #a06000}.tag{font-size:11px;padding:0 4px;border-radius:3px;background:#fdf0d5;color:#7a4d00;margin-left:4px}
@media print{.wrap{max-height:none!important;overflow:visible!important}th{position:static!important}header{background:none!important;color:#000!important}
header p{color:#333!important}body{background:#fff}section{break-inside:auto;border:none;padding:4px 0}tr{break-inside:avoid}
#repo-search,.filters,.downloads{display:none}tr[hidden]{display:table-row!important}main{max-width:none;padding:0}}
"""

JS = """
;(function(){var t=document.getElementById("repos-table");if(!t)return;var q=document.getElementById("repo-search"),fs=t.querySelectorAll(".filters input"),out=document.getElementById("repos-shown");
function run(){var s=q.value.toLowerCase(),n=0,f=[];Array.prototype.forEach.call(fs,function(i){if(i.value)f.push([Number(i.dataset.col),i.value.toLowerCase()])});
Array.prototype.forEach.call(t.tBodies[0].rows,function(r){var ok=(!s||r.textContent.toLowerCase().indexOf(s)>=0)&&f.every(function(x){var c=r.cells[x[0]];return c&&c.textContent.toLowerCase().indexOf(x[1])>=0});r.hidden=!ok;if(ok)n++});
if(out)out.textContent=n}
q.addEventListener("input",run);Array.prototype.forEach.call(fs,function(i){i.addEventListener("input",run)})})();
"""


def _verdict_class(v: str) -> str:
    return "v-yes" if v.startswith("Supported") else "v-rough" if v.startswith("Roughly") else "v-no"


def _ci(ci: list[float]) -> str:
    return f"{100 * ci[0]:.1f}–{100 * ci[1]:.1f}%"


def _bar(k: float, n: float, cls: str = "") -> str:
    w = 0 if not n else max(0.0, min(100.0, 100 * k / n))
    return f'<span class="pbar{cls}" style="width:{w * 0.5:.1f}px"></span>'


def claims_html(st: Study) -> str:
    rows_ = []
    for c in st.checked:
        d, dc = c["detected"], c["declared"]
        if c["type"] == "share":
            claim = f'{h(c["value"])} share {100 * c["expected"]:.0f}% (±{100 * c["tolerance"]:.0f})'
            det = f'{d["count"]} of {c["n"]} = {pct(d["count"], c["n"])}<br><small>95% CI {_ci(d["ci"])}</small>'
            dec = f'{dc["count"]} of {c["n"]} = {pct(dc["count"], c["n"])}<br><small>95% CI {_ci(dc["ci"])}</small>'
        else:
            claim = " &gt; ".join(h(x) for x in c["order"])
            det = (" &gt; ".join(f'{h(v)} {d["counts"][v]}' for v in d["measured"])
                   + f'<br><small>{d["pairs_agreeing"]} of {d["pairs"]} pairs as claimed</small>')
            dec = (" &gt; ".join(f'{h(v)} {dc["counts"][v]}' for v in dc["measured"])
                   + f'<br><small>{dc["pairs_agreeing"]} of {dc["pairs"]} pairs as claimed</small>')
        rows_.append(f'<tr data-claim="{h(c["id"])}"><td>{h(c["says"])}<br><small>{claim}</small></td><td>{det}</td><td>{dec}</td>'
                     f'<td class="verdict {_verdict_class(c["verdict"])}">{h(c["verdict"])}</td></tr>')
    return (f'<section id="claims"><h2>The claims, checked: {h(st.claims_title)}</h2>'
            f'<p>Claims from {h(st.claims_file)}; measured over the {st.n} inspected repos (95% Wilson intervals; '
            'a ranking is checked pair by pair, adjacent pairs whose intervals overlap are within noise).</p>'
            '<div class="wrap"><table id="claims-table"><thead><tr><th>claim</th><th>detected (evidence)</th>'
            '<th>declared (tags, config)</th><th>verdict</th></tr></thead><tbody>' + "".join(rows_) + "</tbody></table></div></section>")


def methods_html(rep: Report, st: Study) -> str:
    m = meta_json(rep.meta)
    items = [("population", m["population"] or "not a population audit (the repos given to the audit)"),
             ("audited", (m["started"] or "?")[:19].replace("T", " ") + " UTC"), ("tool", m["tool"] or f"inspector {__version__}"),
             ("rules", m["rules"] or "not recorded (an audit from before this field)"), ("Hub", m["endpoint"] or "https://huggingface.co"),
             ("repos", f"{rep.totals['repos']} listed, {st.n} inspected, {st.dated} with a creation date, {st.downloads} downloads in all"),
             ("kind", "decoder / encoder / encoder-decoder, from the tensors and config keys, not the tags"),
             ("layout", "the tensor-naming scheme of the weights (e.g. llama, gpt2, chatglm): what the checkpoint is laid out as"),
             ("lineage", "the model family the evidence points to (config keys, tensor shapes, tokenizer size), beside the one the repo declares"),
             ("trait", "an architectural choice (attention, MoE, positions, context, vocabulary ...) decided by the rules in rules/traits.yaml"),
             ("confidence", f"the share of the lineage evidence's weight that backs the verdict, 0 to 1; a disagreement below {WEAK} is marked weak"),
             ("downloads", "the Hub listing's downloads (last 30 days) at audit time; shares by downloads weigh each repo by them")]
    return ('<section id="methods" class="methods"><h2>Methods</h2><dl>'
            + "".join(f"<dt>{h(k)}</dt><dd>{h(v)}</dd>" for k, v in items) + "</dl></section>")


def shares_html(st: Study) -> str:
    parts = []
    for f in st.fields:
        sh = st.shares[f]
        both = f in ("kind", "lineage")
        head = f"<tr><th>{h(f)}</th><th class=n>repos</th>" + ("<th class=n>declared</th>" if both else "") + \
               "<th class=n>downloads</th>" + ("<th class=n>declared, by downloads</th>" if both else "") + "</tr>"
        body = []
        for s in sh[:40]:
            cells = [f'<td>{h(s["value"])}</td>',
                     f'<td class=n data-v="{s["detected"]}">{_bar(s["detected"], st.n)}{s["detected"]} <span class=pct>{pct(s["detected"], st.n)}</span></td>']
            if both:
                cells.append(f'<td class=n data-v="{s["declared"]}">{s["declared"]} <span class=pct>{pct(s["declared"], st.n)}</span></td>')
            cells.append(f'<td class=n data-v="{s["detected_downloads"]}">{_bar(s["detected_downloads"], st.downloads, " dl")}'
                         f'{pct(s["detected_downloads"], st.downloads)}</td>')
            if both:
                cells.append(f'<td class=n data-v="{s["declared_downloads"]}">{pct(s["declared_downloads"], st.downloads)}</td>')
            body.append("<tr>" + "".join(cells) + "</tr>")
        parts.append(f'<div{" class=wide" if both else ""}><h2>{h(f)}</h2><div class="wrap"><table class="sortable" id="study-{h(f)}"><thead>{head}</thead>'
                     f'<tbody>{"".join(body)}</tbody></table></div></div>')
    return ('<section id="study-shares"><h2>Shares: by repo count and by downloads, detected beside declared</h2>'
            '<div class="grid">' + "".join(parts) + "</div></section>")


def _line_chart(cid: str, months: list[str], series: list[tuple[str, list[float | None], str]], *, unit: str,
                ymax: float | None = None, width: int = 640, height: int = 240) -> str:
    if not months:
        return "<p>no repo of this audit has a creation date (audit a Hub listing to get them)</p>"
    left, right, top, bottom = 48, 110, 14, 34
    vals = [v for _, pts, _ in series for v in pts if v is not None]
    ymax = ymax or _nice(max(vals) if vals else 1)
    xs = (width - left - right) / max(1, len(months) - 1)

    def x(i: float) -> float:
        return left + i * xs if len(months) > 1 else left + (width - left - right) / 2

    def y(v: float) -> float:
        return top + (height - top - bottom) * (1 - v / ymax)

    p = [f'<svg class="chart" id="{cid}" role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">',
         f'<line x1="{left}" y1="{y(0):.1f}" x2="{width - right}" y2="{y(0):.1f}" stroke="#888"/>']
    for frac in (0.5, 1.0):
        p.append(f'<text x="{left - 4}" y="{y(ymax * frac) + 4:.1f}" text-anchor="end">{ymax * frac:.0f}{unit}</text>'
                 f'<line x1="{left}" y1="{y(ymax * frac):.1f}" x2="{width - right}" y2="{y(ymax * frac):.1f}" stroke="#eee"/>')
    step = max(1, -(-len(months) // 6))  # at most 6 month labels: each is ~50 px wide
    for i, m in enumerate(months):
        if i % step == 0:
            p.append(f'<text x="{x(i):.1f}" y="{height - 16}" text-anchor="middle">{h(m)}</text>')
    # The release marker sits at its month, or between the months around it.
    after = next((i for i, m in enumerate(months) if m >= RELEASE[0]), None)
    if after is not None and months[0] < RELEASE[0] or after is not None and months[after] == RELEASE[0]:
        mx = x(after) if months[after] == RELEASE[0] else (x(after - 1) + x(after)) / 2
        p.append(f'<line class="release" x1="{mx:.1f}" y1="{top}" x2="{mx:.1f}" y2="{y(0):.1f}" stroke="#b3261e" stroke-dasharray="4 3"/>'
                 f'<text x="{mx + 3:.1f}" y="{top + 10}" fill="#b3261e">{h(RELEASE[1])} ({RELEASE[0]})</text>')
    for k, (label, pts, col) in enumerate(series):
        coords = [(x(i), y(v), v, months[i]) for i, v in enumerate(pts) if v is not None]
        if not coords:
            continue
        if len(coords) > 1:
            p.append(f'<polyline class="series" fill="none" stroke="{col}" stroke-width="2" points="'
                     + " ".join(f"{cx:.1f},{cy:.1f}" for cx, cy, _, _ in coords) + '"/>')
        for cx, cy, v, m in coords:
            p.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="2.5" fill="{col}"><title>{h(label)} {h(m)}: {v:.4g}{unit}</title></circle>')
        p.append(f'<rect x="{width - right + 8}" y="{top + 14 * k}" width="10" height="10" fill="{col}"/>'
                 f'<text x="{width - right + 22}" y="{top + 14 * k + 9}">{h(label)}</text>')
    p.append("</svg>")
    return "".join(p)


def _nice(v: float) -> float:
    """The axis top: v rounded up to 1, 2 or 5 times a power of ten."""
    if v <= 0:
        return 1.0
    import math

    p = 10 ** math.floor(math.log10(v))
    return next(m * p for m in (1, 2, 5, 10) if m * p >= v)


TREND_COLORS = ["#e15759", "#4e79a7", "#59a14f", "#f28e2b", "#b07aa1"]


def trends_html(st: Study) -> str:
    series = [(t["label"], [100 * p["count"] / p["n"] if p["n"] else None for p in t["points"]], TREND_COLORS[i % 5])
              for i, t in enumerate(st.trend)]
    share = _line_chart("trend-chart", st.months, series, unit="%", ymax=100)
    med = "".join(_line_chart(f"trend-{m['key'].split('.')[0]}", st.months,
                              [(m["label"], [p["median"] for p in m["points"]], color(m["label"]))], unit="")
                  for m in st.medians)
    ba = "".join(f'<tr><td>{h(b["label"])}</td><td class=n>{pct(*b["before"])} <small>({b["before"][0]} of {b["before"][1]})</small></td>'
                 f'<td class=n>{pct(*b["after"])} <small>({b["after"][0]} of {b["after"][1]})</small></td></tr>' for b in st.before_after)
    counts = "".join(f"<td class=n>{p['n']}</td>" for p in (st.trend[0]["points"] if st.trend else []))
    return (f'<section id="trends"><h2>Over time: shares by month of creation ({st.dated} dated repos), {h(RELEASE[1])} marked</h2>'
            f'<div class="grid"><div>{share}</div><div><table id="before-after"><thead><tr><th>share of repos</th>'
            f'<th class=n>created before {RELEASE[0]}</th><th class=n>from {RELEASE[0]}</th></tr></thead><tbody>{ba}</tbody></table></div></div>'
            f'<h2>Medians by month: context length and vocabulary size</h2><div class="grid">{med}</div>'
            '<div class="wrap"><table id="trend-counts"><thead><tr><th>month</th>' + "".join(f"<th class=n>{h(m)}</th>" for m in st.months)
            + f"</tr></thead><tbody><tr><td>repos</td>{counts}</tr></tbody></table></div></section>")


def table_html(rep: Report, links: dict[str, str]) -> str:
    total = rep.totals["repos"]
    body = []
    for r in rows(rep, HTML_LIMIT):
        repo = f'<a href="{h(r["url"])}" rel="noopener noreferrer">{h(r["repo"])}</a>' if r["url"] else h(r["repo"])
        conf = r["confidence"]
        cells = [(repo, r["repo"].lower() if isinstance(r["repo"], str) else ""), (h(r["author"]), None), (h(r["kind"] or r["status"]), None),
                 (h(r["lineage"] or "—"), None), (h(r["declared_lineage"]), None),
                 ("—" if conf is None else f"{conf:.2f}", -1 if conf is None else conf), (str(r["downloads"] or 0), r["downloads"] or 0),
                 (h(r["created"] or "—"), None), (h(r["attention"] or "—"), None), (h(r["moe"] or "—"), None),
                 (h(r["context"] or "—"), None), ("—" if r["vocab"] is None else str(r["vocab"]), r["vocab"])]
        body.append("<tr>" + "".join(f'<td{" class=n" if num else ""}{"" if key is None else f" data-v={chr(34)}{h(key)}{chr(34)}"}>{c}</td>'
                                     for (c, key), (_, num) in zip(cells, TABLE_COLS, strict=True)) + "</tr>")
    head = "".join(f'<th{" class=n" if num else ""}>{h(t)}</th>' for t, num in TABLE_COLS)
    filters = "".join(f'<td><input data-col="{i}" aria-label="filter {h(t)}" placeholder="filter"></td>' for i, (t, _n) in enumerate(TABLE_COLS))
    dl = " ".join(f'<a href="{h(u)}" download="{h("repos." + f)}">{f.upper()}</a>' for f, u in links.items())
    more = (f"<p>The table shows the {HTML_LIMIT} most downloaded of {total}; the files hold every repo.</p>" if total > HTML_LIMIT else "")
    return (f'<section id="repos"><h2>Every repo ({total})</h2><p class="downloads">Download the same rows: {dl or "use -o FILE to write them beside the report"}</p>'
            f'<input id="repo-search" type="search" placeholder="search every column" aria-label="search"> '
            f'<span><output id="repos-shown">{min(total, HTML_LIMIT)}</output> shown</span>{more}'
            f'<div class="wrap"><table id="repos-table" class="sortable"><thead><tr>{head}</tr><tr class="filters">{filters}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div></section>')


def study_html(rep: Report, st: Study, links: dict[str, str]) -> tuple[str, str]:
    """(the headline and methods, the study's sections) for report.to_html."""
    import html

    from .inert import inert

    top = (f'<p id="headline">{html.escape(inert(st.headline(population_name(rep.meta)), 1000))}</p>'
           + claims_html(st) + methods_html(rep, st))
    return top, shares_html(st) + trends_html(st) + table_html(rep, links)


def population_name(meta: dict[str, str]) -> str | None:
    """The population's id, without the file and counts the methods box gives."""
    p = meta_json(meta)["population"]
    return p.split(" (", 1)[0] if p else None


# ---------------------------------------------------------------- Markdown


def study_md(rep: Report, st: Study) -> list[str]:
    import html

    from .inert import inert
    from .report import _MD_SPECIAL

    line = _MD_SPECIAL.sub(r"\\\1", html.escape(inert(st.headline(population_name(rep.meta)), 1000), quote=False))
    out = [f"**{line}**", "", f"### The claims, checked: {md(st.claims_title)}", ""]
    out += _md_table(["claim", "detected", "declared", "verdict"], [
        [md(c["says"]),
         (f"{c['detected']['count']}/{c['n']} = {pct(c['detected']['count'], c['n'])} (CI {_ci(c['detected']['ci'])})" if c["type"] == "share"
          else " > ".join(f"{md(v)} {c['detected']['counts'][v]}" for v in c["detected"]["measured"])),
         (f"{c['declared']['count']}/{c['n']} = {pct(c['declared']['count'], c['n'])} (CI {_ci(c['declared']['ci'])})" if c["type"] == "share"
          else " > ".join(f"{md(v)} {c['declared']['counts'][v]}" for v in c["declared"]["measured"])),
         md(c["verdict"])] for c in st.checked])
    out += ["### Shares by repo count and by downloads", ""]
    for f in st.fields:
        both = f in ("kind", "lineage")
        out += [f"#### {md(f)}", ""]
        out += _md_table([f, "repos", *(["declared"] if both else []), "downloads", *(["declared, by downloads"] if both else [])], [
            [md(s["value"]), f"{s['detected']} ({pct(s['detected'], st.n)})",
             *([f"{s['declared']} ({pct(s['declared'], st.n)})"] if both else []), pct(s["detected_downloads"], st.downloads),
             *([pct(s["declared_downloads"], st.downloads)] if both else [])] for s in st.shares[f]], MD_LIMIT)
    out += [f"### Over time ({st.dated} dated repos; {RELEASE[1]} released {RELEASE[0]})", ""]
    out += _md_table(["month", "repos", *(t["label"] for t in st.trend), *(m_["label"] + " (median)" for m_ in st.medians)], [
        [m_, st.trend[0]["points"][i]["n"], *(pct(t["points"][i]["count"], t["points"][i]["n"]) for t in st.trend),
         *(mm["points"][i]["median"] if mm["points"][i]["median"] is not None else "—" for mm in st.medians)]
        for i, m_ in enumerate(st.months)]) if st.trend else ["_none_", ""]
    meth = meta_json(rep.meta)
    out += ["### Methods", "", f"population: {md(meth['population'] or '—')} · audited {md((meth['started'] or '?')[:19])} · "
            f"{md(meth['tool'] or 'inspector ' + __version__)} · rules {md(meth['rules'] or '—')} · claims {md(st.claims_file)}", ""]
    return out


def md_link(repo: str, url: str | None) -> str:
    return md_repo(repo, url)
