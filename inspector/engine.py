"""Facts + RuleSet -> the outcome of every rule, each predicate with what it expected and observed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import condition as cond
from .facts import Facts, config_get, eval_dim
from .patterns import compile_regex, compile_tensor_pattern, glob_match
from .ruleset import Predicate, Rule, RuleSet

MAX_NAMES_SHOWN = 5


@dataclass(frozen=True)
class PredicateOutcome:
    predicate: Predicate
    holds: bool
    observed: str  # short, human: "152064", "28/28 layers", "absent"
    names: tuple[str, ...] = ()  # a few matched tensor or file names
    count: int = 0


@dataclass(frozen=True)
class SelectionOutcome:
    name: str
    holds: bool
    predicates: tuple[PredicateOutcome, ...]


@dataclass(frozen=True)
class RuleOutcome:
    rule: Rule
    holds: bool
    selections: dict[str, SelectionOutcome]

    def deciding(self) -> list[PredicateOutcome]:
        """The predicates of the selections that held: the evidence worth showing."""
        return [p for s in self.selections.values() if s.holds for p in s.predicates]


@dataclass
class Evaluation:
    outcomes: list[RuleOutcome] = field(default_factory=list)

    @property
    def fired(self) -> list[RuleOutcome]:
        return [o for o in self.outcomes if o.holds]


def _fmt(v: Any) -> str:
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e16:
        return str(int(v)) if abs(v) < 1e6 else f"{v:g}"
    if isinstance(v, str):
        return v if len(v) <= 80 else v[:77] + "..."
    if isinstance(v, list):
        s = "[" + ", ".join(_fmt(x) for x in v[:6]) + (", ..." if len(v) > 6 else "") + "]"
        return s
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {_fmt(x)}" for k, x in list(v.items())[:4]) + (", ..." if len(v) > 4 else "") + "}"
    return str(v)


def _num(v: Any) -> float | None:
    if not isinstance(v, int | float) or isinstance(v, bool):
        return None
    try:
        return float(v)
    except OverflowError:  # an integer beyond any float compares with nothing
        return None


def _eq(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b or (isinstance(a, bool) and isinstance(b, bool) and a == b)
    na, nb = _num(a), _num(b)
    if na is not None and nb is not None:
        return na == nb
    return a == b


def _strings(v: Any, depth: int = 0) -> list[str]:
    if depth > 6:
        return []
    if isinstance(v, str):
        return [v]
    if isinstance(v, list):
        return [s for x in v[:1000] for s in _strings(x, depth + 1)]
    if isinstance(v, dict):
        return [s for x in list(v.values())[:1000] for s in _strings(x, depth + 1)]
    return []


def _value_op(op: str, arg: Any, found: bool, v: Any) -> bool:
    if op == "exists":
        return found == arg
    if not found:
        return False
    if op == "equals":
        return _eq(v, arg)
    if op == "not_equals":
        return not _eq(v, arg)
    if op == "in":
        return any(_eq(v, a) for a in arg)
    if op == "not_in":
        return not any(_eq(v, a) for a in arg)
    if op in ("gte", "gt", "lte", "lt", "between"):
        x = _num(v)
        if x is None:
            return False
        if op == "between":
            return arg[0] <= x <= arg[1]
        return {"gte": x >= arg, "gt": x > arg, "lte": x <= arg, "lt": x < arg}[op]
    if op == "matches":
        rx = compile_regex(arg)
        return any(rx.search(s) for s in _strings(v))
    if op == "contains":
        if isinstance(v, list):
            return any(_eq(x, arg) for x in v)
        return isinstance(v, str) and isinstance(arg, str) and arg in v
    return False


class _Evaluator:
    def __init__(self, facts: Facts) -> None:
        self.facts = facts
        self.cache: dict[int, PredicateOutcome] = {}
        self.matches: dict[str, list] = {}  # tensor pattern -> matched tensors, shared by every rule
        self.layers = facts.values.get("num_layers") if isinstance(facts.values.get("num_layers"), int) else None
        if not self.layers or self.layers <= 0:
            self.layers = facts.values.get("layer_count")

    def predicate(self, p: Predicate) -> PredicateOutcome:
        key = id(p)
        if key not in self.cache:
            fn = {"fact": self._value, "config": self._value, "tensor": self._tensor, "file": self._file}[p.subject]
            self.cache[key] = fn(p)
        return self.cache[key]

    def _value(self, p: Predicate) -> PredicateOutcome:
        if p.subject == "fact":
            found, v = self.facts.get(p.key)
        else:
            found, v = config_get(self.facts.config, p.key)
        holds = all(_value_op(op, arg, found, v) for op, arg in p.ops.items())
        return PredicateOutcome(p, holds, _fmt(v) if found else "missing")

    def _matched(self, pattern: str) -> list:
        if pattern not in self.matches:
            skel_rx, real_rx, literal = compile_tensor_pattern(pattern)
            found = []
            for skel, group in self.facts.tensors.by_skeleton.items():
                if skel_rx.search(skel):
                    # Digits stand as `#` in skeletons: a literal layer number needs the real names.
                    found.extend(t for t in group if real_rx.search(t.name)) if literal else found.extend(group)
            self.matches[pattern] = found
        return self.matches[pattern]

    def _tensor(self, p: Predicate) -> PredicateOutcome:
        _skel_rx, real_rx, _literal = compile_tensor_pattern(p.key)
        matched = self._matched(p.key)
        count = len(matched)
        names = tuple(sorted(t.name for t in matched)[:MAX_NAMES_SHOWN])
        results: list[bool] = []
        observed: list[str] = []
        for op, arg in p.ops.items():
            if op == "present":
                results.append((count > 0) == arg)
                observed.append(f"{count} matching" if count else "absent")
            elif op == "min_count":
                results.append(count >= arg)
                observed.append(f"{count} matching")
            elif op == "max_count":
                results.append(count <= arg)
                observed.append(f"{count} matching")
            elif op == "layers":
                layer_ids = set()
                for t in matched:
                    m = real_rx.search(t.name)
                    if m and m.groupdict().get("layer") is not None:
                        layer_ids.add(int(m.group("layer")))
                total = self.layers
                if not total:
                    results.append(False)
                    observed.append(f"in {len(layer_ids)} layers of an unknown count")
                else:
                    results.append(len(layer_ids) / total >= arg)
                    observed.append(f"in {len(layer_ids)}/{total} layers")
            elif op == "shape":
                want = [d if isinstance(d, int) or d == "*" else eval_dim(d, self.facts) for d in arg]
                known = [t for t in matched if t.shape is not None]
                if not known:
                    results.append(False)
                    observed.append("no shape known" if matched else "absent")
                elif any(w is None for w in want):
                    results.append(False)
                    observed.append("a dimension's fact is missing")
                else:
                    bad = [t for t in known if len(t.shape) != len(want) or any(w != "*" and w != s for w, s in zip(want, t.shape, strict=False))]
                    results.append(not bad)
                    shown = bad[0] if bad else known[0]
                    observed.append(f"shape {list(shown.shape)}" + (f" (want {want})" if bad else ""))
            elif op == "dtype":
                known = [t for t in matched if t.dtype is not None]
                ok = bool(known) and all(t.dtype in arg for t in known)
                results.append(ok)
                observed.append("dtype " + ",".join(sorted({t.dtype for t in known})) if known else "no dtype known")
        return PredicateOutcome(p, all(results), "; ".join(dict.fromkeys(observed)), names, count)

    def _file(self, p: Predicate) -> PredicateOutcome:
        hits = [f for f in self.facts.files if glob_match(p.key, f)]
        want = p.ops.get("present", True)
        return PredicateOutcome(p, (len(hits) > 0) == want, f"{len(hits)} matching" if hits else "absent", tuple(hits[:MAX_NAMES_SHOWN]), len(hits))


def evaluate(facts: Facts, rules: RuleSet, only: set[str] | None = None) -> Evaluation:
    ev = _Evaluator(facts)
    out = Evaluation()
    for rule in rules.rules:
        if only is not None and rule.id not in only:
            continue
        if rule.status == "deprecated":
            continue
        sels: dict[str, SelectionOutcome] = {}
        for name, sel in rule.selections.items():
            outs = tuple(ev.predicate(p) for p in sel.predicates)
            sels[name] = SelectionOutcome(name, all(o.holds for o in outs), outs)
        holds = cond.evaluate(rule.condition, {n: s.holds for n, s in sels.items()}) if rule.condition is not None else False
        out.outcomes.append(RuleOutcome(rule, holds, sels))
    return out
