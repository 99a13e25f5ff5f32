"""The study over an audit: shares by repo count and by downloads, shares by month of creation, and a
write-up's claims checked against them (with Wilson intervals).

Everything is an SQL group-by over the report's table of newest rows (`temp.cur`, see report.py),
joined to the listing fields and trait values by the `results_study` covering index, so the study
costs a scan of indexed columns, never the verdict JSON of every row.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import UsageError
from .store import trait_values

CLAIMS_DIR = Path(__file__).resolve().parent / "data" / "claims"
DEFAULT_CLAIMS = CLAIMS_DIR / "china-writeup.yaml"
RELEASE = ("2025-01", "DeepSeek-R1")  # the event the trends are read around
Z95 = 1.959963984540054
NONE = "(none)"
# The trait values charted over time: (trait, value) -> label.
TREND_SERIES = (("moe", "MoE", "MoE"), ("attention", "MLA", "MLA"), ("attention", "GQA", "GQA"),
                ("attention", "MHA", "MHA"), ("attention", "MQA", "MQA"))
MEDIANS = (("context.max_positions", "context length"), ("vocab.vocab_size", "vocabulary size"))


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a share k/n (95% by default); (0, 1) when n is 0."""
    if n <= 0:
        return 0.0, 1.0
    p = k / n
    d = 1 + z * z / n
    mid = (p + z * z / (2 * n)) / d
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return max(0.0, mid - half), min(1.0, mid + half)


# ---------------------------------------------------------------- claims


@dataclass
class Claim:
    id: str
    says: str
    field: str  # kind | lineage | a trait
    share: tuple[str, float, float] | None = None  # value, expected share, tolerance
    order: list[str] = field(default_factory=list)  # a ranking, first to last
    source: str = ""


def load_claims(path: str | Path | None = None) -> tuple[list[Claim], str]:
    """The claims of a write-up (the shipped one by default) and its title; a broken file is one
    UsageError naming it."""
    from .yamlloc import YamlProblem, load_file

    p = Path(path) if path else DEFAULT_CLAIMS
    if not p.is_file():
        raise UsageError("cannot read the claims file: no such file", where=str(p))
    try:
        doc = load_file(p)  # the project's one safe YAML loader
    except YamlProblem as e:
        raise UsageError(e.problem.message, where=str(e.problem.location or p)) from None
    items = doc.get("claims") if isinstance(doc, dict) else None
    if not isinstance(items, list) or not items:
        raise UsageError("a claims file is a mapping with a non-empty `claims:` list", where=str(p))
    out = []
    for i, it in enumerate(items, 1):
        where = f"{p} (claim {i})"
        if not isinstance(it, dict) or not isinstance(it.get("id"), str) or not isinstance(it.get("says"), str):
            raise UsageError("each claim needs `id` and `says`", where=where)
        c = Claim(it["id"], it["says"], str(it.get("field", "")), source=str(it.get("source") or doc.get("source") or ""))
        if "share" in it:
            s = it["share"]
            ok = isinstance(s, dict) and isinstance(s.get("value"), str) and isinstance(s.get("expected"), (int, float))
            if not ok or not 0 <= s["expected"] <= 1:
                raise UsageError("`share:` needs `value` and `expected` (a share from 0 to 1)", where=where)
            c.share = (s["value"], float(s["expected"]), float(s.get("tolerance", 0.05)))
        elif isinstance(it.get("order"), list) and len(it["order"]) >= 2 and all(isinstance(x, str) for x in it["order"]):
            c.order = list(it["order"])
        else:
            raise UsageError("a claim is a `share:` {value, expected} or an `order:` list of two values or more", where=where)
        if not c.field:
            raise UsageError("a claim names the `field` it counts (kind, lineage or a trait)", where=where)
        out.append(c)
    return out, str(doc.get("title") or p.stem)


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def check_share(c: Claim, counts: dict[str, Counter[str]], total: int) -> dict[str, Any]:
    value, expected, tol = c.share  # type: ignore[misc]
    out: dict[str, Any] = {"id": c.id, "says": c.says, "type": "share", "field": c.field, "value": value,
                           "expected": expected, "tolerance": tol, "n": total}
    for side in ("detected", "declared"):
        k = counts[side][value]
        lo, hi = wilson(k, total)
        out[side] = {"count": k, "share": k / total if total else None, "ci": [lo, hi]}
    d = out["detected"]
    if not total:
        out["verdict"] = "untested: the audit has no inspected repo."
    elif d["ci"][0] <= expected <= d["ci"][1]:
        out["verdict"] = (f"Supported: {_pct(d['share'])} of {total} repos are {value} by the evidence "
                          f"(95% CI {_pct(d['ci'][0])}–{_pct(d['ci'][1])}), which contains the claimed {_pct(expected)}.")
    elif abs(d["share"] - expected) <= tol:
        out["verdict"] = (f"Roughly supported: {_pct(d['share'])} measured (95% CI {_pct(d['ci'][0])}–{_pct(d['ci'][1])}), "
                          f"within the claim's ±{_pct(tol)} of {_pct(expected)} but not at it.")
    else:
        side = "below" if d["ci"][1] < expected else "above"
        out["verdict"] = (f"Not supported: {_pct(d['share'])} measured (95% CI {_pct(d['ci'][0])}–{_pct(d['ci'][1])}), "
                          f"{side} the claimed {_pct(expected)}.")
    return out


