"""Verdicts -> text for people, JSON Lines for machines.

Text fits the terminal: one line per evidence item, built from the rule's plain-language
description and the values observed; the long form (rule id, condition, every value, where the rule
is) comes with `all_evidence`. Every string from a repo goes through `inert()` on its way out.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass

from .inert import inert, json_safe
from .traits import traits_line
from .verdict import EvidenceItem, Verdict, disagreements, ruled_out_by_tokenizer

TOP_EVIDENCE = 6
LABEL = 14  # two spaces, then "confidence  " and the other labels of a verdict's lines
MIN_WIDTH = 60
FALLBACK_WIDTH = 100  # piped output: a line a text viewer shows whole

# Styles (fg colour, bold) for the words a reader looks for first.
STATUS_STYLE = {"ok": {"fg": "green"}, "no_config": {"fg": "yellow"}, "no_weights_metadata": {"fg": "yellow"}}
FAILED_STYLE = {"fg": "red", "bold": True}
MISMATCH_STYLE = {"fg": "red", "bold": True}


_SGR = {"green": "32", "yellow": "33", "red": "31"}


def _styled(text: str, style: dict) -> str:
    """ANSI colour (SGR) around text already made inert: what click.style writes, without the CLI's library."""
    codes = ([_SGR[style["fg"]]] if style.get("fg") in _SGR else []) + (["1"] if style.get("bold") else [])
    return "".join(f"\x1b[{c}m" for c in codes) + text + "\x1b[0m" if codes else text


def confidence_style(c: float) -> dict:
    return {"fg": "green"} if c >= 0.9 else {"fg": "yellow"} if c >= 0.6 else {"fg": "red"}


# --- numbers, one format each -------------------------------------------------------------------

def human_count(n: int | None) -> str:
    if n is None:
        return "unknown"
    for unit, size in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= size:
            return f"{n / size:.2f}{unit}"
    return str(n)


def human_bytes(n: int) -> str:
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


def number(text: str) -> str:
    """A value as observed, numbers in one format: integers in full (5e+06 -> 5000000), other floats
    in the shortest form that round-trips (1e-05, 0.02)."""
    try:
        x = float(text)
    except ValueError:
        return text
    if text.strip().lower() in ("nan", "inf", "-inf", "infinity", "-infinity"):
        return text
    if x.is_integer() and abs(x) < 1e16:
        return str(int(x))
    return repr(x)


# --- terminal ---------------------------------------------------------------------------------

def terminal_width() -> int:
    """The terminal's columns ($COLUMNS first, like ls), else FALLBACK_WIDTH when piped."""
    return max(MIN_WIDTH, shutil.get_terminal_size((FALLBACK_WIDTH, 24)).columns)


def use_color(stream=None, mode: str = "auto") -> bool:
    """Colour on a terminal; never with NO_COLOR (https://no-color.org) or TERM=dumb, unless `always`."""
    if mode in ("always", "never"):
        return mode == "always"
    stream = stream or sys.stdout
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    return bool(getattr(stream, "isatty", lambda: False)())


@dataclass
class _Seg:
    text: str
    style: dict | None = None


def _render(segs: list[_Seg], width: int | None, color: bool) -> str:
    """Segments -> one line cut to `width` (an ellipsis marks the cut); styles only when `color`."""
    out, used = [], 0
    for s in segs:
        text = s.text
        if width is not None and used + len(text) > width:
            text = text[: max(0, width - used - 1)] + "…"
        used += len(text)
        if color and s.style and text:
            text = _styled(text, s.style)
        out.append(text)
        if width is not None and used >= width:
            break
    return "".join(out).rstrip()


# --- evidence in plain words -------------------------------------------------------------------

_PAREN = re.compile(r"\s*\([^()]*\)")


def short_description(description: str) -> str:
    """The first clause of a rule's description, without its parenthetical asides."""
    return " ".join(_PAREN.sub("", description).split("; ")[0].split())


def compact_observed(observed: str) -> str:
    """`vocab_size = 64000; rope_theta = 5e+06` -> `vocab_size 64000, rope_theta 5000000`; tensor
    patterns as `q_proj ×80` / `no encoder_attn`, those present first."""
    return ", ".join(observed_items(observed))


