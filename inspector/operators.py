"""The predicate operators, one class each: its argument check, its evaluation, its description and
its JSON-Schema fragment. The rule loader, the engine, `rules schema` and the rules/README.md tables
all read these classes (pySigma's modifiers), so an operator is added here and nowhere else.

An operator compiles its argument once, when the rules load, into a test:
- value operators (`fact`, `config`): `test(found, value) -> bool`;
- match operators (`tensor`, `file`): `test(matched: Matched) -> (holds, observed)`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from . import dimexpr
from .patterns import PatternError, compile_regex

VALUE_SUBJECTS = ("fact", "config")
MEMO_ENTRIES, MEMO_CHARS = 2048, 200  # per compiled regex: what a long audit may remember of its answers
MATCH_SUBJECTS = ("tensor", "file")
SUBJECTS: dict[str, str] = {
    "fact": "a normalised fact (see `facts.yaml` and the derived facts below)",
    "config": "a raw config value by dotted path, e.g. `rope_scaling.rope_type`, `text_config.vocab_size`",
    "tensor": "tensor names (safetensors headers, an index, `.bin` or GGUF): `{N}` a layer number, `*` one component, "
              "`**` any number of components, `^` anchors",
    "file": "files in the repo, by glob (e.g. `tokenization_qwen.py`, `*.tiktoken`)",
}

ValueTest = Callable[[bool, Any], bool]


@dataclass
class Matched:
    """What a tensor or file pattern matched, for the match operators."""

    items: Sequence[Any]  # TensorInfo for tensors, names for files
    layers: int | None = None  # the model's layer count, for `layers`
    layer_of: Callable[[Any], int | None] = lambda _t: None
    fact: Callable[[str], Any] = lambda _n: None  # fact values, for `shape` expressions
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return len(self.items)


MatchTest = Callable[[Matched], tuple[bool, str]]


# --- value semantics shared by the value operators -------------------------------------------
def as_number(v: Any) -> float | None:
    if not isinstance(v, int | float) or isinstance(v, bool):
        return None
    try:
        return float(v)
    except OverflowError:  # an integer beyond any float compares with nothing
        return None


def same(a: Any, b: Any) -> bool:
    """Equality as rules mean it: numbers by value (1e-6 == 0.000001), booleans apart from numbers."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b or (isinstance(a, bool) and isinstance(b, bool) and a == b)
    na, nb = as_number(a), as_number(b)
    if na is not None and nb is not None:
        return na == nb
    return a == b


def hash_key(v: Any) -> tuple | None:
    """A hashable stand-in with `same`'s equality (numbers by value, bools apart); None when there is none."""
    if v is None:
        return ("none",)
    if isinstance(v, bool):
        return ("bool", v)
    if isinstance(v, int | float):
        n = as_number(v)
        return ("num", n) if n is not None else ("int", v)
    if isinstance(v, str):
        return ("str", v)
    return None


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


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _member_test(args: list[Any]) -> Callable[[Any], bool]:
    """`value is one of args`: a set lookup when every argument has a hash key (rules list dozens
    of vocab sizes and model types), else one comparison each."""
    keys = [hash_key(a) for a in args]
    if all(k is not None for k in keys):
        found = frozenset(keys)

        def member(v: Any) -> bool:
            k = hash_key(v)  # a value without a key (a list, a dict) equals no scalar
            return k is not None and k in found

        return member
    return lambda v: any(same(v, a) for a in args)


# --- the operators ----------------------------------------------------------------------------
class Operator:
    name: ClassVar[str]
    subjects: ClassVar[tuple[str, ...]]
    usage: ClassVar[str]  # how it is written, for the reference table
    doc: ClassVar[str]  # when it holds
    schema: ClassVar[dict[str, Any]]

    def check(self, arg: Any) -> str | None:
        """Why `arg` is not a valid argument, or None."""
        return None

    def describe(self, arg: Any, subject: str) -> str:
        return f"{self.name.replace('_', ' ')} {arg}"

    def compile(self, arg: Any) -> Callable:
        raise NotImplementedError