def check_order(c: Claim, counts: dict[str, Counter[str]], total: int) -> dict[str, Any]:
    out: dict[str, Any] = {"id": c.id, "says": c.says, "type": "ranking", "field": c.field, "order": c.order, "n": total}
    for side in ("detected", "declared"):
        cnt = counts[side]
        measured = sorted(c.order, key=lambda v: (-cnt[v], c.order.index(v)))
        pairs = [(a, b) for i, a in enumerate(c.order) for b in c.order[i + 1:]]
        agree = sum(cnt[a] > cnt[b] for a, b in pairs)
        # A pair whose intervals overlap is not ordered by this audit either way.
        unsure = [f"{a}/{b}" for a, b in zip(c.order, c.order[1:], strict=False)
                  if _overlap(wilson(cnt[a], total), wilson(cnt[b], total))]
        reversed_ = sum(cnt[a] < cnt[b] for a, b in pairs)
        out[side] = {"counts": {v: cnt[v] for v in c.order}, "measured": measured, "agree": agree == len(pairs),
                     "pairs_agreeing": agree, "pairs_reversed": reversed_, "pairs": len(pairs), "within_noise": unsure}
    d = out["detected"]
    counts_txt = ", ".join(f"{v} {d['counts'][v]}" for v in d["measured"])
    if not total:
        out["verdict"] = "untested: the audit has no inspected repo."
    elif d["agree"]:
        out["verdict"] = (f"Supported: the evidence orders them as claimed ({counts_txt})"
                          + (f"; {', '.join(d['within_noise'])} within noise." if d["within_noise"] else "."))
    elif not d["pairs_reversed"]:
        out["verdict"] = (f"Partly supported: no pair is reversed, but {d['pairs'] - d['pairs_agreeing']} of {d['pairs']} "
                          f"pairs tie ({counts_txt}).")
    else:
        out["verdict"] = (f"Not supported as stated: the evidence orders them {' > '.join(d['measured'])} ({counts_txt}); "
                          f"{d['pairs_agreeing']} of {d['pairs']} pairs in the claimed order.")
    return out


def _overlap(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]


# ---------------------------------------------------------------- the aggregates


def _med(counter: Counter[float]) -> float | None:
    n = sum(counter.values())
    if not n:
        return None
    acc = 0
    for v in sorted(counter):
        acc += counter[v]
        if 2 * acc >= n:
            return v
    return None


