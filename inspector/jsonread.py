"""Every JSON a repo or the Hub sends, read without trusting it: config.json as transformers reads it
(`loads_tolerant`), everything else strictly (`loads_strict`: an index, a safetensors header, a
tokenizer file, a model-info or listing page). Bounds on size, depth, values and integers hold for both.
"""

from __future__ import annotations

import json
import math
import re
from itertools import accumulate

from .errors import InvalidData
from .inert import inert, json_safe


def _reject_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    out = dict(pairs)
    if len(out) != len(pairs):  # rare: only then look for the culprit
        seen: set[str] = set()
        for k, _v in pairs:
            if k in seen:
                raise ValueError(f"duplicate key '{inert(k, 80)}'")
            seen.add(k)
    return out


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(constant):
    def parse(text: str) -> object:
        f = float(text)
        if math.isfinite(f):
            return f
        return constant("-Infinity" if text.startswith("-") else "Infinity")

    return parse


# No count, size or id in a model file needs more digits; a longer integer cannot even become a
# float, so later comparisons would raise OverflowError.
MAX_INT_DIGITS = 300


# JSON numbers are ASCII. With every digit read as 9, `E` as `e` and signs dropped, a long digit run
# and an exponent of three digits or more (the only way a float literal overflows a double) are each one
# substring test at C speed (regexes took longer than the parse itself). Dropping signs can only join
# runs: a test may say yes for no such number (a slower parse, the same result), never no for one.
_NUMBER_SHAPES = bytes.maketrans(b"0123456789E", b"9999999999e")
_LONG_RUN = b"9" * (MAX_INT_DIGITS + 1)
_BIG_EXPONENT = b"e999"


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise ValueError(f"an integer of {len(text.lstrip('-'))} digits (limit {MAX_INT_DIGITS})")
    return int(text)


# No config, index, header or tokenizer file nests past a handful of levels; this bound keeps the
# parser (recursive in C) and every consumer of the result far from any recursion limit.
MAX_JSON_DEPTH = 64
# Parsed JSON costs 50-100 bytes a value whatever the file's size: 64 MB of `[[],[],...]` became 1.5 GB.
# A 400k-tensor header holds 3-4M values (8-10 a tensor, the most accepted): any file stays near that.
MAX_JSON_VALUES = 5_000_000
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(sorted(set(range(256)) - set(b"[]{}")))
_NOT_BRACKETS_OR_QUOTES = bytes(sorted(set(range(256)) - set(b'[]{}"')))
_DEPTH_CHUNK = 1 << 20
_AS_STEPS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")  # +1 / -1 as signed bytes


def json_too_deep(raw: bytes, limit: int = MAX_JSON_DEPTH, *, opening: int | None = None) -> bool:
    """Whether JSON text (or a prefix of it) nests deeper than `limit`, decided without parsing.
    `opening`: the count of `[` and `{` in `raw`, when the caller has it already.

    Strings are dropped (they may hold brackets), the brackets become +1/-1 and their running sum is
    the depth: C-speed and linear (about 40 ns a bracket; a 100k-tensor header has 600k brackets).
    """
    if (raw.count(b"[") + raw.count(b"{") if opening is None else opening) <= limit:
        return False
    if b"\\" in raw:
        s = _JSON_STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    else:  # no escapes: every other `"` opens a string; dropping `""` keeps that parity (10x faster)
        s = b"".join(raw.translate(None, _NOT_BRACKETS_OR_QUOTES).replace(b'""', b"").split(b'"')[0::2])
    # Empty pairs go first, exactly one level a pass (a header's `{"shape":[..],"data_offsets":[..]}`
    # is gone after two). After p passes the depth lies between max(p, what is left) and their sum:
    # the guard never underestimates, and overestimates by at most p only within p of the limit.
    passes = idle = 0
    pair = b"[]"
    while passes < 3 and idle < 2 and s:  # bytes.replace is C-speed and removes one level, no rescan
        t = s.replace(pair, b"")
        passes, idle = (passes + 1, 0) if t != s else (passes, idle + 1)
        s, pair = t, b"{}" if pair == b"[]" else b"[]"
    if not s:
        return passes > limit
    steps = memoryview(s.translate(_AS_STEPS)).cast("b")
    depth = 0
    for i in range(0, len(steps), _DEPTH_CHUNK):  # chunks: a runaway nesting stops at its first megabyte
        running = list(accumulate(steps[i: i + _DEPTH_CHUNK], initial=depth))
        if max(running) > limit - passes:
            return True
        depth = running[-1]
    return False


# A lone surrogate (`"\ud800"`) is valid JSON yet no valid text: escaped at the source, so it costs at
# most its own field and never an encoder downstream (terminal, SQLite, a report).
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _safe_strings(doc: object) -> object:
    todo = [doc]
    while todo:  # iterative: depth is bounded above, and recursion is not needed
        node = todo.pop()
        if isinstance(node, list):
            for i, v in enumerate(node):
                if isinstance(v, str):
                    node[i] = json_safe(v)
                elif isinstance(v, list | dict):
                    todo.append(v)
        elif isinstance(node, dict):
            for k in [k for k in node if json_safe(k) is not k]:
                node[json_safe(k)] = node.pop(k)
            for k, v in node.items():
                if isinstance(v, str):
                    node[k] = json_safe(v)
                elif isinstance(v, list | dict):
                    todo.append(v)
    return json_safe(doc) if isinstance(doc, str) else doc


def loads_strict(raw: bytes, what: str, where: str) -> object:
    """json.loads that refuses duplicate keys, NaN/Infinity, huge integers, non-UTF-8 and nesting past
    MAX_JSON_DEPTH (checked before parsing); lone surrogates in strings come back escaped."""
    return _loads(raw, what, where, _reject_duplicates, _reject_constant)