class ValueOperator(Operator):
    subjects = VALUE_SUBJECTS

    def compile(self, arg: Any) -> ValueTest:
        test = self.on_value(arg)
        return lambda found, v: found and test(v)

    def on_value(self, arg: Any) -> Callable[[Any], bool]:
        raise NotImplementedError


class Equals(ValueOperator):
    name, usage, doc = "equals", "`equals: V`", "the value is V (numbers by value: `1e-6` equals `0.000001`)"
    schema = {"description": "the value is V"}

    def on_value(self, arg):
        return _member_test([arg])


class NotEquals(ValueOperator):
    name, usage, doc = "not_equals", "`not_equals: V`", "the value is present and is not V"
    schema = {"description": "the value is not V"}

    def on_value(self, arg):
        member = _member_test([arg])
        return lambda v: not member(v)


class In(ValueOperator):
    name, usage, doc = "in", "`in: [A, B]`", "the value is one of the list"
    schema = {"type": "array", "minItems": 1, "description": "the value is one of the list"}

    def check(self, arg):
        return None if isinstance(arg, list) and arg else "expected a non-empty list"

    def on_value(self, arg):
        return _member_test(list(arg))


class NotIn(In):
    name, usage, doc = "not_in", "`not_in: [A, B]`", "the value is present and none of the list"
    schema = {"type": "array", "minItems": 1, "description": "the value is none of the list"}

    def on_value(self, arg):
        member = _member_test(list(arg))
        return lambda v: not member(v)


class _Compare(ValueOperator):
    schema = {"type": "number"}
    holds: ClassVar[Callable[[float, float], bool]]

    def check(self, arg):
        return None if _is_number(arg) else f"expected a number, got {arg!r}"

    def on_value(self, arg):
        holds = type(self).holds

        def test(v: Any) -> bool:
            x = as_number(v)
            return x is not None and holds(x, arg)

        return test


class Gte(_Compare):
    name, usage, doc = "gte", "`gte: N`", "the value is a number >= N"
    holds = staticmethod(lambda x, n: x >= n)


class Gt(_Compare):
    name, usage, doc = "gt", "`gt: N`", "the value is a number > N"
    holds = staticmethod(lambda x, n: x > n)


class Lte(_Compare):
    name, usage, doc = "lte", "`lte: N`", "the value is a number <= N"
    holds = staticmethod(lambda x, n: x <= n)


class Lt(_Compare):
    name, usage, doc = "lt", "`lt: N`", "the value is a number < N"
    holds = staticmethod(lambda x, n: x < n)


class Between(ValueOperator):
    name, usage, doc = "between", "`between: [LO, HI]`", "LO <= value <= HI"
    schema = {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2, "description": "[low, high], inclusive"}

    def check(self, arg):
        ok = isinstance(arg, list) and len(arg) == 2 and all(_is_number(x) for x in arg) and arg[0] <= arg[1]
        return None if ok else "expected [low, high] numbers"

    def on_value(self, arg):
        lo, hi = arg

        def test(v: Any) -> bool:
            x = as_number(v)
            return x is not None and lo <= x <= hi

        return test


class Exists(ValueOperator):
    name, usage, doc = "exists", "`exists: true/false`", "the fact or key is (is not) present; a fact whose config value is null does not exist"
    schema = {"type": "boolean", "description": "the fact / key is (is not) present"}

    def check(self, arg):
        return None if isinstance(arg, bool) else f"expected true/false, got {arg!r}"

    def compile(self, arg):
        return lambda found, _v: found == arg


