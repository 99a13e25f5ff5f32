"""Facts + RuleSet -> the outcome of every rule, each predicate with what it expected and observed."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from .facts import Facts, TensorIndex, config_get
from .operators import MEMO_CHARS, MEMO_ENTRIES, VALUE_SUBJECTS, Matched
from .patterns import compile_tensor_pattern, glob_match
from .ruleset import Predicate, Rule, RuleSet, Selection

MAX_NAMES_SHOWN = 5
_SKELETON_HITS: dict[str, dict[str, bool]] = {}  # tensor pattern -> skeleton -> whether it matches
# A target's skeletons (one tuple per architecture and layout) -> tensor pattern -> the skeletons it
# matches: a pattern costs a target one lookup once its architecture has been seen.
_LAYOUT_HITS: dict[tuple[str, ...], dict[str, tuple[str, ...]]] = {}
MAX_LAYOUTS = 256


def _layout_hits(tensors: TensorIndex) -> dict[str, tuple[str, ...]]:
    """The pattern -> skeletons memo of this target's layout (a fresh one when it is too large to keep)."""
    layout = tuple(tensors.by_skeleton)
    hits = _LAYOUT_HITS.get(layout)
    if hits is None:
        hits = {}
        if len(_LAYOUT_HITS) < MAX_LAYOUTS and len(layout) <= MEMO_ENTRIES and all(len(s) <= MEMO_CHARS for s in layout):
            _LAYOUT_HITS[layout] = hits
    return hits


# Predicate and selection outcomes are plain dataclasses: a target makes a few hundred, a frozen
# one costs three times as much to make, and nothing changes them once the engine has.
@dataclass
class PredicateOutcome:
    predicate: Predicate
    holds: bool
    observed: str  # short, human: "152064", "28/28 layers", "absent"
    names: tuple[str, ...] = ()  # a few matched tensor or file names
    count: int = 0


@dataclass
class SelectionOutcome:
    name: str
    holds: bool
    predicates: tuple[PredicateOutcome, ...]


@dataclass(frozen=True)
class RuleOutcome:
    rule: Rule
    holds: bool
    selections: dict[str, SelectionOutcome]  # empty when the rule did not fire (and full=False)

    def deciding(self) -> list[PredicateOutcome]:
        """The predicates of the selections that held: the evidence worth showing."""
        return [p for s in self.selections.values() if s.holds for p in s.predicates]


@dataclass
class Outcomes:
    rules: list[Rule] = field(default_factory=list)  # the rules evaluated, in order
    # By position in `rules`: the outcomes made in full (every rule's with full=True, else those that fire).
    complete: dict[int, RuleOutcome] = field(default_factory=dict)
    # What another evaluation over the same tensors and config may reuse (see evaluate's `after`).
    evaluator: _Evaluator | None = field(default=None, repr=False, compare=False)

    @cached_property
    def all(self) -> list[RuleOutcome]:
        """Every rule's outcome; a rule not evaluated in full did not fire and shows no selections
        (made only when asked: verdicts read `fired`)."""
        return [self.complete.get(i) or RuleOutcome(r, False, {}) for i, r in enumerate(self.rules)]

    @property
    def fired(self) -> list[RuleOutcome]:
        return [o for o in self.complete.values() if o.holds]


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