class _NonFinite:
    """NaN / Infinity / -Infinity as parsed by the tolerant reader, until it is read as missing (not a
    float: nothing downstream may compare against it, and not a str: string escaping must pass it by)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __str__(self) -> str:
        return self.name


# Enough to show a hostile file's intent (two model_type values) without a note per key of a
# thousand duplicates.
MAX_NOTES = 8


def loads_tolerant(raw: bytes, what: str, where: str) -> tuple[object, list[str]]:
    """loads_strict as transformers reads config.json (Python's json): of duplicate keys the last wins,
    and NaN/Infinity parse but are read as missing (dropped from an object, null in a list) so no rule
    compares against them. Each thing tolerated comes back as a note naming the key and the values;
    every other bound of loads_strict holds."""
    dups: list[tuple[dict, list[tuple[str, list[object]]]]] = []  # the dict kept alive: its id stays unique
    constants: list[str] = []

    def pairs(p: list[tuple[str, object]]) -> dict[str, object]:
        out = dict(p)
        if len(out) != len(p):
            seen: dict[str, list[object]] = {}
            for k, v in p:
                seen.setdefault(k, []).append(v)
            dups.append((out, [(k, vs) for k, vs in seen.items() if len(vs) > 1]))
        return out

    def constant(name: str) -> object:
        constants.append(name)
        return _NonFinite(name)

    doc = _loads(raw, what, where, pairs, constant)
    if not dups and not constants:
        return doc, []
    if isinstance(doc, _NonFinite):  # a whole file that is one number: the caller refuses a non-object
        return float(doc.name), []
    return doc, _tolerated(doc, what, {id(d): entries for d, entries in dups})


def _show(v: object) -> str:
    if isinstance(v, _NonFinite):
        return str(v)
    try:
        text = json.dumps(v, ensure_ascii=False, allow_nan=True)
    except (TypeError, ValueError, RecursionError):
        text = type(v).__name__
    return inert(text, 40)


def _tolerated(doc: object, what: str, dups: dict[int, list[tuple[str, list[object]]]]) -> list[str]:
    """Drop the non-finite numbers from the parsed document; one note per duplicate key or dropped value."""
    notes: list[str] = []
    todo: list[tuple[object, str]] = [(doc, "")]
    while todo:  # iterative: depth is bounded by _loads already
        node, path = todo.pop()
        if isinstance(node, dict):
            for k, values in dups.get(id(node), ()):
                shown = [_show(v) for v in values[:4]]
                if len(set(shown)) == 1 and len(values) <= 4:
                    shown = f"{len(values)} times, each {shown[0]}"
                else:
                    shown = ", then ".join(shown) + (", ..." if len(values) > 4 else "")
                notes.append(f"{what}: duplicate key `{inert(path + k, 80)}` ({shown}): the last is read, as transformers does")
            for k in [k for k, v in node.items() if isinstance(v, _NonFinite)]:
                notes.append(f"{what}: `{inert(path + k, 80)}` is {node.pop(k)}, not a JSON number: read as missing")
            todo.extend(reversed([(v, f"{path}{k}.") for k, v in node.items() if isinstance(v, dict | list)]))
        elif isinstance(node, list):
            children = []
            for i, v in enumerate(node):
                if isinstance(v, _NonFinite):
                    notes.append(f"{what}: `{inert(path.rstrip('.'), 80)}[{i}]` is {v}, not a JSON number: read as missing")
                    node[i] = None
                elif isinstance(v, dict | list):
                    children.append((v, f"{path.rstrip('.')}[{i}]."))
            todo.extend(reversed(children))  # document order
    if len(notes) > MAX_NOTES:
        notes[MAX_NOTES - 1:] = [f"{what}: and {len(notes) - MAX_NOTES + 1} more duplicate keys or non-finite numbers"]
    return notes


def _loads(raw: bytes, what: str, where: str, pairs_hook, parse_constant) -> object:
    # Every value but the first follows a `,` or opens a container: an upper bound, counted at C speed.
    opening = raw.count(b"[") + raw.count(b"{")
    if raw.count(b",") + opening > MAX_JSON_VALUES:
        raise InvalidData(f"{what} holds more than {MAX_JSON_VALUES} JSON values: refused", where=where)
    if json_too_deep(raw, opening=opening):
        raise InvalidData(f"{what} is nested too deeply (limit {MAX_JSON_DEPTH} levels)", where=where)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InvalidData(f"{what} is not UTF-8 (byte {e.start})", where=where) from None
    try:
        # The integer check costs a call per number: only pay it when a long digit run exists at all.
        shapes = raw.translate(_NUMBER_SHAPES, b"+-")
        parse_int = _bounded_int if _LONG_RUN in shapes else None
        # `1e400` parses to inf without passing parse_constant: read it as the Infinity it is.
        parse_float = _finite_float(parse_constant) if _BIG_EXPONENT in shapes else None
        doc = json.loads(text, object_pairs_hook=pairs_hook, parse_constant=parse_constant, parse_int=parse_int,
                         parse_float=parse_float)
    except RecursionError:  # unreachable past json_too_deep; kept as the last line of defence
        raise InvalidData(f"{what} is nested too deeply", where=where) from None
    except ValueError as e:
        msg = inert(str(e).splitlines()[0], 160)
        raise InvalidData(f"{what} is not valid JSON: {msg}", where=where) from None
    return _safe_strings(doc) if _SURROGATE_ESCAPE.search(raw) else doc
