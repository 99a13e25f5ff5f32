"""`--explain`: why the verdict is what it is. Per field the scores and the rules behind the winner
and the runner-up; then the rules that held; then the runner-up's near misses (the rules that
would have raised it, closest first); every other rule only on request."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .engine import Outcomes, RuleOutcome
from .errors import UsageError, did_you_mean
from .inert import inert
from .verdict import FIELDS, Verdict

NEAR_MISSES = 5  # per field


@dataclass
class Board:
    """One field's scores: who voted for which value, ranked."""

    field: str
    winner: str | None
    ranked: list[tuple[str, float]]
    voters: dict[str, list[tuple[str, float]]] = field(default_factory=dict)

    @property
    def runner_up(self) -> str | None:
        return self.ranked[1][0] if len(self.ranked) > 1 else None


def boards(v: Verdict, outcomes: Outcomes) -> list[Board]:
    out = []
    for f in FIELDS:
        totals: dict[str, float] = {}
        voters: dict[str, list[tuple[str, float]]] = {}
        for o in outcomes.fired:
            if f in o.rule.votes:
                totals[o.rule.votes[f]] = totals.get(o.rule.votes[f], 0.0) + o.rule.weight
                voters.setdefault(o.rule.votes[f], []).append((o.rule.id, o.rule.weight))
        for e in v.evidence:
            if e.rule.startswith("base:") and e.field == f:
                totals[e.value] = totals.get(e.value, 0.0) + e.weight
                voters.setdefault(e.value, []).append((e.rule, e.weight))
        out.append(Board(f, getattr(v, f), sorted(totals.items(), key=lambda kv: -kv[1]), voters))
    return out


def failing_predicates(o: RuleOutcome) -> int:
    """How far a rule that did not hold was from holding: its failing predicates."""
    return sum(not p.holds for s in o.selections.values() for p in s.predicates)


def near_misses(board: Board, outcomes: Outcomes) -> list[RuleOutcome]:
    """Rules that vote for the runner-up and did not hold, closest first."""
    if board.runner_up is None:
        return []
    misses = [o for o in outcomes.all
              if not o.holds and o.rule.votes.get(board.field) == board.runner_up and o.rule.weight > 0]
    return sorted(misses, key=lambda o: (failing_predicates(o), -o.rule.weight, o.rule.id))[:NEAR_MISSES]


def check_rule_ids(rule_ids: set[str], known: list[str]) -> None:
    """Unknown ids for `--rule` are a usage error with a did-you-mean (before any target is read)."""
    for rid in sorted(rule_ids - set(known)):
        raise UsageError(f"`rule_ids`: no rule {rid!r}" + did_you_mean(rid, known), names={"rule_ids": "`rule_ids`"})


# --- text ---------------------------------------------------------------------------------------
def _header(v: Verdict, bs: list[Board]) -> list[str]:
    lines = []
    for b in bs:
        board = ", ".join(f"{inert(k)} {s:+.2f}" for k, s in b.ranked[:4]) or "no rule held"
        lines.append(f"{b.field}: {inert(b.winner)} (margin {v.margins.get(b.field, 0):.2f}, "
                     f"confidence {v.confidences.get(b.field, 0):.2f}) <- {board}")
        # Who put the winner and the runner-up there: the rules an author would change.
        for value, _score in b.ranked[:2]:
            who = sorted(b.voters.get(value, []), key=lambda rw: -abs(rw[1]))
            shown = ", ".join(f"{r} {w:+.2f}" for r, w in who[:6]) + (f", +{len(who) - 6} more" if len(who) > 6 else "")
            lines.append(f"    {inert(value)}: {shown}")
    return lines


def _rule_block(o: RuleOutcome) -> list[str]:
    votes = ", ".join(f"{k}={val}" for k, val in o.rule.votes.items())
    mark = "HOLDS" if o.holds else "fails"
    lines = [f"{o.rule.loc}: {o.rule.id} [{votes}, weight {o.rule.weight:+.2f}] {mark}  (condition: {o.rule.condition_text})"]
    if o.rule.description:
        lines.append(f"    # {o.rule.description}")
    for s in o.selections.values():
        lines.append(f"    {s.name}: {'yes' if s.holds else 'no'}")
        for p in s.predicates:
            names = ""
            if p.names:
                more = f" +{p.count - len(p.names)} more" if p.count > len(p.names) else ""
                names = f"  e.g. {', '.join(inert(n) for n in p.names[:3])}{more}"
            lines.append(f"      {'ok  ' if p.holds else 'FAIL'} {p.predicate.subject} {p.predicate.text}  -> observed "
                         f"{inert(p.observed)}{names}  ({p.predicate.loc.line}:{p.predicate.loc.col})")
    return lines