class Matches(ValueOperator):
    name, usage = "matches", "`matches: REGEX`"
    doc = "some string in the value (lists and mappings are searched) matches the regex (RE2 syntax, linear time)"
    schema = {"type": "string", "description": "RE2 regex searched in every string of the value"}

    def check(self, arg):
        if not isinstance(arg, str):
            return "expected a regex string"
        try:
            compile_regex(arg)
        except PatternError as e:
            return str(e)
        return None

    def on_value(self, arg):
        rx = compile_regex(arg)
        # Repos repeat their strings (architectures, model types): an audit asks RE2 once per string,
        # not once per repo (each RE2 call also hands the GIL over, costly with many workers).
        known: dict[str, bool] = {}

        def hit(s: str) -> bool:
            r = known.get(s)
            if r is None:
                r = rx.search(s) is not None
                if len(s) <= MEMO_CHARS and len(known) < MEMO_ENTRIES:
                    known[s] = r
            return r

        return lambda v: any(hit(s) for s in _strings(v))


class Contains(ValueOperator):
    name, usage, doc = "contains", "`contains: X`", "a list contains X, or a string contains the substring X"
    schema = {"description": "a list contains X, or a string contains the substring X"}

    def on_value(self, arg):
        def test(v: Any) -> bool:
            if isinstance(v, list):
                return any(same(x, arg) for x in v)
            return isinstance(v, str) and isinstance(arg, str) and arg in v

        return test


class Present(Operator):
    name, subjects, usage = "present", MATCH_SUBJECTS, "`present: true/false`"
    doc = "some tensor or file matches (none does); the default when no other operator is given"
    schema = {"type": "boolean", "description": "some tensor / file matches (none does)"}

    def check(self, arg):
        return None if isinstance(arg, bool) else f"expected true/false, got {arg!r}"

    def describe(self, arg, subject):
        return "present" if arg else "absent"

    def compile(self, arg) -> MatchTest:
        return lambda m: ((m.count > 0) == arg, f"{m.count} matching" if m.count else "absent")


class Layers(Operator):
    name, subjects, usage = "layers", ("tensor",), "`layers: 0.9`"
    doc = "the pattern is found in at least this fraction of the layers"
    schema = {"type": "number", "exclusiveMinimum": 0, "maximum": 1, "description": "fraction of layers the pattern is found in"}

    def check(self, arg):
        return None if _is_number(arg) and 0 < arg <= 1 else "expected a fraction in (0, 1]"

    def describe(self, arg, subject):
        return f"in >= {arg:.0%} of layers"

    def compile(self, arg) -> MatchTest:
        def test(m: Matched) -> tuple[bool, str]:
            ids = {n for n in map(m.layer_of, m.items) if n is not None}
            if not m.layers:
                return False, f"in {len(ids)} layers of an unknown count"
            return len(ids) / m.layers >= arg, f"in {len(ids)}/{m.layers} layers"

        return test


class _Count(Operator):
    subjects = ("tensor",)
    schema = {"type": "integer", "minimum": 0}
    holds: ClassVar[Callable[[int, int], bool]]

    def check(self, arg):
        return None if isinstance(arg, int) and not isinstance(arg, bool) and arg >= 0 else "expected a whole number >= 0"

    def compile(self, arg) -> MatchTest:
        holds = type(self).holds
        return lambda m: (holds(m.count, arg), f"{m.count} matching")


class MinCount(_Count):
    name, usage, doc = "min_count", "`min_count: N`", "at least N tensors match"
    holds = staticmethod(lambda c, n: c >= n)


class MaxCount(_Count):
    name, usage, doc = "max_count", "`max_count: N`", "at most N tensors match"
    holds = staticmethod(lambda c, n: c <= n)