class _Evaluator:
    """One target's facts against compiled predicates; what two rules share is computed once."""

    def __init__(self, facts: Facts, prior: _Evaluator | None = None) -> None:
        self.facts = facts
        self.cache: dict[int, PredicateOutcome] = {}
        self.truth: dict[str, bool] = {}
        self.matches: dict[str, list] = {}  # tensor pattern -> matched tensors, shared by every rule
        self.shown: dict[str, tuple[str, ...]] = {}  # tensor pattern -> the first names, sorted
        self.file_truth: dict[str, bool] = {}  # the file predicates' truths (a subset of `truth`)
        if prior is not None and prior.facts.tensors is facts.tensors:
            self.matches, self.shown = prior.matches, prior.shown  # names only: the same whatever the fact values
        if prior is not None and prior.facts.files is facts.files:  # config checks: the value memo answers them
            self.truth, self.file_truth = dict(prior.file_truth), prior.file_truth  # shared: the same files
        self.layout = _layout_hits(facts.tensors)
        self.layers = facts.values.get("num_layers") if isinstance(facts.values.get("num_layers"), int) else None
        if not self.layers or self.layers <= 0:
            self.layers = facts.values.get("layer_count")

    def predicate(self, p: Predicate) -> PredicateOutcome:
        """The full outcome: whether it holds, what was observed, a few matched names."""
        o = self.cache.get(id(p))
        if o is None:
            o = self.cache[id(p)] = self._value(p) if p.subject in VALUE_SUBJECTS else self._match(p)
        return o

    def holds(self, p: Predicate) -> bool:
        """Whether `p` holds, shared by every predicate with its signature; a value predicate
        reads its value and nothing more."""
        t = self.truth.get(p.sig)
        if t is None:
            if p.subject in VALUE_SUBJECTS:
                t = p.value_holds(*self._lookup(p))
            elif id(p) in self.cache:
                t = self.cache[id(p)].holds
            elif p.presence is not None and p.subject == "tensor":  # `present` alone: no Matched, no observed text
                t = bool(self._tensors(p.key)) == p.presence
            else:  # yes or no only: no names, and the tests stop at the first that fails
                matched = self._matched(p)
                t = all(test(matched)[0] for test in p.tests)
            self.truth[p.sig] = t
            if p.subject == "file":
                self.file_truth[p.sig] = t
        return t

    def _lookup(self, p: Predicate) -> tuple[bool, Any]:
        return self.facts.get(p.key) if p.subject == "fact" else config_get(self.facts.config, p.key)

    def _value(self, p: Predicate) -> PredicateOutcome:
        found, v = self._lookup(p)
        return PredicateOutcome(p, self.holds(p), _fmt(v) if found else "missing")

    def _tensors(self, pattern: str) -> list:
        if pattern not in self.matches:
            skel_rx, real_rx, literal = compile_tensor_pattern(pattern)
            groups = self.facts.tensors.by_skeleton
            skels = self.layout.get(pattern)
            if skels is None:
                # Skeletons repeat from repo to repo (one per architecture): each is searched once a run.
                hits = _SKELETON_HITS.get(pattern)
                if hits is None:
                    hits = {} if len(_SKELETON_HITS) >= MEMO_ENTRIES else _SKELETON_HITS.setdefault(pattern, {})
                found_skels = []
                for skel in groups:
                    hit = hits.get(skel)
                    if hit is None:
                        hit = skel_rx.search(skel) is not None
                        if len(skel) <= MEMO_CHARS and len(hits) < MEMO_ENTRIES:
                            hits[skel] = hit
                    if hit:
                        found_skels.append(skel)
                skels = self.layout[pattern] = tuple(found_skels)
            found = []
            for skel in skels:
                # Digits stand as `#` in skeletons: a literal layer number needs the real names.
                found.extend(t for t in groups[skel] if real_rx.search(t.name)) if literal else found.extend(groups[skel])
            self.matches[pattern] = found
        return self.matches[pattern]

    def _matched(self, p: Predicate) -> Matched:
        if p.subject == "tensor":
            real_rx = compile_tensor_pattern(p.key)[1]

            def layer_of(t) -> int | None:
                m = real_rx.search(t.name)
                layer = m.groupdict().get("layer") if m else None
                return int(layer) if layer is not None else None

            return Matched(self._tensors(p.key), self.layers, layer_of, lambda n: self.facts.get(n)[1])
        return Matched([f for f in self.facts.files if glob_match(p.key, f)])

    def _match(self, p: Predicate) -> PredicateOutcome:
        matched = self._matched(p)
        if p.subject == "tensor":
            names = self.shown.get(p.key)
            if names is None:
                names = self.shown[p.key] = tuple(sorted(t.name for t in matched.items)[:MAX_NAMES_SHOWN])
        else:
            names = tuple(matched.items[:MAX_NAMES_SHOWN])
        results = [test(matched) for test in p.tests]
        if len(results) == 1:  # one operator, as most predicates have
            holds, observed = results[0]
        else:
            holds, observed = all(h for h, _o in results), "; ".join(dict.fromkeys(o for _h, o in results))
        return PredicateOutcome(p, holds, observed, names, matched.count)

    def selection_holds(self, sel: Selection) -> bool:
        truth = self.truth
        for p in sel.quick_order:  # holds(), inlined: this loop is most of a verdict's time
            t = truth.get(p.sig)
            if t is None:
                t = self.holds(p)
            if not t:
                return False
        return True


def evaluate(facts: Facts, rules: RuleSet, only: set[str] | None = None, *, full: bool = True,
             after: Outcomes | None = None) -> Outcomes:
    """Every rule's outcome. With `full=False` a rule that does not fire keeps no predicate outcomes
    (its selections stop at their first failing predicate); a rule that fires is complete either way,
    so verdicts and their evidence are the same. `after`: an evaluation of the same target (other
    rules, or facts extended from the same snapshot) whose tensor matches and file checks are reused."""
    ev = _Evaluator(facts, after.evaluator if after is not None else None)
    config = facts.config
    rules.value_checks.answer(ev.truth, facts.values, lambda path: config_get(config, path))
    evaluated = rules.active if only is None else [r for r in rules.active if r.id in only]
    out = Outcomes(evaluated, evaluator=ev)
    if full:
        out.complete = {i: _complete(ev, rule) for i, rule in enumerate(evaluated)}
        return out
    complete, truth, holds, selection_holds = out.complete, ev.truth, ev.holds, ev.selection_holds
    # The yes/no pass (most rules fail here, most at a gate): gates, then the condition, which
    # computes a selection only when it asks for it. A rule that does not fire costs nothing more.
    for i, rule in enumerate(evaluated):
        fires = rule.fires_on is not None
        for group in rule.gates if fires else ():
            for p in group:  # one of a group must hold
                t = truth.get(p.sig)
                if t is None:
                    t = holds(p)
                if t:
                    break
            else:
                fires = False
                break
        if fires and rule.fires_on(selection_holds):
            complete[i] = _complete(ev, rule, True)
    return out


def _complete(ev: _Evaluator, rule: Rule, holds: bool | None = None) -> RuleOutcome:
    """Every predicate's outcome; `holds`: whether the rule fires, when the yes/no pass knows it."""
    sels: dict[str, SelectionOutcome] = {}
    predicate = ev.predicate
    for name, sel in rule.selections.items():
        outs = tuple([predicate(p) for p in sel.predicates])
        sels[name] = SelectionOutcome(name, all([o.holds for o in outs]), outs)
    if holds is None:
        holds = rule.fires_on(lambda s: sels[s.name].holds) if rule.fires_on is not None else False
    return RuleOutcome(rule, holds, sels)
