"""What an audit prints at its end: counts over each repo's latest row."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from ..status import USABLE
from ..store import Store
from .runner import RunStats


@dataclass
class Summary:
    repos: int = 0
    by_status: Counter[str] = field(default_factory=Counter)
    by_kind: Counter[str] = field(default_factory=Counter)
    by_lineage: Counter[str] = field(default_factory=Counter)
    mismatches: int = 0
    requests: int = 0
    bytes: int = 0


def summarize(store: Store, repos: set[str] | None = None) -> Summary:
    """Over each repo's latest row (only `repos` when given)."""
    s = Summary()
    for r in store.records(columns=("repo", "status", "kind", "lineage", "mismatch", "requests", "bytes")):
        if repos is not None and r["repo"] not in repos:
            continue
        s.repos += 1
        s.by_status[r["status"]] += 1
        if r["status"] in USABLE:
            s.by_kind[r["kind"] or "unknown"] += 1
            s.by_lineage[r["lineage"] or "unknown"] += 1
        s.mismatches += int(bool(r["mismatch"]))
        s.requests += r["requests"] or 0
        s.bytes += r["bytes"] or 0
    return s


def render_summary(s: Summary, stats: RunStats | None = None, *, top: int = 12) -> str:
    def line(title: str, c: Counter[str]) -> str:
        items = c.most_common()
        shown = ", ".join(f"{k} {v}" for k, v in items[:top])
        rest = sum(v for _k, v in items[top:])
        return f"  {title:<9}{shown}" + (f", other {rest}" if rest else "")

    out = []
    if stats is not None:
        rate = stats.done + stats.failed
        out.append(f"audit: {stats.total} repos: {stats.done} done, {stats.failed} failed, {stats.skipped} unchanged "
                   f"in {stats.elapsed:.1f}s ({rate / stats.elapsed if stats.elapsed > 0 else 0:.1f} repos/s)")
    out.append(f"  {s.repos} repos in the store's view; {s.mismatches} mismatches; "
               f"{s.requests} requests, {s.bytes / 1e6:.1f} MB recorded")
    out.append(line("status", s.by_status))
    out.append(line("kind", s.by_kind))
    out.append(line("lineage", s.by_lineage))
    return "\n".join(out)
