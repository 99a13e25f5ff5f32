"""`--explain`: every rule, every predicate, what it expected and what it saw; why the winner won."""

from __future__ import annotations

from .engine import Evaluation
from .errors import did_you_mean
from .verdict import FIELDS, Verdict


def explain(v: Verdict, evaluation: Evaluation, *, rule_ids: set[str] | None = None, only_fired: bool = False) -> str:
    lines: list[str] = []
    for f in FIELDS:
        totals: dict[str, float] = {}
        voters: dict[str, list[tuple[str, float]]] = {}
        for o in evaluation.fired:
            if f in o.rule.votes:
                totals[o.rule.votes[f]] = totals.get(o.rule.votes[f], 0.0) + o.rule.weight
                voters.setdefault(o.rule.votes[f], []).append((o.rule.id, o.rule.weight))
        for e in v.evidence:
            if e.rule.startswith("base:") and e.field == f:
                totals[e.value] = totals.get(e.value, 0.0) + e.weight
                voters.setdefault(e.value, []).append((e.rule, e.weight))
        ranked = sorted(totals.items(), key=lambda kv: -kv[1])
        board = ", ".join(f"{k} {s:+.2f}" for k, s in ranked[:4]) or "no rule held"
        winner = getattr(v, f)
        lines.append(f"{f}: {winner} (margin {v.margins.get(f, 0):.2f}, confidence {v.confidences.get(f, 0):.2f}) <- {board}")
        # Who put the winner and the runner-up there: the rules an author would change.
        for value, _score in ranked[:2]:
            who = sorted(voters.get(value, []), key=lambda rw: -abs(rw[1]))
            shown = ", ".join(f"{r} {w:+.2f}" for r, w in who[:6]) + (f", +{len(who) - 6} more" if len(who) > 6 else "")
            lines.append(f"    {value}: {shown}")
    if rule_ids:
        known = [o.rule.id for o in evaluation.outcomes]
        for rid in sorted(rule_ids - set(known)):
            lines.append(f"no rule {rid!r} was evaluated" + did_you_mean(rid, known, " (deprecated or unknown)"))
    lines.append("")
    for o in evaluation.outcomes:
        if rule_ids and o.rule.id not in rule_ids:
            continue
        if only_fired and not o.holds:
            continue
        votes = ", ".join(f"{k}={val}" for k, val in o.rule.votes.items())
        mark = "HOLDS" if o.holds else "fails"
        lines.append(f"{o.rule.loc}: {o.rule.id} [{votes}, weight {o.rule.weight:+.2f}] {mark}  (condition: {o.rule.condition_text})")
        for s in o.selections.values():
            lines.append(f"    {s.name}: {'yes' if s.holds else 'no'}")
            for p in s.predicates:
                names = ""
                if p.names:
                    more = f" +{p.count - len(p.names)} more" if p.count > len(p.names) else ""
                    names = f"  e.g. {', '.join(p.names[:3])}{more}"
                lines.append(f"      {'ok  ' if p.holds else 'FAIL'} {p.predicate.subject} {p.predicate.text}  -> observed {p.observed}{names}  ({p.predicate.loc.line}:{p.predicate.loc.col})")
    from .traits import explain_traits  # each trait's rule and evidence, from the verdict itself

    lines.extend(["", *explain_traits(v.traits, rule_ids=rule_ids)] if v.traits else [])
    return "\n".join(lines)
