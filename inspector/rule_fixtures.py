"""Rule-test fixtures: snapshots of real repos with the verdict they should get (`fixtures:` files).

A fixture is what a Snapshot holds (config, tensor names with dtype and shape, files) plus the
expected verdict. Tensors are stored compactly: a name component written `{0-31}` (or
`{0-3,5,7-9}`) stands for each of those numbers, so one line per tensor skeleton and shape keeps
every name of a 80-layer model without 80 copies. Several ranges in one name expand as a product
(`layers.{0-55}.experts.{0-7}.w1.weight`). A value is `[DTYPE, [d0, d1, ...]]`, or null when only
the name is known (an index without headers).

Configs are written as JSON inside the YAML (JSON is a YAML flow mapping), so a config.json pastes
in unchanged and reads back exactly.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path
from typing import Any

from . import validators as V
from .errors import Location, RuleProblem, did_you_mean
from .readout import Snapshot, TensorInfo
from .ruleset import FIELDS, KINDS, ProblemLog, shipped_rules_dir
from .yamlloc import LocDict, LocList, YamlProblem, read_capped

EXPECT_FIELDS = (*FIELDS, "base")
RULE_EXPECTATIONS = ("match", "no-match", "todo")
SOURCE_KEYS = ("model", "provenance", "revision", "family", "confidence")
_ANY_OF_STRINGS = {"oneOf": [{"type": "string", "minLength": 1}, {"type": "array", "minItems": 1, "items": {"type": "string"}}]}
# A fixture's keys with their JSON Schema (`rules schema`); the reader checks each below.
FIXTURE_FIELDS: dict[str, dict[str, Any]] = {
    "id": {"type": "string", "minLength": 1}, "description": {"type": "string"},
    "source": {"type": "object", "additionalProperties": False, "properties": {k: {"type": "string"} for k in SOURCE_KEYS}},
    "repo_id": {"type": ["string", "null"]},
    "card": {"type": "object"}, "config": {"type": ["object", "null"]},
    "tokenizer": {"type": ["object", "null"], "description": "tokenizer evidence: special_tokens, base_vocab, tokenizer_class, ..."},
    "weights_format": {"type": ["string", "null"]},
    "tensors": {"type": "object", "description": "name -> [DTYPE, [shape]] or null; a component {0-31} stands for each number",
                "additionalProperties": {"oneOf": [{"type": "null"}, {
                    "type": "array", "minItems": 1, "maxItems": 2,
                    "prefixItems": [{"type": ["string", "null"]}, {"type": ["array", "null"], "items": {"type": "integer", "minimum": 0}}]}]}},
    "files": {"type": "array", "items": {"type": "string"}},
    "expect": {"type": "object", "additionalProperties": False, "description": "a list means any of them is right",
               "properties": {"kind": {"enum": [*KINDS, "unknown"]}, "layout": _ANY_OF_STRINGS,
                              "lineage": _ANY_OF_STRINGS, "base": {"oneOf": [{"type": "null"}, _ANY_OF_STRINGS]}}},
    "todo": {"oneOf": [{"type": "boolean"}, {"type": "array", "items": {"enum": list(EXPECT_FIELDS)}}]},
    "rules": {"type": "object", "additionalProperties": {"enum": list(RULE_EXPECTATIONS)}},
}
FIXTURE_KEYS = tuple(FIXTURE_FIELDS)
MAX_EXPANDED = 2_000_000  # tensors per fixture after range expansion: a typo like {0-99999999} must not hang

_RANGE_COMPONENT = re.compile(r"^\{(\d+(?:-\d+)?(?:,\d+(?:-\d+)?)*)\}$")
_CANONICAL_INT = re.compile(r"^(?:0|[1-9]\d*)$")
_FIXTURES_KEY = re.compile(r"(?m)^fixtures[ \t]*:")


@dataclass
class Fixture:
    id: str
    loc: Location
    source: dict[str, str] = field(default_factory=dict)
    description: str = ""
    repo_id: str | None = None
    card: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] | None = None
    tokenizer: dict[str, Any] | None = None  # tokenizer evidence as the snapshot had it (specials, base vocab, ...)
    weights_format: str | None = None  # safetensors, bin-index, gguf, ...: the `weights_format` fact
    tensors: dict[str, TensorInfo] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    expect: dict[str, str | tuple[str, ...] | None] = field(default_factory=dict)
    todo: tuple[str, ...] = ()  # expect fields not confirmed yet: reported, never failed
    rules: dict[str, str] = field(default_factory=dict)  # rule id -> match | no-match | todo
    rule_locs: dict[str, Location] = field(default_factory=dict)
    # Where the `expect:` and `rules:` mappings are written (`rules test --update` rewrites them there).
    expect_loc: Location | None = None
    rules_loc: Location | None = None

    def snapshot(self) -> Snapshot:
        snap = Snapshot(target=f"fixture:{self.id}", source="fixture", repo_id=self.repo_id,
                        revision=self.source.get("revision"), files=list(self.files), config=self.config,
                        tensors=dict(self.tensors), card=dict(self.card),
                        tokenizer=dict(self.tokenizer) if self.tokenizer is not None else None)
        snap.config_status = "ok" if self.config is not None else "missing"
        if self.config is None:
            snap.config_error = f"fixture {self.id}: no config"
        if not self.tensors:
            snap.weights_error = f"fixture {self.id}: no tensors"
        snap.weights_format = self.weights_format
        return snap


@dataclass
class FixtureSet:
    fixtures: list[Fixture] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    problems: list[RuleProblem] = field(default_factory=list)

    @property
    def errors(self) -> list[RuleProblem]:
        return [p for p in self.problems if p.severity == "error"]


def shipped_fixtures_dir() -> Path:
    return shipped_rules_dir() / "tests"


def is_fixture_file(path: Path) -> bool:
    """A YAML file whose top level has `fixtures:` (read as text: no second parse)."""
    try:
        return bool(_FIXTURES_KEY.search(read_capped(path)))
    except YamlProblem:  # unreadable, not a regular file, too big: the rule loader says why
        return False


def fixture_files(path: Path) -> list[Path]:
    """A fixture file itself, or a rules folder's `tests/*.yaml` (a tests folder's own files)."""
    if not path.is_dir():
        return [path]
    tests = path if path.name == "tests" else path / "tests"
    if not tests.is_dir():
        return []
    return sorted(p for p in tests.rglob("*.y*ml") if p.suffix in (".yaml", ".yml"))


# --- tensor names: compact ranges -------------------------------------------------------------
def _parse_range(spec: str) -> list[int]:
    out: list[int] = []
    for part in spec.split(","):
        lo, _, hi = part.partition("-")
        a, b = int(lo), int(hi or lo)
        if b < a:
            raise ValueError(f"range {part!r} runs backwards")
        if b - a >= MAX_EXPANDED:
            raise ValueError(f"range {part!r} is too long")
        out.extend(range(a, b + 1))
    return out


def expand_name(pattern: str) -> list[str]:
    """`a.{0-2}.b` -> a.0.b, a.1.b, a.2.b (several ranges: every combination)."""
    parts = pattern.split(".")
    choices: list[list[str]] = []
    total = 1
    for p in parts:
        m = _RANGE_COMPONENT.match(p)
        if m:
            nums = [str(n) for n in _parse_range(m.group(1))]
            choices.append(nums)
            total *= len(nums)
            if total > MAX_EXPANDED:
                raise ValueError(f"expands to more than {MAX_EXPANDED} names")
        else:
            choices.append([p])
    if total == 1:
        return [".".join(c[0] for c in choices)]
    return [".".join(combo) for combo in product(*choices)]


def _ranges(nums: list[int]) -> str:
    nums = sorted(set(nums))
    out: list[str] = []
    start = prev = nums[0]
    for n in nums[1:] + [None]:  # type: ignore[list-item]
        if n is not None and n == prev + 1:
            prev = n
            continue
        out.append(str(start) if start == prev else f"{start}-{prev}")
        if n is not None:
            start = prev = n
    return "{" + ",".join(out) + "}"


def _compress_tuples(tuples: set[tuple[int, ...]]) -> list[list[str]]:
    """Number tuples -> rows of per-position range specs whose products cover exactly the set."""
    if not tuples:
        return []
    if len(next(iter(tuples))) == 1:
        return [[_ranges([t[0] for t in tuples])]]
    by_first: dict[int, set[tuple[int, ...]]] = {}
    for t in tuples:
        by_first.setdefault(t[0], set()).add(t[1:])
    # Firsts whose remainders compress to the same rows share one row: that is the product.
    groups: dict[tuple[tuple[str, ...], ...], list[int]] = {}
    for first, rest in by_first.items():
        rows = tuple(tuple(r) for r in _compress_tuples(rest))
        groups.setdefault(rows, []).append(first)
    out: list[list[str]] = []
    for rows, firsts in groups.items():
        for r in rows:
            out.append([_ranges(firsts), *r])
    return out


def compress_tensors(tensors: dict[str, TensorInfo]) -> dict[str, list | None]:
    """name -> value, with names of the same skeleton and value folded into ranges."""
    groups: dict[tuple[tuple[str, ...], Any], set[tuple[int, ...]]] = {}
    for t in tensors.values():
        parts = t.name.split(".")
        # Only canonical integers fold (`01` would not come back as `01`); a literal `{..}` never does.
        key_parts = tuple("#" if _CANONICAL_INT.match(p) else p for p in parts)
        nums = tuple(int(p) for p in parts if _CANONICAL_INT.match(p))
        if any(_RANGE_COMPONENT.match(p) for p in parts) or "#" in parts:
            key_parts, nums = tuple(parts), ()
        value = None if t.dtype is None and t.shape is None else (t.dtype, tuple(t.shape) if t.shape is not None else None)
        groups.setdefault((key_parts, value), set()).add(nums)
    out: dict[str, list | None] = {}
    for (key_parts, value), tuples in groups.items():
        for row in _compress_tuples(tuples) if key_parts.count("#") else [[]]:
            it = iter(row)
            parts = []
            for p in key_parts:
                if p == "#":
                    spec = next(it)
                    parts.append(spec[1:-1] if re.fullmatch(r"\{\d+\}", spec) else spec)
                else:
                    parts.append(p)
            out[".".join(parts)] = None if value is None else [value[0], list(value[1]) if value[1] is not None else None]
    return dict(sorted(out.items(), key=lambda kv: _natural(kv[0])))


def _natural(name: str) -> list:
    return [(0, int(m), "") if m.isdigit() else (1, 0, m) for m in re.split(r"(\d+)", name)]


# --- loading ----------------------------------------------------------------------------------
class _Reader(ProblemLog):
    def __init__(self, out: FixtureSet) -> None:
        self.out = out
        self.problems = out.problems
        self.seen: dict[str, tuple[Location, int]] = {}
        self.layer = 0  # 0: shipped, 1: the user's paths (their fixture with a shipped id replaces it)

    def file(self, path: Path, display: str) -> None:
        self.out.files.append(display)
        doc = self.load(path, display)
        if doc is None:
            return
        if not isinstance(doc, LocDict) or "fixtures" not in doc:
            self.problem(V.bad_fixture_file.CHECK, "a fixture file is a mapping with a `fixtures:` list", Location(display, 1, 1))
            return
        for key in doc:
            if key != "fixtures":
                self.unknown(key, ("fixtures",), doc.key_locs[key], "top-level key in a fixture file")
        items = doc["fixtures"]
        if items is None:
            return
        if not isinstance(items, LocList):
            self.problem(V.bad_fixture_file.CHECK, "`fixtures` must be a list", doc.where("fixtures"))
            return
        for i, raw in enumerate(items):
            fx = self.fixture(raw, items.where(i))
            if fx is not None:
                self.out.fixtures.append(fx)

    def fixture(self, raw: Any, loc: Location) -> Fixture | None:
        if not isinstance(raw, LocDict):
            self.problem(V.bad_fixture_file.CHECK, "a fixture must be a mapping (id, source, config, tensors, files, expect, rules)", loc)
            return None
        fid = raw.get("id")
        if not isinstance(fid, str) or not fid:
            self.problem(V.fixture_id.CHECK, "a fixture needs an `id` (a non-empty string)", raw.loc)
            return None
        if fid in self.seen:
            first, layer = self.seen[fid]
            if layer == self.layer:
                self.problem(V.fixture_id.CHECK, f"duplicate fixture id {fid!r} (first at {first})", raw.where("id"))
                return None
            self.out.fixtures = [f for f in self.out.fixtures if f.id != fid]
        self.seen[fid] = (raw.where("id"), self.layer)
        before = len(self.out.errors)
        for k in raw:
            if k not in FIXTURE_KEYS:
                self.unknown(k, FIXTURE_KEYS, raw.key_locs[k], "fixture key")
        fx = Fixture(id=fid, loc=raw.where("id"))
        fx.description = self._str(raw, "description") or ""
        fx.repo_id = self._str(raw, "repo_id")
        src = raw.get("source")
        if src is not None:
            if not isinstance(src, LocDict):
                self.problem(V.bad_fixture_file.CHECK, "`source` must be a mapping {model, provenance, ...}", raw.where("source"))
            else:
                for k, v in src.items():
                    if k not in SOURCE_KEYS:
                        self.unknown(k, SOURCE_KEYS, src.key_locs[k], "source key")
                    elif not isinstance(v, str):
                        self.problem(V.bad_fixture_file.CHECK, f"`source.{k}` must be a string", src.where(k))
                    else:
                        fx.source[k] = v
        for key in ("card", "config", "tokenizer"):
            v = raw.get(key)
            if v is not None and not isinstance(v, dict):
                self.problem(V.bad_fixture_file.CHECK, f"`{key}` must be a mapping (a JSON object)", raw.where(key))
            elif v is not None:
                setattr(fx, key, _plain(v))
        fx.weights_format = self._str(raw, "weights_format")
        files = raw.get("files", [])
        if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
            self.problem(V.bad_fixture_file.CHECK, "`files` must be a list of file names", raw.where("files"))
        else:
            fx.files = list(files)
        self._tensors(fx, raw)
        self._expect(fx, raw)
        self._rules(fx, raw)
        return fx if len(self.out.errors) == before else None

    def _str(self, raw: LocDict, key: str) -> str | None:
        v = raw.get(key)
        if v is not None and not isinstance(v, str):
            self.problem(V.bad_fixture_file.CHECK, f"`{key}` must be a string", raw.where(key))
            return None
        return v

    def _tensors(self, fx: Fixture, raw: LocDict) -> None:
        tensors = raw.get("tensors")
        if tensors is None:
            return
        if not isinstance(tensors, LocDict):
            self.problem(V.bad_tensor_entry.CHECK, "`tensors` must map tensor names to [DTYPE, [shape]] or null", raw.where("tensors"))
            return
        total = 0
        for name, value in tensors.items():
            where = tensors.key_locs[name]
            if not isinstance(name, str) or not name:
                self.problem(V.bad_tensor_entry.CHECK, "a tensor name must be a string", where)
                continue
            dtype, shape = None, None
            if value is not None:
                ok = (isinstance(value, list) and 1 <= len(value) <= 2
                      and (value[0] is None or isinstance(value[0], str))
                      and (len(value) == 1 or value[1] is None
                           or (isinstance(value[1], list) and all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in value[1]))))
                if not ok:
                    self.problem(V.bad_tensor_entry.CHECK, f"tensor {name!r}: expected [DTYPE, [d0, d1, ...]] or null, got {value!r}", tensors.where(name))
                    continue
                dtype = value[0]
                shape = tuple(value[1]) if len(value) == 2 and value[1] is not None else None
            try:
                names = expand_name(name)
            except ValueError as e:
                self.problem(V.bad_tensor_entry.CHECK, f"tensor {name!r}: {e}", where)
                continue
            total += len(names)
            if total > MAX_EXPANDED:
                self.problem(V.bad_tensor_entry.CHECK, f"more than {MAX_EXPANDED} tensors after expanding ranges", where)
                return
            for n in names:
                fx.tensors[n] = TensorInfo(n, dtype, shape)

    def _expect(self, fx: Fixture, raw: LocDict) -> None:
        exp = raw.get("expect")
        if "expect" in raw:
            fx.expect_loc = raw.where("expect")
        if exp is not None:
            if not isinstance(exp, LocDict):
                self.problem(V.bad_expect.CHECK, "`expect` must map kind/layout/lineage/base to values", raw.where("expect"))
            else:
                for k, v in exp.items():
                    if k not in EXPECT_FIELDS:
                        self.unknown(k, EXPECT_FIELDS, exp.key_locs[k], "expect field")
                    elif v is None and k == "base":
                        fx.expect[k] = None  # "no base should be named"
                    elif isinstance(v, list) and v and all(isinstance(x, str) and x for x in v) and k != "kind":
                        fx.expect[k] = tuple(v)  # any of these is right (e.g. bases no config can tell apart)
                    elif not isinstance(v, str) or not v:
                        self.problem(V.bad_expect.CHECK, f"`expect.{k}` must be a string" + (", a list of strings" if k != "kind" else "")
                                     + (" or null" if k == "base" else ""), exp.where(k))
                    elif k == "kind" and v not in (*KINDS, "unknown"):
                        tail = did_you_mean(v, list(KINDS))
                        self.problem(V.bad_expect.CHECK, f"`expect.kind` {v!r} is not a kind{tail}", exp.where(k))
                    else:
                        fx.expect[k] = v
        todo = raw.get("todo")
        if todo is True:
            fx.todo = tuple(fx.expect)
        elif isinstance(todo, list) and all(isinstance(t, str) for t in todo):
            for t in todo:
                if t not in EXPECT_FIELDS:
                    self.unknown(t, EXPECT_FIELDS, raw.where("todo"), "todo field")
            fx.todo = tuple(todo)
        elif todo not in (None, False):
            self.problem(V.bad_expect.CHECK, "`todo` must be true or a list of expect fields (kind, layout, lineage, base)", raw.where("todo"))

    def _rules(self, fx: Fixture, raw: LocDict) -> None:
        rules = raw.get("rules")
        if rules is None:
            return
        fx.rules_loc = raw.where("rules")
        if not isinstance(rules, LocDict):
            self.problem(V.bad_rule_outcome.CHECK, "`rules` must map rule ids to match | no-match | todo", raw.where("rules"))
            return
        for rid, want in rules.items():
            if want not in RULE_EXPECTATIONS:
                tail = did_you_mean(str(want), list(RULE_EXPECTATIONS), f" (one of {', '.join(RULE_EXPECTATIONS)})")
                self.problem(V.bad_rule_outcome.CHECK, f"rule {rid!r}: expected outcome {want!r} is not known{tail}", rules.where(rid))
                continue
            fx.rules[str(rid)] = want
            fx.rule_locs[str(rid)] = rules.key_locs[rid]


def expect_holds(field_name: str, want: str | tuple[str, ...] | None, got: str | None) -> bool:
    """Does an observed value meet the expectation? A list is any-of; base ids ignore case."""
    wants = want if isinstance(want, tuple) else (want,)
    if field_name == "base":
        return any((w or "").lower() == (got or "").lower() for w in wants)
    return got in wants


def _plain(v: Any) -> Any:
    """LocDict/LocList -> dict/list, as json.load would give (the engine compares plain values)."""
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_plain(x) for x in v]
    return v


def load_fixtures(paths: list[Path] | None = None, *, shipped: bool = True) -> FixtureSet:
    """Shipped fixtures (rules/tests/*.yaml), then each path (a fixture file or a rules folder)."""
    out = FixtureSet()
    reader = _Reader(out)
    if shipped:
        root = shipped_fixtures_dir()
        for p in fixture_files(root):
            reader.file(p, "rules/tests/" + p.relative_to(root).as_posix())
    reader.layer = 1
    for path in paths or []:
        if not path.exists():
            out.problems.append(V.unreadable_path.CHECK("no such file or folder", Location(str(path), 1, 1)))
            continue
        for p in fixture_files(path):
            reader.file(p, str(p))
    return out


def check_rule_ids(fixtures: FixtureSet, rule_ids: list[str]) -> list[RuleProblem]:
    """`rules:` expectations naming a rule that does not exist (with a did-you-mean)."""
    out = []
    known = set(rule_ids)
    for fx in fixtures.fixtures:
        for rid in fx.rules:
            if rid not in known:
                tail = did_you_mean(rid, rule_ids)
                out.append(V.unknown_rule_in_fixture.CHECK(f"fixture {fx.id!r} expects an outcome of unknown rule {rid!r}{tail}", fx.rule_locs[rid]))
    return out


# --- writing ----------------------------------------------------------------------------------
_PLAIN_OK = re.compile(r"^[A-Za-z_][\w.\-/{}]*(?:,[\w.\-/{}]+)*$")
_RESERVED = {"true", "false", "null", "yes", "no", "on", "off", "y", "n", "~"}


def _scalar(v: Any) -> str:
    if isinstance(v, str) and _PLAIN_OK.match(v) and v.lower() not in _RESERVED:
        return v
    return json.dumps(v, ensure_ascii=False)


def render_flow(v: Any) -> str:
    """A value as one-line YAML flow, as fixture files write `expect:` and `rules:`."""
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_scalar(k)}: {render_flow(x)}" for k, x in v.items()) + "}"
    if isinstance(v, list | tuple):
        return "[" + ", ".join(render_flow(x) for x in v) + "]"
    return _scalar(v)


def render_fixture(fx: dict[str, Any]) -> str:
    """One fixture as a YAML list item (two-space indent), in a fixed key order for clean diffs."""
    lines = [f"  - id: {_scalar(fx['id'])}"]
    for key in ("description", "repo_id"):
        if fx.get(key):
            lines.append(f"    {key}: {_scalar(fx[key])}")
    if fx.get("source"):
        lines.append("    source:")
        lines.extend(f"      {k}: {_scalar(v)}" for k, v in fx["source"].items())
    lines.append(f"    expect: {render_flow(fx.get('expect') or {})}")
    if fx.get("todo"):
        lines.append(f"    todo: {render_flow(list(fx['todo']))}")
    if fx.get("rules"):
        lines.append(f"    rules: {render_flow(fx['rules'])}")
    if fx.get("card"):
        lines.append(f"    card: {json.dumps(fx['card'], ensure_ascii=False)}")
    if fx.get("tokenizer"):
        lines.append(f"    tokenizer: {json.dumps(fx['tokenizer'], ensure_ascii=False)}")
    if fx.get("weights_format"):
        lines.append(f"    weights_format: {_scalar(fx['weights_format'])}")
    lines.append(f"    files: {render_flow(list(fx.get('files') or []))}")
    if fx.get("config") is None:
        lines.append("    config: null")
    else:
        # One top-level key a line, each value compact: reads like config.json, diffs by key.
        items = [f"      {json.dumps(k, ensure_ascii=False)}: {json.dumps(v, ensure_ascii=False)}" for k, v in fx["config"].items()]
        lines.append("    config: {" if items else "    config: {}")
        if items:
            lines.append(",\n".join(items))
            lines.append("      }")
    tensors = fx.get("tensors") or {}
    if not tensors:
        lines.append("    tensors: {}")
    else:
        lines.append("    tensors:")
        lines.extend(f"      {_scalar(name)}: {render_flow(value) if value is not None else 'null'}" for name, value in tensors.items())
    return "\n".join(lines) + "\n"


FILE_HEADER = """\
# Rule-test fixtures: `inspector rules test` runs every rule on every fixture.
# Format: rules/README.md ("Fixtures"). Written by `inspector rules snapshot`; edit `expect`,
# `todo` and `rules` by hand. A name component {0-31} stands for each of those layer numbers.
fixtures:
"""


def fixture_dict(fid: str, snap: Snapshot, *, source: dict[str, str], expect: dict[str, str | None],
                 todo: list[str] | tuple[str, ...] = (), rules: dict[str, str] | None = None,
                 files: list[str] | None = None, description: str = "") -> dict[str, Any]:
    """The fixture of a snapshot, ready for render_fixture."""
    card = {k: snap.card[k] for k in ("base_model",) if snap.card and snap.card.get(k) is not None}
    return {
        "id": fid, "description": description, "repo_id": snap.repo_id, "source": source,
        "expect": expect, "todo": list(todo), "rules": rules or {}, "card": card,
        "files": files if files is not None else list(snap.files), "config": snap.config,
        "tokenizer": snap.tokenizer, "weights_format": snap.weights_format,
        "tensors": compress_tensors(snap.tensors),
    }