def explain(v: Verdict, outcomes: Outcomes, *, rule_ids: set[str] | None = None, show_all: bool = False) -> str:
    bs = boards(v, outcomes)
    lines = _header(v, bs)
    if rule_ids:
        evaluated = {o.rule.id for o in outcomes.all}
        for rid in sorted(rule_ids - evaluated):
            lines.append(f"rule {rid!r} is deprecated: not evaluated")
        for o in outcomes.all:
            if o.rule.id in rule_ids:
                lines += ["", *_rule_block(o)]
        return "\n".join(lines + _traits_block(v, rule_ids))
    held = outcomes.fired
    lines += ["", f"rules that held ({len(held)}):"]
    for o in held:
        lines += _rule_block(o)
    shown = {o.rule.id for o in held}
    for b in bs:
        misses = near_misses(b, outcomes)
        if misses:
            lines += ["", f"near misses for the {b.field} runner-up {inert(b.runner_up)} (closest first):"]
            for o in misses:
                lines += _rule_block(o)
                shown.add(o.rule.id)
    rest = [o for o in outcomes.all if o.rule.id not in shown]
    if show_all:
        lines += ["", f"every other rule ({len(rest)}):"]
        for o in rest:
            lines += _rule_block(o)
    elif rest:
        lines += ["", f"{len(rest)} other rules did not hold (--explain-all shows them, --rule ID one of them)"]
    return "\n".join(lines + _traits_block(v, rule_ids))


def _traits_block(v: Verdict, rule_ids: set[str] | None) -> list[str]:
    """Each trait's rule and evidence, from the verdict itself."""
    from .traits import explain_traits

    return ["", *explain_traits(v.traits, rule_ids=rule_ids)] if v.traits else []


# --- JSON ---------------------------------------------------------------------------------------
def _rule_dict(o: RuleOutcome) -> dict[str, Any]:
    return {
        "id": o.rule.id, "file": o.rule.loc.file, "line": o.rule.loc.line, "votes": dict(o.rule.votes),
        "weight": o.rule.weight, "holds": o.holds, "condition": o.rule.condition_text,
        "description": o.rule.description, "status": o.rule.status, "family": o.rule.family, "tags": list(o.rule.tags),
        "author": o.rule.author, "references": list(o.rule.references), "related": [dict(r) for r in o.rule.related],
        "selections": {s.name: {"holds": s.holds, "predicates": [
            {"subject": p.predicate.subject, "key": p.predicate.key, "text": p.predicate.text, "holds": p.holds,
             "observed": p.observed, "names": list(p.names), "count": p.count,
             "line": p.predicate.loc.line, "col": p.predicate.loc.col} for p in s.predicates]}
            for s in o.selections.values()},
    }


def explain_dict(v: Verdict, outcomes: Outcomes, *, rule_ids: set[str] | None = None, show_all: bool = False) -> dict[str, Any]:
    """The same explanation for machines (`--explain --json`)."""
    bs = boards(v, outcomes)
    out: dict[str, Any] = {
        "target": v.target,
        "fields": {b.field: {"value": b.winner, "margin": v.margins.get(b.field, 0.0),
                             "confidence": v.confidences.get(b.field, 0.0), "scores": dict(b.ranked),
                             "runner_up": b.runner_up, "voters": {k: [list(rw) for rw in b.voters.get(k, [])] for k, _s in b.ranked[:2]}}
                   for b in bs},
    }
    if rule_ids:
        out["rules"] = [_rule_dict(o) for o in outcomes.all if o.rule.id in rule_ids]
        return out
    out["held"] = [_rule_dict(o) for o in outcomes.fired]
    out["near_misses"] = {b.field: [_rule_dict(o) for o in near_misses(b, outcomes)] for b in bs if b.runner_up}
    shown = {o.rule.id for o in outcomes.fired} | {r["id"] for rs in out["near_misses"].values() for r in rs}
    rest = [o for o in outcomes.all if o.rule.id not in shown]
    out["others"] = [_rule_dict(o) for o in rest] if show_all else len(rest)
    return out