def observed_items(observed: str) -> list[str]:
    present, absent = [], []
    for part in filter(None, (p.strip() for p in observed.split("; "))):
        if " = " in part:
            key, _, val = part.partition(" = ")
            present.append(f"{key} {number(val)}")
        elif part.endswith(": absent"):
            absent.append(f"no {part[: -len(': absent')]}")
        elif part.endswith(" matching") and ": " in part:
            key, _, val = part.rpartition(": ")
            present.append(f"{key} ×{val.split()[0]}")
        else:
            present.append(part)
    return present + absent


def fit_words(text: str, room: int) -> str:
    """`text` cut at a word boundary to `room` characters, an ellipsis marking the cut."""
    if len(text) <= room:
        return text
    cut = text[: max(1, room - 1)]
    if " " in cut[room // 2:]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;/") + "…"


def fit_items(items: list[str], room: int) -> str:
    """As many whole items as fit in `room` (never half a number), then `…`."""
    out = ""
    for i, item in enumerate(items):
        more = i < len(items) - 1
        candidate = f"{out}, {item}" if out else item
        if len(candidate) + (3 if more else 0) <= room:
            out = candidate
            continue
        if out:
            return f"{out}, …"
        return fit_words(f"{item} …", room)
    return out


def _fingerprint(observed: str) -> list[str]:
    """A base's `hidden_size=7168, num_layers=60; differs: x` -> [`hidden_size 7168`, `num_layers 60`, `differs: x`]."""
    matched, _, differs = observed.partition("; differs: ")
    pairs = [f"{k} {number(v)}" for k, _, v in (p.partition("=") for p in matched.split(", ") if p)]
    return pairs + ([f"differs: {differs}"] if differs else [])


@dataclass
class EvidenceLine:
    """One rule's evidence: a rule voting for several fields (a base votes lineage and kind) is one line."""

    weight: float
    fields: list[str]
    values: list[str]
    items: list[EvidenceItem]

    @property
    def rule(self) -> str:
        return self.items[0].rule

    @property
    def is_base(self) -> bool:
        return self.rule.startswith("base:")

    def column(self) -> tuple[str, str]:
        if self.is_base:
            return "base", self.rule.removeprefix("base:")
        return ", ".join(self.fields), ", ".join(self.values)

    def words(self, descriptions: Mapping[str, str]) -> tuple[str, list[str]]:
        """(what the rule means, what was observed), both short."""
        e = self.items[0]
        if self.is_base:
            return "fingerprint matches", _fingerprint(e.observed)
        desc = short_description(descriptions.get(e.rule, "")) or e.signal
        return desc, observed_items(e.observed)


def evidence_lines(v: Verdict) -> list[EvidenceLine]:
    out: dict[str, EvidenceLine] = {}
    for e in v.evidence:
        line = out.get(e.rule)
        if line is None:
            out[e.rule] = EvidenceLine(e.weight, [e.field], [e.value], [e])
        else:
            line.fields.append(e.field)
            line.values.append(e.value)
            line.items.append(e)
    return list(out.values())


def rule_descriptions(rules) -> dict[str, str]:
    """rule id -> description, from a RuleSet."""
    return {r.id: r.description for r in getattr(rules, "rules", [])}


def _shipped_descriptions() -> dict[str, str]:
    global _SHIPPED
    if _SHIPPED is None:
        from .ruleset import load_ruleset

        try:
            _SHIPPED = rule_descriptions(load_ruleset())
        except Exception:  # a broken rules folder must not break printing a verdict
            _SHIPPED = {}
    return _SHIPPED


_SHIPPED: dict[str, str] | None = None


# --- the verdict --------------------------------------------------------------------------------

def to_json(v: Verdict) -> str:
    return json_safe(json.dumps(v.to_dict(), ensure_ascii=False, sort_keys=False))


def to_text(v: Verdict, *, all_evidence: bool = False, rules=None, width: int | None = 0,
            color: bool = False) -> str:
    """The verdict for a person. `rules` gives the rules' descriptions (default: the shipped rules);
    `width` cuts lines (0: the terminal's width, None: never cut); `color` styles them."""
    descriptions = rule_descriptions(rules) if rules is not None else _shipped_descriptions()
    if width == 0:
        width = terminal_width()
    lines: list[list[_Seg]] = []

    def row(label: str, *segs: _Seg) -> None:
        lines.append([_Seg(f"  {label:<{LABEL - 2}}"), *segs])

    head = [_Seg(inert(v.target), {"bold": True})]
    if v.revision:
        head.append(_Seg(f" @ {inert(v.revision[:12])}"))
    io = v.io or {}
    if v.source == "hub" and io:
        head.append(_Seg(f"  ({io.get('requests', 0)} requests, {human_bytes(io.get('bytes', 0))})"))
    lines.append(head)
    if v.status != "ok":
        error = v.error or ""
        if error.startswith(f"{v.target}: "):  # the header already names the target
            error = error[len(v.target) + 2:]
        style = STATUS_STYLE.get(v.status, FAILED_STYLE)
        status = [_Seg(v.status, style)] + ([_Seg(f": {inert(error, None)}")] if error else [])
        # An error is read in full: wrapped under its label, never cut.
        wrapped = textwrap.wrap("".join(s.text for s in status), width=max(20, (width or 10**6) - LABEL),
                                break_on_hyphens=False) or [""]
        row("status", _Seg(wrapped[0][: len(v.status)], style), _Seg(wrapped[0][len(v.status):]))
        lines.extend([_Seg(" " * LABEL + w)] for w in wrapped[1:])
        if not v.ok:
            return _finish(lines, width, color)
    d = v.declared or {}
    claim = [inert(x) for x in (d.get("model_type"), " ".join(d.get("architectures") or []) or None) if x]
    if d.get("base_model"):
        claim.append(f"base_model {inert(d['base_model'])}")
    reads = ", ".join(f"{k} {d[k]}" for k in ("lineage", "kind") if d.get(k))
    row("declared", _Seg(" · ".join(claim) if claim else "(nothing)"), _Seg(f"  (reads as {reads})" if reads else ""))
    for note in v.notes:  # what the read tolerated: read in full, wrapped under its label, never cut
        wrapped = textwrap.wrap(inert(note, None), width=max(20, (width or 10**6) - LABEL), break_on_hyphens=False) or [""]
        row("note", _Seg(wrapped[0]))
        lines.extend([_Seg(" " * LABEL + w)] for w in wrapped[1:])
    det = [v.kind, f"layout {v.layout}", f"lineage {v.lineage}"]
    if v.base:
        det.append(f"base {v.base}" + (f" (or {', '.join(v.base_alternatives)})" if v.base_alternatives else ""))
    row("detected", _Seg(" · ".join(inert(x) for x in det)))
    others = ", ".join(f"{f} {c:.2f}" for f, c in v.confidences.items() if f != "lineage")
    row("confidence", _Seg(f"{v.confidence:.2f}", confidence_style(v.confidence)),
        _Seg(" for the lineage" + (f" ({others})" if others else "")))
    # The one mismatch rule (verdict.disagreements), applied again to what the verdict holds.
    gaps = disagreements(d, {"lineage": v.lineage, "kind": v.kind}, ruled_out_by_tokenizer(v.evidence)) if v.mismatch else {}
    if gaps:
        parts = [f"declares {f} {claim}, the evidence says {got}" for f, (claim, got) in gaps.items()]
        lines.append([_Seg("  "), _Seg(f"{'MISMATCH':<{LABEL - 2}}", MISMATCH_STYLE), _Seg(inert("; ".join(parts)))])
    ev = evidence_lines(v)
    shown = ev if all_evidence else ev[:TOP_EVIDENCE]
    if shown:
        more = f"{len(shown)} of {len(ev)}, strongest first; all: --evidence all" if len(ev) > len(shown) else "strongest first"
        row("evidence", _Seg(more))
        lines.extend([_Seg(line)] for line in _evidence_rows(shown, descriptions, width, long=all_evidence))
    params = human_count(v.params)
    if v.params is not None:
        params += " (exact)" if v.params_exact else " (estimate)"
    dt = ", ".join(f"{inert(k)} {n}" for k, n in sorted(v.dtypes.items(), key=lambda kv: -kv[1]))
    row("params", _Seg(params), _Seg(f" · tensors by dtype: {dt}" if dt else ""))
    if line := traits_line(v.traits):
        # One trait is never cut: the list continues on the next lines, aligned under the first.
        room = max(20, (width or 10**6) - LABEL)
        parts, cur = [], ""
        for t in (inert(x, None) for x in line.split(" · ")):
            if cur and len(cur) + 3 + len(t) > room:
                parts.append(cur)
                cur = t
            else:
                cur = f"{cur} · {t}" if cur else t
        parts.append(cur)
        for i, text in enumerate(parts):
            row("traits" if i == 0 else "", _Seg(text))
    return _finish(lines, width, color)


def _evidence_rows(shown: list[EvidenceLine], descriptions: Mapping[str, str], width: int | None, *, long: bool) -> list[str]:
    cols = [e.column() for e in shown]
    fw = min(16, max(len(f) for f, _ in cols))
    vw = min(20, max(len(x) for _, x in cols))
    out: list[str] = []
    for e, (field, value) in zip(shown, cols, strict=True):
        value = value if len(value) <= vw else value[: vw - 1] + "…"
        prefix = f"    {e.weight:+.2f}  {inert(field):<{fw}}  {inert(value):<{vw}}  "
        if long:
            out.extend(_long_form(e, descriptions, prefix, width))
            continue
        desc, items = e.words(descriptions)
        desc, items = inert(desc, None), [inert(x, None) for x in items]
        room = (width or 10**6) - len(prefix)
        obs = ", ".join(items)
        if items and len(desc) + 3 + len(obs) > room:
            # The meaning keeps at least half the room; whole observed values take what is left.
            full = desc
            desc = fit_words(full, max(room // 2, room - 3 - len(obs)))
            obs = fit_items(items, room - 3 - len(desc))
            desc = fit_words(full, room - 3 - len(obs))  # what the values left unused
        text = f"{desc} · {obs}" if obs else fit_words(desc, room)
        line = prefix + text
        if width is not None and len(line) > width:
            line = line[: width - 1] + "…"
        out.append(line)
    return out


def _long_form(e: EvidenceLine, descriptions: Mapping[str, str], prefix: str, width: int | None) -> list[str]:
    """The whole item: rule id and where it is, its description, its condition, every value seen."""
    item = e.items[0]
    indent = " " * len(prefix)
    wrap_width = max(40, (width or 10**6))

    def wrapped(label: str, text: str) -> list[str]:
        return textwrap.wrap(inert(text, None), width=wrap_width, initial_indent=indent + label,
                             subsequent_indent=indent + " " * len(label), break_on_hyphens=False)

    where = f"  ({item.where})" if item.where else ""
    out = [(prefix + inert(e.rule + where, None))[:wrap_width]]
    if e.is_base:
        votes = ", ".join(f"{f} {v}" for f, v in zip(e.fields, e.values, strict=True))
        out += wrapped("", f"the config's fingerprint matches base {e.rule.removeprefix('base:')} (votes {votes})")
        out += wrapped("matched:  ", ", ".join(_fingerprint(item.observed)))
        return out
    if descriptions.get(item.rule):
        out += wrapped("", descriptions[item.rule])
    out += wrapped("when:     ", item.signal)
    if item.observed:
        out += wrapped("observed: ", "; ".join(number_pairs(item.observed)))
    return out


def number_pairs(observed: str) -> list[str]:
    """`key = value` parts of an observed string with their numbers in one format."""
    out = []
    for part in filter(None, (p.strip() for p in observed.split("; "))):
        key, sep, val = part.partition(" = ")
        out.append(f"{key} = {number(val)}" if sep else part)
    return out


def _finish(lines: list[list[_Seg]], width: int | None, color: bool) -> str:
    return "\n".join(_render(segs, width, color) for segs in lines)
