"""Tensor-name patterns and regexes, compiled once, matched in linear time (RE2)."""

from __future__ import annotations

import fnmatch
import functools
import re

try:  # RE2 guarantees linear time, so no rule can hang an audit; `re` only when it is missing.
    import re2 as _re2

    _re2_options = _re2.Options()
    _re2_options.log_errors = False
except ImportError:  # pragma: no cover
    _re2 = None

_NUM = re.compile(r"^\d+$")


class PatternError(ValueError):
    pass


@functools.lru_cache(maxsize=4096)
def compile_regex(source: str):
    """A user regex (from `matches:`); RE2 syntax; refuses what RE2 cannot run in linear time."""
    if len(source) > 2000:
        raise PatternError("regex longer than 2000 characters")
    if _re2 is not None:
        try:
            return _re2.compile(source, options=_re2_options)
        except Exception as e:  # re2.error is not exported under one name across versions
            raise PatternError(f"regex does not compile (RE2 syntax, no backreferences or lookaround): {e}") from None
    try:
        return re.compile(source)
    except re.error as e:
        raise PatternError(f"regex does not compile: {e}") from None


_NUM_COMPONENT = re.compile(r"(?:(?<=\.)|^)\d+(?=\.|$)")


# Real repos reuse a few naming schemes, so an audit sees the same names again and again; the memo
# is bounded in entries and name length so that hostile headers cannot grow it without end.
_SKELETONS: dict[str, str] = {}
_SKELETON_MEMO_MAX = 200_000


def skeleton(name: str) -> str:
    """The name with every numeric component replaced by `#`: tensors of all layers share one."""
    skel = _SKELETONS.get(name)
    if skel is None:
        skel = _NUM_COMPONENT.sub("#", name)
        if len(name) <= 256 and len(_SKELETONS) < _SKELETON_MEMO_MAX:
            _SKELETONS[name] = skel
    return skel


@functools.lru_cache(maxsize=4096)
def compile_tensor_pattern(pattern: str) -> tuple[object, object, bool]:
    """(regex over skeletons, regex over real names with a `layer` group, has literal numbers)."""
    if not pattern or len(pattern) > 500:
        raise PatternError("a tensor pattern must be 1..500 characters")
    anchored = pattern.startswith("^")
    body = pattern[1:] if anchored else pattern
    parts = body.split(".")
    if any(p == "" for p in parts):
        raise PatternError(f"empty component in tensor pattern {pattern!r}")
    skel: list[str] = []
    real: list[str] = []
    literal_numbers = False
    layer_seen = False
    for p in parts:
        if p == "{N}":
            skel.append("#")
            real.append(r"(?P<layer>\d+)" if not layer_seen else r"\d+")
            layer_seen = True
        elif p in ("{#}", "{E}"):
            skel.append("#")
            real.append(r"\d+")
        elif p == "*":
            skel.append(r"[^.]+")
            real.append(r"[^.]+")
        elif p == "**":
            skel.append(r".+")
            real.append(r".+")
        elif _NUM.match(p):
            literal_numbers = True
            skel.append("#")
            real.append(re.escape(p))
        else:
            if "{" in p or "}" in p:
                raise PatternError(f"unknown placeholder in {p!r}: use {{N}} for a layer number, * or **")
            piece = re.escape(p).replace(r"\*", r"[^.]*")
            skel.append(piece)
            real.append(piece)
    head = "^" if anchored else r"(?:^|\.)"
    tail = r"(?:\.|$)"
    # Escaped literals, whole-component [^.]+ and \d+ only: Python's engine runs these in linear
    # time, about ten times faster than the RE2 binding per call. `**` (.+) or two wildcards in one
    # component backtrack polynomially there (`**.**.**.x` on a long name: minutes), so those go to RE2.
    backtracks = "**" in parts or any(p.count("*") > 1 for p in parts)
    compile_rx = _compile_linear if backtracks else re.compile
    skel_rx = compile_rx(head + r"\.".join(skel) + tail)
    real_rx = compile_rx(head + r"\.".join(real) + tail)
    return skel_rx, real_rx, literal_numbers


def _compile_linear(source: str):
    if _re2 is None:  # pragma: no cover - google-re2 is a runtime dependency
        raise PatternError("`**` and in-component wildcards need google-re2 (pip install google-re2)")
    return _re2.compile(source, options=_re2_options)


def glob_match(pattern: str, name: str) -> bool:
    """File globs: `*` does not cross `/` unless the pattern has a `/`."""
    if "/" not in pattern:
        name = name.rsplit("/", 1)[-1]
    return fnmatch.fnmatchcase(name, pattern)