class Shape(Operator):
    name, subjects, usage = "shape", ("tensor",), "`shape: [D0, D1]`"
    doc = ("every matched tensor whose shape is known has this shape (and at least one is known); each dim is an "
           "integer, `\"*\"`, a fact name, or an expression over facts with `+ - * //` such as `num_kv_heads * head_dim`")
    schema = {"type": "array", "items": {"type": ["integer", "string"]},
              "description": "each dim an integer, '*', a fact name or an expression such as num_kv_heads * head_dim"}

    def check(self, arg):
        if not isinstance(arg, list) or not all(isinstance(d, int | str) and not isinstance(d, bool) for d in arg):
            return "expected a list of integers, fact names, expressions or '*'"
        for d in arg:
            if isinstance(d, str) and d != "*":
                try:
                    dimexpr.parse(d)
                except dimexpr.DimError as e:
                    return str(e)
        return None

    def compile(self, arg) -> MatchTest:
        dims = [d if isinstance(d, int) or d == "*" else dimexpr.parse(d) for d in arg]

        def test(m: Matched) -> tuple[bool, str]:
            want = [d.value(m.fact) if isinstance(d, dimexpr.DimExpr) else d for d in dims]
            known = [t for t in m.items if t.shape is not None]
            if not known:
                return False, "no shape known" if m.items else "absent"
            if any(w is None for w in want):
                return False, "a dimension's fact is missing"
            bad = [t for t in known if len(t.shape) != len(want) or any(w != "*" and w != s for w, s in zip(want, t.shape, strict=False))]
            shown = bad[0] if bad else known[0]
            return not bad, f"shape {list(shown.shape)}" + (f" (want {want})" if bad else "")

        return test


class Dtype(Operator):
    name, subjects, usage = "dtype", ("tensor",), "`dtype: [BF16, F16]`"
    doc = "every matched tensor whose dtype is known has one of these (and at least one is known)"
    schema = {"type": "array", "items": {"type": "string"}, "minItems": 1}

    def check(self, arg):
        return None if isinstance(arg, list) and arg and all(isinstance(x, str) for x in arg) else "expected a list of dtype names"

    def compile(self, arg) -> MatchTest:
        allowed = set(arg)

        def test(m: Matched) -> tuple[bool, str]:
            known = [t for t in m.items if t.dtype is not None]
            ok = bool(known) and all(t.dtype in allowed for t in known)
            return ok, "dtype " + ",".join(sorted({t.dtype for t in known})) if known else "no dtype known"

        return test


# In the order the reference and "known: ..." hints list them.
OPERATORS: dict[str, Operator] = {op.name: op for op in (
    Equals(), NotEquals(), In(), NotIn(), Gte(), Gt(), Lte(), Lt(), Between(), Exists(), Matches(), Contains(),
    Present(), Layers(), MinCount(), MaxCount(), Shape(), Dtype(),
)}
OPS_BY_SUBJECT: dict[str, tuple[str, ...]] = {s: tuple(n for n, op in OPERATORS.items() if s in op.subjects) for s in SUBJECTS}
VALUE_OPS = OPS_BY_SUBJECT["fact"]
TENSOR_OPS = OPS_BY_SUBJECT["tensor"]
FILE_OPS = OPS_BY_SUBJECT["file"]


def describe(subject: str, key: str, ops: dict[str, Any]) -> str:
    """How a predicate reads in evidence: `vocab_size in [151936, 152064]`."""
    return f"{key} {' and '.join(OPERATORS[op].describe(v, subject) for op, v in ops.items())}"


def reference_tables() -> str:
    """The Markdown tables of rules/README.md ("Predicates"), generated from the classes above."""
    out = ["| subject | what it reads |", "|---|---|"]
    out += [f"| `{s}: ...` | {doc} |" for s, doc in SUBJECTS.items()]
    titles = {"fact": "value operators (`fact`, `config`)", "tensor": "operators on `tensor`", "file": "operators on `file`"}
    for subject, title in titles.items():
        out += ["", f"| {title} | holds when |", "|---|---|"]
        out += [f"| {OPERATORS[n].usage} | {OPERATORS[n].doc} |" for n in OPS_BY_SUBJECT[subject]]
    return "\n".join(out)
