"""Facts + RuleSet -> the outcome of every rule, each predicate with what it expected and observed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import condition as cond
from . import dimexpr
from .facts import Facts, config_get
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


ValueCheck = Callable[[bool, Any], bool]  # (found, value) -> holds


def _key(v: Any) -> tuple | None:
    """A hashable stand-in with _eq's equality (numbers by value, bools apart); None when there is none."""
    if v is None:
        return ("none",)
    if isinstance(v, bool):
        return ("bool", v)
    if isinstance(v, int | float):
        n = _num(v)
        return ("num", n) if n is not None else ("int", v)
    if isinstance(v, str):
        return ("str", v)
    return None


def _value_check(ops: dict[str, Any]) -> ValueCheck:
    """`all(_value_op(...))` over a predicate's ops, with `in` / `not_in` / `equals` as set lookups
    when every argument has a key (rules list dozens of vocab sizes and model types)."""
    fast: list[tuple[str, frozenset]] = []
    slow: list[tuple[str, Any]] = []
    for op, arg in ops.items():
        args = [arg] if op in ("equals", "not_equals") else arg if op in ("in", "not_in") and isinstance(arg, list) else None
        keys = [_key(a) for a in args] if args is not None else None
        if keys is not None and all(k is not None for k in keys):
            fast.append((op, frozenset(keys)))
        else:
            slow.append((op, arg))

    def check(found: bool, v: Any) -> bool:
        if fast:
            if not found:
                return False
            k = _key(v)
            for op, keys in fast:
                # A value without a key (a list, a dict) equals no scalar.
                hit = k is not None and k in keys
                if hit != (op in ("equals", "in")):
                    return False
        return all(_value_op(op, arg, found, v) for op, arg in slow)

    return check


class _Evaluator:
    def __init__(self, facts: Facts) -> None:
        self.facts = facts
        self.cache: dict[int, PredicateOutcome] = {}
        self.truth: dict[str, bool] = {}
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

    def _lookup(self, p: Predicate) -> tuple[bool, Any]:
        return self.facts.get(p.key) if p.subject == "fact" else config_get(self.facts.config, p.key)

    def _value(self, p: Predicate) -> PredicateOutcome:
        found, v = self._lookup(p)
        holds = all(_value_op(op, arg, found, v) for op, arg in p.ops.items())
        return PredicateOutcome(p, holds, _fmt(v) if found else "missing")

    def holds(self, p: Predicate, sig: str, check: ValueCheck | None) -> bool:
        """Whether `p` holds, shared by every predicate that reads the same (the screen's `sig`)."""
        t = self.truth.get(sig)
        if t is None:
            t = self.truth[sig] = check(*self._lookup(p)) if check is not None else self.predicate(p).holds
        return t

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
                want = [d if isinstance(d, int) or d == "*" else dimexpr.parse(d).value(lambda n: self.facts.get(n)[1]) for d in arg]
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


Truth = Callable[[str], bool]  # a selection's name -> whether it holds
Order = tuple[tuple[Predicate, str, ValueCheck | None], ...]  # a selection's predicates as the screen runs them


def _compile(tree: object, names: tuple[str, ...]) -> Callable[[Truth], bool]:
    """A condition as a closure over selection truths, asking for each only when needed; the same
    answers as condition.evaluate."""
    if isinstance(tree, cond.Sel):
        name = tree.name
        if name not in names:
            return lambda t: False
        return lambda t: t(name)
    if isinstance(tree, cond.Not):
        inner = _compile(tree.arg, names)
        return lambda t: not inner(t)
    if isinstance(tree, cond.And | cond.Or):
        parts = tuple(_compile(a, names) for a in tree.args)
        if isinstance(tree, cond.And):
            return lambda t: all(f(t) for f in parts)
        return lambda t: any(f(t) for f in parts)
    if isinstance(tree, cond.Of):
        picked = tuple(cond.expand(tree.prefix, list(names)))
        if tree.count is None:
            return lambda t: bool(picked) and all(t(n) for n in picked)
        need = tree.count

        def at_least(t: Truth) -> bool:
            hits = 0
            for n in picked:
                if t(n):
                    hits += 1
                    if hits >= need:
                        return True
            return hits >= need

        return at_least
    raise TypeError(tree)


@dataclass
class _Screen:
    """Per rule set, for rules that need only a yes or no: each condition compiled, each selection's
    predicates with the cheap value checks first, one signature per distinct check (rules repeat
    many of them)."""

    rules: list[tuple[Rule, Callable[[Truth], bool] | None, dict[str, Order]]]


_SCREENS: dict[int, tuple[RuleSet, int, _Screen]] = {}


def _screen(rules: RuleSet) -> _Screen:
    got = _SCREENS.get(id(rules))
    if got is not None and got[0] is rules and got[1] == len(rules.rules):
        return got[2]
    compiled = []
    for rule in rules.rules:
        order = {}
        for name, sel in rule.selections.items():
            preds = sorted(sel.predicates, key=lambda p: p.subject in ("tensor", "file"))
            order[name] = tuple((p, f"{p.subject}\0{p.key}\0{p.ops!r}",
                                 _value_check(p.ops) if p.subject in ("fact", "config") else None) for p in preds)
        fires = _compile(rule.condition, tuple(rule.selections)) if rule.condition is not None else None
        compiled.append((rule, fires, order))
    if len(_SCREENS) >= 8:
        _SCREENS.clear()
    screen = _Screen(compiled)
    _SCREENS[id(rules)] = (rules, len(rules.rules), screen)
    return screen


def _fires(ev: _Evaluator, fires: Callable[[Truth], bool], order: dict[str, Order]) -> bool:
    known: dict[str, bool] = {}
    holds = ev.holds

    def truth(name: str) -> bool:
        t = known.get(name)
        if t is None:
            t = known[name] = all(holds(p, sig, check) for p, sig, check in order[name])
        return t

    return fires(truth)


def evaluate(facts: Facts, rules: RuleSet, only: set[str] | None = None, *, full: bool = True) -> Evaluation:
    """Every rule's outcome. With `full=False` a rule that does not fire keeps no predicate outcomes
    (its selections stop at their first failing predicate); a rule that fires is complete either way,
    so verdicts and their evidence are the same."""
    ev = _Evaluator(facts)
    out = Evaluation()
    if not full:
        for rule, fires, order in _screen(rules).rules:
            if (only is not None and rule.id not in only) or rule.status == "deprecated":
                continue
            if fires is None or not _fires(ev, fires, order):
                out.outcomes.append(RuleOutcome(rule, False, {}))
            else:
                out.outcomes.append(_complete(ev, rule))
        return out
    for rule in rules.rules:
        if only is not None and rule.id not in only:
            continue
        if rule.status == "deprecated":
            continue
        out.outcomes.append(_complete(ev, rule))
    return out


def _complete(ev: _Evaluator, rule: Rule) -> RuleOutcome:
    sels: dict[str, SelectionOutcome] = {}
    for name, sel in rule.selections.items():
        outs = tuple(ev.predicate(p) for p in sel.predicates)
        sels[name] = SelectionOutcome(name, all(o.holds for o in outs), outs)
    holds = cond.evaluate(rule.condition, {n: s.holds for n, s in sels.items()}) if rule.condition is not None else False
    return RuleOutcome(rule, holds, sels)
