"""Dimension expressions in `shape:` (`num_kv_heads * head_dim`): parsed once when rules load,
without recursion, and bounded, so a rule cannot make the loader or an audit slow or crash."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MAX_CHARS = 200
MAX_TERMS = 16  # names and integers; real rules use two or three
MAX_DEPTH = 8  # nested parentheses
MAX_VALUE = 1 << 62  # no tensor dimension is larger; bigger intermediate values mean no answer

_TOKEN = re.compile(r"\s*(?:(?P<num>[0-9]+(?:_[0-9]+)*)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<op>//|[-+*()]))")
_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "//": 2, "neg": 3}


class DimError(ValueError):
    pass


@dataclass(frozen=True)
class DimExpr:
    """A parsed expression: postfix steps over fact names and integers."""

    text: str
    steps: tuple[tuple[str, Any], ...]  # ("num", 4) | ("name", "head_dim") | ("op", "*")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(v for k, v in self.steps if k == "name")

    def value(self, lookup: Callable[[str], Any]) -> int | None:
        """The value with facts from `lookup` (name -> value or None); None when a fact is
        missing or not an integer, on division by zero, or beyond MAX_VALUE."""
        stack: list[int] = []
        for kind, v in self.steps:
            if kind == "num":
                stack.append(v)
            elif kind == "name":
                x = lookup(v)
                if not isinstance(x, int) or isinstance(x, bool):
                    return None
                stack.append(x)
            elif v == "neg":
                stack.append(-stack.pop())
            else:
                b, a = stack.pop(), stack.pop()
                if v == "+":
                    r = a + b
                elif v == "-":
                    r = a - b
                elif v == "*":
                    r = a * b
                else:
                    if not b:
                        return None
                    r = a // b
                stack.append(r)
            if stack and abs(stack[-1]) > MAX_VALUE:
                return None
        return stack[0]


def parse(text: str) -> DimExpr:
    """A fact name or integer arithmetic (+ - * //, unary minus, parentheses) over fact names."""
    if len(text) > MAX_CHARS:
        raise DimError(f"dimension expression is {len(text)} characters (limit {MAX_CHARS})")
    bad = f"cannot read dimension {text!r}: write fact names and integers with + - * // and parentheses"
    out: list[tuple[str, Any]] = []
    ops: list[str] = []
    terms = depth = 0
    expect_operand = True
    pos = 0
    while pos < len(text):
        if not text[pos:].strip():
            break
        m = _TOKEN.match(text, pos)
        if not m:
            raise DimError(bad)
        pos = m.end()
        num, name, op = m.group("num"), m.group("name"), m.group("op")
        if num is not None or name is not None:
            if not expect_operand:
                raise DimError(bad)
            terms += 1
            if terms > MAX_TERMS:
                raise DimError(f"dimension expression has more than {MAX_TERMS} terms")
            out.append(("num", int(num)) if num is not None else ("name", name))
            expect_operand = False
        elif op == "(":
            if not expect_operand:
                raise DimError(bad)
            depth += 1
            if depth > MAX_DEPTH:
                raise DimError(f"dimension expression nests parentheses deeper than {MAX_DEPTH}")
            ops.append("(")
        elif op == ")":
            if expect_operand or depth == 0:
                raise DimError(bad)
            while ops[-1] != "(":
                out.append(("op", ops.pop()))
            ops.pop()
            depth -= 1
        elif expect_operand:
            if op != "-":
                raise DimError(bad)
            ops.append("neg")
        else:
            # Left-associative binary operators; unary minus binds tighter (as in Python).
            while ops and ops[-1] != "(" and _PRECEDENCE[ops[-1]] >= _PRECEDENCE[op]:
                out.append(("op", ops.pop()))
            ops.append(op)
            expect_operand = True
    if expect_operand or depth:
        raise DimError(bad)
    while ops:
        out.append(("op", ops.pop()))
    return DimExpr(text, tuple(out))
