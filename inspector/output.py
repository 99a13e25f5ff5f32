"""Verdicts -> text for people, JSON Lines for machines."""

from __future__ import annotations

import json

from .traits import traits_line
from .verdict import Verdict

TOP_EVIDENCE = 6


def human_count(n: int | None) -> str:
    if n is None:
        return "unknown"
    for unit, size in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= size:
            return f"{n / size:.2f}{unit}"
    return str(n)


def human_bytes(n: int) -> str:
    for unit, size in (("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


def to_json(v: Verdict) -> str:
    return json.dumps(v.to_dict(), ensure_ascii=False, sort_keys=False)


def to_text(v: Verdict, *, all_evidence: bool = False) -> str:
    lines: list[str] = []
    head = v.target
    if v.revision:
        head += f" @ {v.revision[:12]}"
    io = v.io or {}
    if v.source == "hub" and io:
        head += f"  ({io.get('requests', 0)} requests, {human_bytes(io.get('bytes', 0))})"
    lines.append(head)
    if v.status not in ("ok",):
        lines.append(f"  status     {v.status}" + (f": {v.error}" if v.error else ""))
        if v.status not in ("no_config", "no_weights_metadata"):
            return "\n".join(lines)
    d = v.declared or {}
    claim = [x for x in (d.get("model_type"), " ".join(d.get("architectures") or []) or None) if x]
    if d.get("base_model"):
        claim.append(f"base_model {d['base_model']}")
    lines.append(f"  declared   {' · '.join(claim) if claim else '(nothing)'}"
                 + (f"  -> {d.get('lineage') or '?'}, {d.get('kind') or '?'}" if claim else ""))
    det = [v.kind, f"layout {v.layout}", f"lineage {v.lineage}"]
    if v.base:
        det.append(f"base {v.base}" + (f" (or {', '.join(v.base_alternatives)})" if v.base_alternatives else ""))
    det.append(f"confidence {v.confidence:.2f}")
    lines.append(f"  detected   {' · '.join(det)}")
    if v.mismatch:
        parts = []
        if d.get("lineage") and d.get("lineage") != v.lineage:
            parts.append(f"declared lineage {d['lineage']}, evidence says {v.lineage}")
        if d.get("kind") and d.get("kind") != v.kind and v.kind != "unknown":
            parts.append(f"declared kind {d['kind']}, evidence says {v.kind}")
        lines.append(f"  MISMATCH   {'; '.join(parts)}")
    ev = v.evidence if all_evidence else v.evidence[:TOP_EVIDENCE]
    if ev:
        lines.append("  evidence")
        for e in ev:
            obs = f"  [{e.observed}]" if e.observed else ""
            lines.append(f"    {e.weight:+.2f} {e.field} {e.value:<10} {e.rule}: {e.signal}{obs}")
        if len(v.evidence) > len(ev):
            lines.append(f"    ... {len(v.evidence) - len(ev)} more (--evidence all)")
    params = human_count(v.params)
    if v.params is not None:
        params += " (exact)" if v.params_exact else " (estimate)"
    dt = ", ".join(f"{k} {n}" for k, n in sorted(v.dtypes.items(), key=lambda kv: -kv[1]))
    lines.append(f"  params     {params}" + (f" · dtypes {dt}" if dt else ""))
    if line := traits_line(v.traits):
        lines.append(f"  traits     {line}")
    return "\n".join(lines)
