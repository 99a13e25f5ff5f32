"""The `condition:` language: selection names with and / or / not, parentheses, `1 of x*`, `all of x*`.

Parsed into a small tree, never evaluated with eval(). `and` binds tighter than `or`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

_TOKEN = re.compile(r"\s*(\(|\)|[A-Za-z0-9_.*\-]+)")
MAX_DEPTH = 32  # nested parentheses and `not`s: the parser recurses on them
KEYWORDS = {"and", "or", "not", "of", "all", "any"}


class ConditionError(ValueError):
    def __init__(self, message: str, col: int = 0) -> None:
        self.col = col
        super().__init__(message)


@dataclass(frozen=True)
class Sel:
    name: str


@dataclass(frozen=True)
class Not:
    arg: object


@dataclass(frozen=True)
class And:
    args: tuple


@dataclass(frozen=True)
class Or:
    args: tuple


@dataclass(frozen=True)
class Of:
    count: int | None  # None: all
    prefix: str  # a name, or a prefix ending in *


def parse(text: str) -> object:
    tokens: list[tuple[str, int]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if not m:
            raise ConditionError(f"unexpected character {text[pos:].strip()[0]!r}", pos)
        tokens.append((m.group(1), m.start(1)))
        pos = m.end()
    if not tokens:
        raise ConditionError("empty condition")
    parser = _Parser(tokens)
    tree = parser.expr()
    if parser.i != len(tokens):
        tok, col = tokens[parser.i]
        raise ConditionError(f"unexpected {tok!r}", col)
    return tree


class _Parser:
    def __init__(self, tokens: list[tuple[str, int]]) -> None:
        self.tokens = tokens
        self.i = 0
        self.depth = 0

    def peek(self) -> str | None:
        return self.tokens[self.i][0] if self.i < len(self.tokens) else None

    def take(self) -> tuple[str, int]:
        if self.i >= len(self.tokens):
            raise ConditionError("condition ends too early", self.tokens[-1][1] if self.tokens else 0)
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def expr(self) -> object:
        args = [self.term()]
        while self.peek() == "or":
            self.take()
            args.append(self.term())
        return args[0] if len(args) == 1 else Or(tuple(args))

    def term(self) -> object:
        args = [self.factor()]
        while self.peek() == "and":
            self.take()
            args.append(self.factor())
        return args[0] if len(args) == 1 else And(tuple(args))

    def factor(self) -> object:
        tok, col = self.take()
        if tok in ("not", "("):
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise ConditionError(f"condition nests `not` and parentheses deeper than {MAX_DEPTH}", col)
            try:
                return self._nested(tok)
            finally:
                self.depth -= 1
        return self._leaf(tok, col)

    def _nested(self, tok: str) -> object:
        if tok == "not":
            return Not(self.factor())
        if tok == "(":
            inner = self.expr()
            close, ccol = self.take()
            if close != ")":
                raise ConditionError("missing ')'", ccol)
            return inner
        raise AssertionError(tok)

    def _leaf(self, tok: str, col: int) -> object:
        if tok in ("all", "any") or tok.isdigit():
            if self.peek() != "of":
                if tok.isdigit() or tok in KEYWORDS:
                    raise ConditionError(f"expected 'of' after {tok!r}", col)
            else:
                self.take()
                target, _ = self.take()
                count = None if tok == "all" else (1 if tok == "any" else int(tok))
                return Of(count, target)
        if tok in KEYWORDS or tok == ")":
            raise ConditionError(f"unexpected {tok!r}", col)
        return Sel(tok)


def names(tree: object) -> set[str]:
    """Selection names (and `prefix*` patterns) a condition refers to."""
    if isinstance(tree, Sel):
        return {tree.name}
    if isinstance(tree, Not):
        return names(tree.arg)
    if isinstance(tree, And | Or):
        return set().union(*(names(a) for a in tree.args))
    if isinstance(tree, Of):
        return {tree.prefix}
    return set()


def expand(ref: str, available: list[str]) -> list[str]:
    if ref == "them":
        return list(available)
    if ref.endswith("*"):
        return [n for n in available if n.startswith(ref[:-1])]
    return [ref] if ref in available else []


Truth = Callable[[str], bool]  # a selection's name -> whether it holds


def to_closure(tree: object, names: tuple[str, ...], leaves: Mapping[str, Any] | None = None) -> Callable[[Callable[[Any], bool]], bool]:
    """A condition as a closure over selection truths, asking for each only when needed (the engine
    computes a selection only if the condition reaches it). Compiled once when rules load. With
    `leaves`, the truth function is asked about `leaves[name]` rather than the name (the engine's
    yes/no pass hands it the selections themselves, saving a lookup per question)."""
    def leaf(name: str) -> Any:
        return leaves[name] if leaves is not None else name

    if isinstance(tree, Sel):
        if tree.name not in names:
            return lambda t: False
        key = leaf(tree.name)
        return lambda t: t(key)
    if isinstance(tree, Not):
        inner = to_closure(tree.arg, names, leaves)
        return lambda t: not inner(t)
    if isinstance(tree, And | Or):
        parts = tuple(to_closure(a, names, leaves) for a in tree.args)
        return _all_of(parts) if isinstance(tree, And) else _any_of(parts)
    if isinstance(tree, Of):
        picked = tuple(leaf(n) for n in expand(tree.prefix, list(names)))
        if tree.count is None:
            return lambda t: bool(picked) and all(t(n) for n in picked)
        need = tree.count

        def at_least(t: Callable[[Any], bool]) -> bool:
            hits = 0
            for n in picked:
                if t(n):
                    hits += 1
                    if hits >= need:
                        return True
            return hits >= need

        return at_least
    raise TypeError(tree)


# `and` / `or` without a generator (two parts, the usual case, inline): every rule's condition runs per target.
def _all_of(parts: tuple[Callable, ...]) -> Callable:
    if len(parts) == 2:
        a, b = parts
        return lambda t: a(t) and b(t)

    def all_hold(t: Callable[[Any], bool]) -> bool:
        for f in parts:  # noqa: SIM110 - no generator per call
            if not f(t):
                return False
        return True

    return all_hold


def _any_of(parts: tuple[Callable, ...]) -> Callable:
    if len(parts) == 2:
        a, b = parts
        return lambda t: a(t) or b(t)

    def any_holds(t: Callable[[Any], bool]) -> bool:
        for f in parts:  # noqa: SIM110 - no generator per call
            if f(t):
                return True
        return False

    return any_holds


def needed(tree: object, names: tuple[str, ...]) -> tuple[frozenset[str], ...]:
    """What the condition cannot hold without: groups of selections, each with one at least that
    must hold (`a and (b or c)`: {a}, {b, c}); the engine skips a rule at once when every selection
    of a group fails a cheap check. Empty when nothing is needed (`not a`, `a or not b`)."""
    if isinstance(tree, Sel):
        return (frozenset({tree.name}),) if tree.name in names else ()
    if isinstance(tree, And):
        return tuple(dict.fromkeys(g for a in tree.args for g in needed(a, names)))
    if isinstance(tree, Or):
        parts = [needed(a, names) for a in tree.args]
        # Each alternative needs something, so one of those is needed (the first group of each).
        return (frozenset().union(*(p[0] for p in parts)),) if parts and all(parts) else ()
    if isinstance(tree, Of):
        picked = expand(tree.prefix, list(names))
        if picked and (tree.count is None or tree.count >= len(picked)):
            return tuple(frozenset({n}) for n in picked)
        if picked and tree.count >= 1:
            return (frozenset(picked),)
    return ()  # Not, or `0 of`


def evaluate(tree: object, values: Mapping[str, bool]) -> bool:
    """The condition's value for known selection truths (the compiled form, run once)."""
    return to_closure(tree, tuple(values))(lambda n: bool(values[n]))