class Study:
    """The study's numbers for one Report (its temp `cur` table must exist)."""

    def __init__(self, rep: Any, claims_file: str | Path | None = None) -> None:
        self.rep = rep
        db = rep.store.db
        cols = rep.store.columns
        have = all(c in cols for c in ("downloads", "created_at", "traits"))
        indexed = have and bool(db.execute("SELECT 1 FROM main.sqlite_master WHERE name = 'results_study'").fetchone())
        if have:
            join = ("JOIN main.results r INDEXED BY results_study ON r.repo = cur.repo AND r.rowid = cur.rid" if indexed
                    else "JOIN main.results r ON r.rowid = cur.rid")
            src = (f"SELECT cur.rid, cur.kind, coalesce(cur.declared_kind, '{NONE}') AS dkind, cur.lineage, "
                   f"coalesce(cur.declared_lineage, '{NONE}') AS dlin, "
                   "CASE WHEN typeof(r.downloads) = 'integer' AND r.downloads > 0 THEN r.downloads ELSE 0 END AS dl, "
                   "CASE WHEN r.created_at GLOB '[12][0-9][0-9][0-9]-[01][0-9]*' THEN substr(r.created_at, 1, 7) END AS month, "
                   "CASE WHEN r.created_at GLOB '[12][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]*' THEN substr(r.created_at, 1, 10) END AS created, "
                   f"CASE WHEN json_valid(r.traits) THEN r.traits END AS traits FROM cur {join} WHERE cur.usable")
        else:
            src = (f"SELECT cur.rid, cur.kind, coalesce(cur.declared_kind, '{NONE}') AS dkind, cur.lineage, "
                   f"coalesce(cur.declared_lineage, '{NONE}') AS dlin, 0 AS dl, NULL AS month, NULL AS created, NULL AS traits "
                   "FROM cur WHERE cur.usable")
        with rep.store._guard():
            db.execute("DROP TABLE IF EXISTS temp.st")
            db.execute(f"CREATE TEMP TABLE st AS {src}")
            db.execute("CREATE INDEX temp.st_rid ON st(rid)")
            self._fill_traits()
        self.claims_file = str(claims_file) if claims_file else f"claims/{DEFAULT_CLAIMS.name} (shipped)"
        self.claims, self.claims_title = load_claims(claims_file)
        self._aggregate()

    def _fill_traits(self) -> None:
        """Rows from before the traits column: their trait values from their verdict (only theirs)."""
        db = self.rep.store.db
        if "verdict" not in self.rep.store.columns:
            return
        todo = [r[0] for r in db.execute("SELECT rid FROM st WHERE traits IS NULL")]
        for i in range(0, len(todo), 500):
            ids = todo[i:i + 500]
            for rid, text in db.execute(f"SELECT rowid, verdict FROM main.results WHERE rowid IN ({', '.join('?' * len(ids))})", ids):
                from .store import load_verdict

                v = load_verdict(text)
                tv = trait_values(v) if v else None
                if tv:
                    db.execute("UPDATE st SET traits = ? WHERE rid = ?", (tv, rid))

    def _q(self, sql: str) -> list:
        with self.rep.store._guard():
            return self.rep.store.db.execute(sql).fetchall()

    def _aggregate(self) -> None:
        (n, dl), = self._q("SELECT count(*), total(dl) FROM st")
        self.n, self.downloads = n, int(dl)
        self.dated = self._q("SELECT count(*) FROM st WHERE month IS NOT NULL")[0][0]
        counts: dict[str, dict[str, Counter[str]]] = defaultdict(lambda: defaultdict(Counter))
        dls: dict[str, dict[str, Counter[str]]] = defaultdict(lambda: defaultdict(Counter))
        for f, det, dec in (("kind", "kind", "dkind"), ("lineage", "lineage", "dlin")):
            for side, col in (("detected", det), ("declared", dec)):
                for v, c, d in self._q(f"SELECT {col}, count(*), total(dl) FROM st GROUP BY 1"):
                    counts[f][side][v] = c
                    dls[f][side][v] = int(d)
        # One pass over the trait values: per month, key and value (the study's shares sum the months).
        # Repos share trait sets (a family, its fine-tunes): the JSON is read once per distinct set and month.
        self._by_month = self._q("WITH g AS (SELECT month, traits, count(*) AS c, total(dl) AS d FROM st GROUP BY 1, 2) "
                                 "SELECT g.month, j.key, j.value, j.type, sum(g.c), total(g.d) FROM g, json_each(g.traits) j "
                                 "WHERE j.key NOT LIKE 'params.%' GROUP BY 1, 2, 3")
        for _m, k, v, _typ, c, d in self._by_month:
            if "." not in k:
                counts[k]["detected"][str(v)] += c
                dls[k]["detected"][str(v)] += int(d)
        self.counts, self.dls = counts, dls

        def shares(f: str) -> list[dict[str, Any]]:
            c, d = counts[f], dls[f]
            vals = sorted(set(c["detected"]) | set(c["declared"]), key=lambda v: (-c["detected"][v] - c["declared"][v], str(v)))
            out = []
            for v in vals:
                row: dict[str, Any] = {"value": v, "detected": c["detected"][v], "detected_downloads": d["detected"][v]}
                if f in ("kind", "lineage"):
                    row |= {"declared": c["declared"][v], "declared_downloads": d["declared"][v]}
                out.append(row)
            return out

        # `params` is how the parameter counts were had, not a choice: the table shows the counts instead.
        self.fields = ["kind", "lineage"] + sorted(k for k in counts if k not in ("kind", "lineage", "params"))
        self.shares = {f: shares(f) for f in self.fields}
        self._trends()
        self.checked = [check_share(c, counts[c.field], n) if c.share else check_order(c, counts[c.field], n)
                        for c in self.claims]

    def _trends(self) -> None:
        months = dict(self._q("SELECT month, count(*) FROM st WHERE month IS NOT NULL GROUP BY 1 ORDER BY 1"))
        self.months = sorted(months)
        by: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
        nums: dict[str, dict[str, Counter[float]]] = defaultdict(lambda: defaultdict(Counter))
        medians = {k for k, _ in MEDIANS}
        for m, k, v, typ, c, _d in self._by_month:
            if m is None:
                continue
            if k in ("moe", "attention"):
                by[(k, str(v))][m] += c
            elif k in medians and typ in ("integer", "real"):
                nums[k][m][v] += c
        self.trend = [{"label": label, "trait": t, "value": v,
                       "points": [{"month": m, "count": by[(t, v)][m], "n": months[m]} for m in self.months]}
                      for t, v, label in TREND_SERIES]
        self.medians = [{"label": label, "key": k, "points": [{"month": m, "median": _med(nums[k][m]),
                                                               "n": sum(nums[k][m].values())} for m in self.months]}
                        for k, label in MEDIANS]

        def share_in(t: str, v: str, after: bool) -> tuple[int, int]:
            ms = [m for m in self.months if (m >= RELEASE[0]) == after]
            return sum(by[(t, v)][m] for m in ms), sum(months[m] for m in ms)

        self.before_after = [{"label": label, "before": share_in(t, v, False), "after": share_in(t, v, True)}
                             for t, v, label in TREND_SERIES]

    def headline(self, population: str | None) -> str:
        who = f"the {population} population" if population else "this audit"
        if not self.n:
            return f"No repo of {who} could be inspected, so no claim can be checked."
        dec = self.counts["kind"]["detected"]["decoder"]
        lin = self.counts["lineage"]["detected"]
        top = next((v for v, _ in lin.most_common() if v != "unknown"), None)
        s = (f"Of {self.n} inspected repos of {who}, {_pct(dec / self.n)} are decoders by the evidence"
             + (f" and {top} is the most common lineage ({_pct(lin[top] / self.n)})" if top else ""))
        moe = next(b for b in self.before_after if b["label"] == "MoE")
        (kb, nb), (ka, na) = moe["before"], moe["after"]
        if nb and na:
            s += f"; MoE went from {_pct(kb / nb)} of repos created before {RELEASE[0]} to {_pct(ka / na)} after"
        return s + "."

    def to_dict(self) -> dict[str, Any]:
        return {"repos": self.n, "downloads": self.downloads, "dated": self.dated, "claims_file": self.claims_file,
                "claims_title": self.claims_title, "shares": self.shares, "months": self.months,
                "release": {"month": RELEASE[0], "name": RELEASE[1]}, "trends": self.trend, "medians": self.medians,
                "before_after": self.before_after, "claims": self.checked}


def rules_digest(dirs: list[str | Path] | None = None) -> str:
    """A short digest of the rule files an audit runs (shipped and extra): which rules made the verdicts."""
    from .ruleset import shipped_rules_dir

    h = hashlib.sha256()
    for d in [shipped_rules_dir(), *(Path(x) for x in dirs or ())]:
        files = sorted(Path(d).rglob("*.yaml")) if Path(d).is_dir() else [Path(d)]
        for f in files:
            if "tests" in f.parts[len(Path(d).parts):]:
                continue
            try:
                h.update(f.name.encode() + b"\0" + f.read_bytes())
            except OSError:
                continue
    return h.hexdigest()[:12]


def meta_json(meta: dict[str, str]) -> dict[str, Any]:
    """The run's meta, for the methods box."""
    q: dict[str, Any] = {}
    with contextlib.suppress(ValueError):
        q = json.loads(meta.get("run.query") or "{}")
    return {"population": meta.get("run.population") or q.get("population"), "started": meta.get("run.started"),
            "tool": meta.get("run.tool"), "rules": meta.get("run.rules"), "endpoint": meta.get("run.endpoint")}
