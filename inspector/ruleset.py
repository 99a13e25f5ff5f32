"""Rule files -> a typed RuleSet. One pass collects every problem with its file:line:col."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from . import condition as cond
from . import validators as V
from .errors import Location, RuleError, RuleProblem, did_you_mean
from .operators import (
    MEMO_CHARS,
    MEMO_ENTRIES,
    OPERATORS,
    OPS_BY_SUBJECT,
    TENSOR_OPS,
    VALUE_OPS,
    VALUE_SUBJECTS,
    describe,
)
from .operators import SUBJECTS as SUBJECT_DOCS
from .patterns import PatternError, compile_tensor_pattern
from .yamlloc import LocDict, LocList, YamlProblem, load_file

FIELDS = ("kind", "layout", "lineage")
KINDS = ("decoder", "encoder", "encoder-decoder")
STATUSES = ("experimental", "test", "stable", "deprecated")
SUBJECTS = tuple(SUBJECT_DOCS)
# A rule's keys with their JSON Schema (`rules schema`); the loader checks each below.
RULE_FIELDS: dict[str, dict[str, Any]] = {
    "id": {"type": "string", "minLength": 1}, "description": {"type": "string"},
    "status": {"enum": list(STATUSES)}, "author": {"type": "string"},
    "references": {"type": "array", "items": {"type": "string"}},
    "related": {"type": "array", "items": {"type": "object", "required": ["id"], "additionalProperties": False,
                                           "properties": {"id": {"type": "string"}, "type": {"enum": ["derived-from", "replaces"]}}}},
    "family": {"type": "string"}, "tags": {"type": "array", "items": {"type": "string"}},
    "kind": {"enum": list(KINDS)}, "layout": {"type": "string", "minLength": 1}, "lineage": {"type": "string", "minLength": 1},
    "weight": {"type": "number", "description": "added to each voted value's score when the rule holds; negative = evidence against"},
    "match": {"type": "object", "minProperties": 1, "additionalProperties": {"$ref": "#/$defs/selection"}},
    "condition": {"type": "string", "description": "selection names with and / or / not, ( ), `1 of x*`, `all of x*`"},
    "extends": {"type": "string", "description": "id of a rule to copy; keys given here override"},
}
RULE_KEYS = tuple(RULE_FIELDS)
# A known base's keys (`bases:`) with their JSON Schema.
BASE_FIELDS: dict[str, dict[str, Any]] = {
    "id": {"type": "string"}, "lineage": {"type": "string"}, "kind": {"enum": list(KINDS)},
    "fingerprint": {"type": "object", "minProperties": 1},
    "references": {"type": "array", "items": {"type": "string"}},
    "description": {"type": "string"},
}
BASE_KEYS = tuple(BASE_FIELDS)
# `declared:` lists -> the field each claim names and that field's JSON Schema; a claim holds when the
# repo declares one of its model types or architectures.
DECLARED_CLAIMS: dict[str, tuple[str, dict[str, Any]]] = {
    "lineages": ("lineage", {"type": "string"}), "kinds": ("kind", {"enum": list(KINDS)}),
}
CLAIM_LISTS = ("model_types", "architectures")
MAX_EXTENDS = 16  # `extends` is resolved recursively


def _claim_schema(name: str, value: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": [name], "additionalProperties": False,
            "properties": {name: value, **{k: {"type": "array", "items": {"type": "string"}} for k in CLAIM_LISTS}}}


# A rule file's top-level keys with their JSON Schema (`rules schema`), but for the trait keys, which
# traits.py reads and describes (`trait_file_schema`).
TOP_FIELDS: dict[str, dict[str, Any]] = {
    "rules": {"type": "array", "items": {"$ref": "#/$defs/rule"}},
    "fragments": {"type": "array", "items": {"type": "object", "required": ["id", "predicates"], "additionalProperties": False,
                                             "properties": {"id": {"type": "string"}, "description": {"type": "string"},
                                                            "predicates": {"type": "array", "items": {"$ref": "#/$defs/predicate"}}}}},
    "facts": {"type": "object", "additionalProperties": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string", "minLength": 1}}]}},
    "declared": {"type": "object", "additionalProperties": False,
                 "properties": {k: {"type": "array", "items": _claim_schema(name, value)} for k, (name, value) in DECLARED_CLAIMS.items()}},
    "bases": {"type": "array", "items": {"type": "object", "required": ["id", "lineage", "fingerprint"], "additionalProperties": False,
                                         "properties": BASE_FIELDS}},
    "base_weight": {"type": "number"},
}
TRAIT_TOP_KEYS = ("traits", "layer_kinds", "lm_configs")
TOP_KEYS = (*TOP_FIELDS, *TRAIT_TOP_KEYS)
# Facts that facts.py computes (from the config, the tensors, the tokenizer and the repo), with
# what each is: rules may name them without a facts: entry. tests/test_ruleset.py checks that code
# computes each one and nothing else.
DERIVED_FACTS: dict[str, str] = {
    "vocab_size": "also from the embedding's shape when the config lacks it",
    "hidden_size": "also from the embedding's shape when the config lacks it",
    "num_kv_heads": "config, else from k_proj's shape, else 1 for multi-query configs, else num_heads",
    "head_dim": "config head_dim / kv_channels, else hidden_size / num_heads",
    "gqa_group": "num_heads / num_kv_heads",
    "layer_count": "from tensor names (highest layer number + 1)",
    "tensor_count": "how many tensors the weights name",
    "tied_embeddings": "config, else: an embedding tensor and no output head",
    "quantization": "gptq, awq, bnb, mlx, ... from quantization_config and tensor names; `none` otherwise",
    "repo_id": "the Hub repo id, when the target is one",
    "weights_format": "safetensors, bin-index, gguf, ...",
    "base_model": "the model card's `base_model` (the first, when it lists several)",
    "auto_map": "the config's auto_map values, as a list of strings",
    "tokenizer_class": "also from tokenizer_config.json (with --with-tokenizer) or a GGUF's tokenizer",
    "special_tokens": "the tokenizer's special tokens",
    "tokenizer_vocab_size": "the tokenizer's vocabulary size, added tokens included",
    "tokenizer_base_vocab": "the tokenizer's vocabulary size before added tokens",
    "chat_template_sha256": "SHA-256 of the tokenizer's chat template",
    "tokenizer_model": "the tokenizer model type (BPE, Unigram, GGUF's tokenizer.ggml.model, ...)",
    "param_count": "parameters: exact from every header or the Hub's count, else estimated from the shapes read",
    "params_exact": "whether param_count is exact",
    "param_dtypes": "tensors by dtype over the headers read",
    "status": "how the read went: ok, no_config, no_weights_metadata, invalid, ...",
    "status_error": "the one-line error of a read that did not go well",
    "read_notes": "what reading config.json tolerated as transformers does (duplicate keys, NaN/Infinity), a note each",
}


@dataclass(frozen=True)
class Predicate:
    subject: str
    key: str
    ops: dict[str, Any]
    loc: Location
    text: str  # how the predicate reads in evidence, e.g. "fact vocab_size in [151936, 152064]"
    subject_loc: Location | None = None  # where the tensor pattern / config key is written (validation points there)
    # Compiled when the rules load (operators.py): one test per operator, in `ops` order.
    tests: tuple = field(default=(), compare=False, repr=False)

    @cached_property
    def sig(self) -> str:
        """Predicates with the same signature hold together (rules repeat many checks)."""
        return f"{self.subject}\0{self.key}\0{self.ops!r}"

    @cached_property
    def presence(self) -> bool | None:
        """For a tensor or file predicate whose one operator is `present` (the default), the
        presence it asks for: its truth is whether the pattern matches anything. Else None."""
        return self.ops["present"] if self.subject not in VALUE_SUBJECTS and self.ops.keys() == {"present"} else None

    @cached_property
    def value_holds(self) -> Callable[[bool, Any], bool]:
        """All operators' tests as one (most predicates have one operator)."""
        if len(self.tests) == 1:
            return self.tests[0]
        tests = self.tests
        return lambda found, value: all(t(found, value) for t in tests)


@dataclass(frozen=True)
class Selection:
    name: str
    predicates: tuple[Predicate, ...]
    loc: Location

    @cached_property
    def quick_order(self) -> tuple[Predicate, ...]:
        """Cheap value checks before tensor and file matching (a yes/no pass stops at the first no)."""
        return tuple(sorted(self.predicates, key=lambda p: p.subject not in VALUE_SUBJECTS))


@dataclass(frozen=True)
class Rule:
    id: str
    votes: dict[str, str]
    weight: float
    selections: dict[str, Selection]
    condition: object
    condition_text: str
    loc: Location
    description: str = ""
    status: str = "experimental"
    author: str = ""
    family: str | None = None
    references: tuple[str, ...] = ()
    related: tuple[dict, ...] = ()
    tags: tuple[str, ...] = ()

    @property
    def file(self) -> str:
        return self.loc.file

    @cached_property
    def fires_on(self) -> Callable[[Callable[[Selection], bool]], bool] | None:
        """The condition compiled (condition.to_closure) over the truths of the selections themselves;
        None when the rule has none. Compiled once, when the rules load (at the end of load_ruleset)."""
        if self.condition is None:
            return None
        return cond.to_closure(self.condition, tuple(self.selections), self.selections)

    @cached_property
    def gates(self) -> tuple[tuple[Predicate, ...], ...]:
        """Value predicates the rule cannot fire without: per group of selections its condition
        needs (condition.needed), each selection's first cheap check, one of which must hold. A
        group with a selection that has no value check is left out. The engine tries them first."""
        if self.condition is None:
            return ()
        out = []
        for group in cond.needed(self.condition, tuple(self.selections)):
            firsts = [self.selections[name].quick_order[:1] for name in sorted(group)]
            if all(first and first[0].subject in VALUE_SUBJECTS for first in firsts):
                out.append(tuple(first[0] for first in firsts))
        return tuple(out)


@dataclass(frozen=True)
class BaseModel:
    id: str
    lineage: str
    fingerprint: dict[str, Any]
    loc: Location
    references: tuple[str, ...] = ()
    kind: str = "decoder"


@dataclass(frozen=True)
class Claim:
    """A `declared:` entry: what a model_type or architecture claims."""

    value: str  # a lineage or a kind
    model_types: tuple[str, ...]
    architectures: tuple[str, ...]  # globs
    loc: Location


@dataclass
class RuleSet:
    rules: list[Rule] = field(default_factory=list)
    facts: dict[str, list[str]] = field(default_factory=dict)
    bases: list[BaseModel] = field(default_factory=list)
    base_weight: float = 0.5
    declared_lineages: list[Claim] = field(default_factory=list)
    declared_kinds: list[Claim] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    problems: list[RuleProblem] = field(default_factory=list)
    traits: Any = None  # traits.TraitSet: architecture trait rules (`traits:`, `layer_kinds:`)

    @property
    def errors(self) -> list[RuleProblem]:
        return [p for p in self.problems if p.severity == "error"]

    @cached_property
    def active(self) -> list[Rule]:
        """The rules the engine evaluates: all but the deprecated (computed once the rules are loaded)."""
        return [r for r in self.rules if r.status != "deprecated"]

    def rule(self, rule_id: str) -> Rule | None:
        return next((r for r in self.rules if r.id == rule_id), None)

    def predicates(self) -> Iterator[tuple[Rule, Predicate]]:
        """Every predicate of every rule, with its rule (fragments already inlined)."""
        for rule in self.rules:
            for sel in rule.selections.values():
                for p in sel.predicates:
                    yield rule, p

    @cached_property
    def value_checks(self) -> ValueChecks:
        """Every fact and config predicate, by what it reads (built on first use, once the rules are loaded)."""
        return ValueChecks([p for _rule, p in self.predicates() if p.subject in VALUE_SUBJECTS])


MAX_LIST_KEY = 16  # a list value longer than this is checked, not remembered
_SCALARS = (int, float, bool, type(None))


def value_key(v: Any) -> tuple | None:
    """A hashable stand-in for a fact or config value: keys are equal only for equal values of the
    same types (1 and 1.0 apart), so every operator answers them alike. None: the value has none
    (a mapping, a long string or list, a list of lists), it is checked each time."""
    kind = type(v)
    if kind is str:
        return ("str", v) if len(v) <= MEMO_CHARS else None
    if kind in _SCALARS:
        return (kind.__name__, v)
    if kind is list and len(v) <= MAX_LIST_KEY:
        keys = tuple(value_key(x) if type(x) is not list else None for x in v)
        return None if None in keys else ("list", keys)
    return None


class ValueChecks:
    """The value predicates of a rule set, grouped by the fact or config path they read. Rules ask
    the same few values (vocab_size, model_type, architectures) hundreds of times a target, and an
    audit meets the same values again and again: all of a value's predicates are answered at once,
    and which of them hold is remembered per value (bounded), so most targets cost a lookup a read."""

    def __init__(self, predicates: list[Predicate]) -> None:
        self.tests: dict[tuple[str, str], dict[str, Callable[[bool, Any], bool]]] = {}  # (subject, key) -> sig -> test
        for p in predicates:
            self.tests.setdefault((p.subject, p.key), {})[p.sig] = p.value_holds
        self.none_hold = {read: dict.fromkeys(tests, False) for read, tests in self.tests.items()}
        self.holding: dict[tuple[str, str], dict[tuple, tuple[str, ...]]] = {read: {} for read in self.tests}  # value key -> sigs

    def answer(self, truth: dict[str, bool], facts: dict[str, Any], config_get: Callable[[str], tuple[bool, Any]]) -> None:
        """Set in `truth` each predicate's truth by signature, for these fact values and this
        config (`config_get(path)` gives (found, value))."""
        for read, tests in self.tests.items():
            subject, name = read
            if subject == "fact":
                found = name in facts
                v = facts[name] if found else None
            else:
                found, v = config_get(name)
            vkey = value_key(v) if found else ("missing",)
            known = self.holding[read]
            holding = known.get(vkey) if vkey is not None else None
            if holding is None:
                holding = tuple(sig for sig, test in tests.items() if test(found, v))
                if vkey is not None and len(known) < MEMO_ENTRIES:
                    known[vkey] = holding
            truth.update(self.none_hold[read])
            for sig in holding:
                truth[sig] = True


def shipped_rules_dir() -> Path:
    """The rules installed with the package (inspector/_rules); in a source checkout, the repo's rules/."""
    here = Path(__file__).resolve().parent
    installed = here / "_rules"
    return installed if (installed / "facts.yaml").is_file() else here.parent / "rules"


def rule_files(path: Path) -> list[Path]:
    """YAML files of a folder (fixtures under tests/ excluded), or the file itself."""
    if not path.is_dir():  # a file, or a FIFO or device that the loader refuses by name
        return [path]
    return sorted(p for p in path.rglob("*.y*ml") if p.suffix in (".yaml", ".yml") and "tests" not in p.relative_to(path).parts)


def _display(p: Path, root: Path, shipped: bool) -> str:
    if shipped:
        return "rules/" + p.relative_to(root).as_posix()
    return str(p)


class ProblemLog:
    """What the rule and fixture loaders share: collect problems, word E111, load a file or record why not."""

    problems: list[RuleProblem]

    def problem(self, check: V.Check, msg: str, loc: Location | None) -> None:
        self.problems.append(check(msg, loc))

    def unknown(self, key: Any, known: tuple[str, ...] | list[str], loc: Location, what: str) -> None:
        tail = did_you_mean(str(key), list(known), f" (known: {', '.join(known)})")
        self.problem(V.unknown_key.CHECK, f"unknown {what} {key!r}{tail}", loc)

    def load(self, path: Path, display: str) -> Any:
        """The document, or None when it is empty or cannot be read (the problem is recorded)."""
        try:
            return load_file(path, display)
        except YamlProblem as e:
            self.problems.append(e.problem)
            return None


class _Builder(ProblemLog):
    def __init__(self) -> None:
        self.rs = RuleSet()
        self.problems = self.rs.problems
        self.raw_rules: dict[str, tuple[LocDict, int]] = {}  # id -> (mapping, layer)
        self.fragments: dict[str, tuple[LocList, Location]] = {}
        self.fact_names: set[str] = set(DERIVED_FACTS)
        self.trait_docs: list[tuple[LocDict, int]] = []  # files with trait keys, read in finish()

    # --- files -------------------------------------------------------------------------------
    def add_file(self, path: Path, display: str, layer: int) -> None:
        self.rs.files.append(display)
        doc = self.load(path, display)
        if doc is None:
            return
        if not isinstance(doc, LocDict):
            self.problem(V.not_a_mapping.CHECK, "a rule file must be a mapping with keys like `rules:`", Location(display, 1, 1))
            return
        for key in doc:
            if key not in TOP_KEYS:
                self.unknown(key, TOP_KEYS, doc.key_locs[key], "top-level key")
        if "facts" in doc:
            self._facts(doc["facts"], doc.where("facts"))
        if "declared" in doc:
            self._declared(doc["declared"], doc.where("declared"))
        if "bases" in doc:
            self._bases(doc["bases"], doc.where("bases"))
        if "base_weight" in doc:
            w = doc["base_weight"]
            if _is_number(w):
                self.rs.base_weight = float(w)
            else:
                self.problem(V.wrong_type.CHECK, f"base_weight must be a number, got {w!r}", doc.where("base_weight"))
        if "fragments" in doc:
            self._fragments(doc["fragments"], doc.where("fragments"))
        if any(k in doc for k in TRAIT_TOP_KEYS):
            self.trait_docs.append((doc, layer))
        if "rules" in doc:
            self.collect(doc, "rules", "rule", self.raw_rules, layer)

    def collect(self, doc: LocDict, key: str, noun: str, into: dict[str, tuple[LocDict, int]], layer: int,
                taken: dict[str, Any] | None = None) -> None:
        """`doc[key]`, a list of rules (or trait rules) with ids, into `into` by id: a later layer's rule
        replaces an earlier one of its id, one layer may not name an id twice, nor an id in `taken`."""
        items = doc[key]
        if not isinstance(items, LocList):
            self.problem(V.wrong_type.CHECK, f"`{key}` must be a list of {noun}s", doc.where(key))
            return
        for i, it in enumerate(items):
            if not isinstance(it, LocDict):
                self.problem(V.wrong_type.CHECK, f"a {noun} must be a mapping", items.where(i))
                continue
            rid = it.get("id")
            if not isinstance(rid, str) or not rid:
                self.problem(V.rule_without_id.CHECK, f"a {noun} needs an `id` (a non-empty string)", it.loc)
                continue
            if rid in into and into[rid][1] == layer:
                self.problem(V.duplicate_id.CHECK, f"duplicate {noun} id {rid!r} (first at {into[rid][0].where('id')})",
                             it.where("id"))
                continue
            if taken is not None and rid in taken:
                self.problem(V.duplicate_id.CHECK, f"{noun} id {rid!r} is also a rule id", it.where("id"))
                continue
            into[rid] = (it, layer)

    def _facts(self, facts: Any, loc: Location) -> None:
        if not isinstance(facts, LocDict):
            self.problem(V.wrong_type.CHECK, "`facts` must map fact names to lists of config paths", loc)
            return
        for name, paths in facts.items():
            if isinstance(paths, str):
                paths = [paths]
            if not isinstance(paths, list) or not all(isinstance(p, str) and p for p in paths):
                self.problem(V.wrong_type.CHECK, f"fact {name!r} must list config paths (strings)", facts.where(name))
                continue
            self.rs.facts[str(name)] = list(paths)
            self.fact_names.add(str(name))

    def _claims(self, items: Any, loc: Location, field_name: str, allowed: tuple[str, ...] | None) -> list[Claim]:
        out: list[Claim] = []
        if not isinstance(items, LocList):
            self.problem(V.wrong_type.CHECK, f"`declared.{field_name}s` must be a list", loc)
            return out
        for i, it in enumerate(items):
            if not isinstance(it, LocDict):
                self.problem(V.wrong_type.CHECK, "a declared entry must be a mapping", items.where(i))
                continue
            for k in it:
                if k not in (field_name, *CLAIM_LISTS):
                    self.unknown(k, (field_name, *CLAIM_LISTS), it.key_locs[k], "key")
            value = it.get(field_name)
            if not isinstance(value, str) or (allowed and value not in allowed):
                self.problem(V.bad_field_value.CHECK, f"`{field_name}` must be one of {allowed}" if allowed else f"`{field_name}` must be a string", it.where(field_name))
                continue
            mts, archs = it.get("model_types", []), it.get("architectures", [])
            if not _str_list(mts) or not _str_list(archs):
                self.problem(V.wrong_type.CHECK, "model_types and architectures must be lists of strings", it.loc)
                continue
            out.append(Claim(value, tuple(mts), tuple(archs), it.loc))
        return out

    def _declared(self, doc: Any, loc: Location) -> None:
        if not isinstance(doc, LocDict):
            self.problem(V.wrong_type.CHECK, "`declared` must be a mapping with `lineages` and `kinds`", loc)
            return
        for k in doc:
            if k not in DECLARED_CLAIMS:
                self.unknown(k, tuple(DECLARED_CLAIMS), doc.key_locs[k], "key")
        if "lineages" in doc:
            self.rs.declared_lineages.extend(self._claims(doc["lineages"], doc.where("lineages"), "lineage", None))
        if "kinds" in doc:
            self.rs.declared_kinds.extend(self._claims(doc["kinds"], doc.where("kinds"), "kind", KINDS))

    def _bases(self, items: Any, loc: Location) -> None:
        if not isinstance(items, LocList):
            self.problem(V.wrong_type.CHECK, "`bases` must be a list", loc)
            return
        seen = {b.id: b for b in self.rs.bases}
        for i, it in enumerate(items):
            if not isinstance(it, LocDict):
                self.problem(V.wrong_type.CHECK, "a base model must be a mapping", items.where(i))
                continue
            for k in it:
                if k not in BASE_KEYS:
                    self.unknown(k, BASE_KEYS, it.key_locs[k], "key")
            bid, lin, fp = it.get("id"), it.get("lineage"), it.get("fingerprint")
            if not isinstance(bid, str) or not isinstance(lin, str) or not isinstance(fp, LocDict) or not fp:
                self.problem(V.bad_base_model.CHECK, "a base model needs `id`, `lineage` and a non-empty `fingerprint` mapping", it.loc)
                continue
            if bid in seen:
                self.problem(V.duplicate_id.CHECK, f"duplicate base model {bid!r} (first at {seen[bid].loc})", it.where("id"))
                continue
            refs = it.get("references", [])
            kind = it.get("kind", "decoder")
            if kind not in KINDS:
                self.unknown(kind, KINDS, it.where("kind"), "kind")
                continue
            b = BaseModel(bid, lin, dict(fp), it.loc, tuple(refs) if _str_list(refs) else (), kind)
            seen[bid] = b
            self.rs.bases.append(b)

    def _fragments(self, items: Any, loc: Location) -> None:
        if not isinstance(items, LocList):
            self.problem(V.wrong_type.CHECK, "`fragments` must be a list", loc)
            return
        for i, it in enumerate(items):
            if not isinstance(it, LocDict) or not isinstance(it.get("id"), str) or not isinstance(it.get("predicates"), LocList):
                self.problem(V.bad_fragment.CHECK, "a fragment needs an `id` and a `predicates` list", items.where(i))
                continue
            if it["id"] in self.fragments:
                self.problem(V.duplicate_id.CHECK, f"duplicate fragment id {it['id']!r}", it.where("id"))
                continue
            self.fragments[it["id"]] = (it["predicates"], it.loc)

    # --- rules -------------------------------------------------------------------------------
    def finish(self) -> RuleSet:
        for rid, (raw, _layer) in self.raw_rules.items():
            merged = self._resolve_extends(rid, raw, [])
            if merged is not None:
                rule = self._rule(merged)
                if rule is not None:
                    self.rs.rules.append(rule)
        from .traits import build_traits  # trait rules share this builder's predicates and problem log

        self.rs.traits = build_traits(self, self.trait_docs)
        for rule in [*self.rs.rules, *(t.rule for t in self.rs.traits.rules)]:
            _ = rule.fires_on  # compiled now: once per load, before an audit forks its children
        for name in ("vocab_size", "hidden_size", "num_layers", "num_heads"):
            if self.rs.rules and name not in self.rs.facts:
                self.problem(V.core_fact_undefined.CHECK, f"fact {name!r} is not defined in any facts: file", None)
        return self.rs

    def _resolve_extends(self, rid: str, raw: LocDict, chain: list[str]) -> LocDict | None:
        parent_id = raw.get("extends")
        if parent_id is None:
            return raw
        if not isinstance(parent_id, str) or parent_id not in self.raw_rules:
            tail = did_you_mean(str(parent_id), list(self.raw_rules))
            self.problem(V.unknown_parent.CHECK, f"rule {rid!r} extends unknown rule {parent_id!r}{tail}", raw.where("extends"))
            return None
        if len(chain) >= MAX_EXTENDS:
            self.problem(V.extends_loop.CHECK, f"`extends` chain is deeper than {MAX_EXTENDS} rules", raw.where("extends"))
            return None
        if parent_id in chain or parent_id == rid:
            self.problem(V.extends_loop.CHECK, f"`extends` loops: {' -> '.join([*chain, rid, parent_id])}", raw.where("extends"))
            return None
        parent = self._resolve_extends(parent_id, self.raw_rules[parent_id][0], [*chain, rid])
        if parent is None:
            return None
        # The child's keys win; `match` merges by selection name; votes are replaced as a set.
        merged = copy.copy(parent)
        merged.key_locs, merged.value_locs, merged.loc = dict(parent.key_locs), dict(parent.value_locs), raw.loc
        if any(f in raw for f in FIELDS):
            for f in FIELDS:
                merged.pop(f, None)
        for k, v in raw.items():
            if k == "extends":
                continue
            if k == "match" and isinstance(v, LocDict) and isinstance(parent.get("match"), LocDict):
                m = copy.copy(parent["match"])
                m.key_locs, m.value_locs = dict(parent["match"].key_locs), dict(parent["match"].value_locs)
                for sk, sv in v.items():
                    m[sk] = sv
                    m.key_locs[sk], m.value_locs[sk] = v.key_locs[sk], v.value_locs[sk]
                m.loc = v.loc
                merged[k] = m
            else:
                merged[k] = v
            merged.key_locs[k], merged.value_locs[k] = raw.key_locs[k], raw.value_locs[k]
        return merged

    def _rule(self, raw: LocDict) -> Rule | None:
        before = len(self.rs.errors)
        rid = raw["id"]
        for k in raw:
            if k not in RULE_KEYS:
                self.unknown(k, RULE_KEYS, raw.key_locs[k], "rule key")
        votes = {}
        for f in FIELDS:
            if f in raw:
                v = raw[f]
                if not isinstance(v, str) or not v:
                    self.problem(V.bad_field_value.CHECK, f"`{f}` must be a non-empty string", raw.where(f))
                elif f == "kind" and v not in KINDS:
                    self.unknown(v, KINDS, raw.where(f), "kind")
                else:
                    votes[f] = v
        if not votes and not any(f in raw for f in FIELDS):
            self.problem(V.votes_for_nothing.CHECK, f"rule {rid!r} votes for nothing: give `kind`, `layout` or `lineage`", raw.loc)
        weight = raw.get("weight", 1.0)
        if not _is_number(weight):
            self.problem(V.weight_not_a_number.CHECK, f"`weight` must be a number, got {weight!r}", raw.where("weight"))
            weight = 0.0
        status = raw.get("status", "experimental")
        if status not in STATUSES:
            self.unknown(status, STATUSES, raw.where("status"), "status")
        for key in ("description", "author", "family"):
            if key in raw and not isinstance(raw[key], str):
                self.problem(V.bad_field_value.CHECK, f"`{key}` must be a string", raw.where(key))
        refs = raw.get("references", [])
        if not _str_list(refs):
            self.problem(V.bad_field_value.CHECK, "`references` must be a list of strings", raw.where("references"))
            refs = []
        tags = raw.get("tags", [])
        if not _str_list(tags):
            self.problem(V.bad_field_value.CHECK, "`tags` must be a list of strings", raw.where("tags"))
            tags = []
        related = raw.get("related", [])
        if not isinstance(related, list) or not all(isinstance(r, dict) and isinstance(r.get("id"), str) and r.get("type", "derived-from") in ("derived-from", "replaces") for r in related):
            self.problem(V.bad_field_value.CHECK, "`related` must list {id, type: derived-from | replaces}", raw.where("related"))
            related = []
        match = raw.get("match")
        selections: dict[str, Selection] = {}
        if not isinstance(match, LocDict) or not match:
            self.problem(V.no_match.CHECK, f"rule {rid!r} needs a `match:` mapping of named selections", raw.where("match") if "match" in raw else raw.loc)
        else:
            selections = self.selections_of(match)
        ctext = raw.get("condition")
        tree: object = None
        if ctext is None:
            tree = cond.And(tuple(cond.Sel(n) for n in selections)) if selections else None
            ctext = " and ".join(selections)
        elif not isinstance(ctext, str):
            self.problem(V.bad_condition.CHECK, "`condition` must be a string", raw.where("condition"))
        else:
            cloc = raw.where("condition")
            try:
                tree = cond.parse(ctext)
            except cond.ConditionError as e:
                self.problem(V.bad_condition.CHECK, f"condition: {e}", Location(cloc.file, cloc.line, cloc.col + e.col))
            if tree is not None and isinstance(match, LocDict):
                used: set[str] = set()
                named = [n for n in match if isinstance(n, str) and n]
                for ref in cond.names(tree):
                    hit = cond.expand(ref, named)
                    if not hit:
                        tail = did_you_mean(ref, named)
                        self.problem(V.undefined_selection.CHECK, f"condition names selection {ref!r}, which `match` does not define{tail}", cloc)
                    used.update(hit)
                for name in named:
                    if name not in used:
                        self.problem(V.unused_selection.CHECK, f"selection {name!r} is never used in the condition", match.key_locs[name])
        if len(self.rs.errors) > before:
            return None
        return Rule(
            id=rid, votes=votes, weight=float(weight), selections=selections, condition=tree, condition_text=ctext,
            loc=raw.where("id"), description=raw.get("description", ""), status=status, author=raw.get("author", ""),
            family=raw.get("family") or votes.get("lineage"), references=tuple(refs), related=tuple(dict(r) for r in related),
            tags=tuple(tags),
        )

    def selections_of(self, match: LocDict) -> dict[str, Selection]:
        """A rule's (or trait rule's) `match:` mapping as named selections; a name that is no string
        (`null:`, `1:`, an anchored empty key) is a problem, not a selection."""
        selections: dict[str, Selection] = {}
        for name, body in match.items():
            if not isinstance(name, str) or not name:
                self.problem(V.bad_field_value.CHECK, f"a selection name must be a non-empty string, not {name!r}",
                             match.key_locs.get(name, match.loc))
                continue
            sel = self._selection(name, body, match.where(name))
            if sel is not None:
                selections[name] = sel
        return selections

    def _selection(self, name: str, body: Any, loc: Location) -> Selection | None:
        if isinstance(body, LocDict):
            items, locs = [body], [body.loc]
        elif isinstance(body, LocList) and body:
            items, locs = list(body), body.item_locs
        else:
            self.problem(V.empty_selection.CHECK, f"selection {name!r} must be a predicate or a non-empty list of predicates", loc)
            return None
        preds: list[Predicate] = []
        for item, iloc in zip(items, locs, strict=False):
            preds.extend(self._predicates(item, iloc, depth=0))
        return Selection(name, tuple(preds), loc)

    def _predicates(self, item: Any, loc: Location, depth: int) -> list[Predicate]:
        if not isinstance(item, LocDict):
            self.problem(V.bad_predicate.CHECK, "a predicate must be a mapping such as `{fact: vocab_size, equals: 64000}`", loc)
            return []
        if "use" in item:
            ref = item["use"]
            if len(item) > 1:
                self.problem(V.bad_predicate.CHECK, "`use:` stands alone in its predicate", item.loc)
            if ref not in self.fragments:
                tail = did_you_mean(str(ref), list(self.fragments))
                self.problem(V.unknown_fragment.CHECK, f"unknown fragment {ref!r}{tail}", item.where("use"))
                return []
            if depth > 8:
                self.problem(V.fragment_depth.CHECK, "fragments nest too deeply (or loop)", item.where("use"))
                return []
            preds_list, _floc = self.fragments[ref]
            out: list[Predicate] = []
            for sub, sloc in zip(preds_list, preds_list.item_locs, strict=False):
                out.extend(self._predicates(sub, sloc, depth + 1))
            return out
        subjects = [s for s in SUBJECTS if s in item]
        if len(subjects) != 1:
            unknown = [k for k in item if k not in SUBJECTS and k not in VALUE_OPS + TENSOR_OPS]
            if unknown:
                self.unknown(unknown[0], SUBJECTS + VALUE_OPS + TENSOR_OPS, item.key_locs[unknown[0]], "predicate key")
            else:
                self.problem(V.subject_count.CHECK, f"a predicate names exactly one of {', '.join(SUBJECTS)} (found {len(subjects)})", item.loc)
            return []
        subject = subjects[0]
        key = item[subject]
        if not isinstance(key, str) or not key:
            self.problem(V.empty_subject.CHECK, f"`{subject}` must name something (a string)", item.where(subject))
            return []
        if subject == "fact" and key not in self.fact_names and self.rs.facts:
            tail = did_you_mean(key, sorted(self.fact_names))
            self.problem(V.unknown_fact.CHECK, f"unknown fact {key!r}{tail}", item.where(subject))
        if subject == "tensor":
            try:
                compile_tensor_pattern(key)
            except PatternError as e:
                self.problem(V.bad_tensor_pattern.CHECK, str(e), item.where(subject))
        allowed = OPS_BY_SUBJECT[subject]
        ops: dict[str, Any] = {}
        for k, v in item.items():
            if k == subject:
                continue
            if k not in allowed:
                self.unknown(k, allowed, item.key_locs[k], f"operator for `{subject}`")
                continue
            err = OPERATORS[k].check(v)
            if err:
                self.problem(V.bad_operator_value.CHECK, f"`{k}`: {err}", item.where(k))
                continue
            if k == "matches" and (hint := _nested_quantifier(v)):
                # RE2 runs it in linear time anyway; other engines (and readers) may not.
                self.problem(V.nested_quantifier.CHECK, f"`matches`: nested quantifier {hint!r} backtracks catastrophically outside RE2; "
                             "write it without a repeated group", item.where(k))
            ops[k] = v
        if subject in ("tensor", "file") and not ops:
            ops["present"] = True
        if subject in ("fact", "config") and len(item) == 1:  # an unknown or broken operator is reported already
            self.problem(V.no_operator.CHECK, f"a `{subject}` predicate needs an operator ({', '.join(VALUE_OPS)})", item.loc)
            return []
        tests = tuple(OPERATORS[op].compile(arg) for op, arg in ops.items())
        return [Predicate(subject, key, ops, item.loc, describe(subject, key, ops), item.where(subject), tests)]


def _nested_quantifier(source: str) -> str | None:
    """The first repeated group that itself holds a repeat, like `(a+)+` or `(\\w*x)*`, else None."""
    try:
        import re._parser as sre  # type: ignore[import-not-found]  # Python 3.11+
    except ImportError:  # pragma: no cover
        import sre_parse as sre  # type: ignore[no-redef]
    try:
        tree = sre.parse(source)
    except Exception:  # RE2-only syntax: RE2 accepted it, nothing to hint
        return None
    repeats = {sre.MAX_REPEAT, sre.MIN_REPEAT, getattr(sre, "POSSESSIVE_REPEAT", None)} - {None}

    def children(op, arg) -> list:
        if op in repeats:
            return [arg[2]]
        if op == sre.SUBPATTERN:
            return [arg[-1]]
        return list(arg[1]) if op == sre.BRANCH else []

    def repeats_in(items) -> bool:
        return any((op in repeats and arg[1] > 1) or any(repeats_in(c) for c in children(op, arg)) for op, arg in items)

    def nested(items) -> bool:
        return any((op in repeats and arg[1] > 1 and repeats_in(arg[2])) or any(nested(c) for c in children(op, arg))
                   for op, arg in items)

    return source if nested(tree) else None


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _str_list(v: Any) -> bool:
    return isinstance(v, list) and all(isinstance(x, str) for x in v)


def load_ruleset(extra: list[Path] | None = None, *, shipped: bool = True, strict: bool = True) -> RuleSet:
    """Shipped rules, then each extra folder or file (a rule with a shipped id replaces it)."""
    b = _Builder()
    sources: list[tuple[Path, bool]] = []
    if shipped:
        sources.append((shipped_rules_dir(), True))
    sources.extend((Path(p), False) for p in extra or [])
    for root, is_shipped in sources:
        if not root.exists():
            b.problem(V.unreadable_path.CHECK, "no such file or folder", Location(str(root), 1, 1))
            continue
        base = root if root.is_dir() else root.parent
        # Two layers: shipped, then every extra path together, so an extra rule replaces a shipped
        # one while the same id in two extra files is a duplicate (E201), as it is within rules/.
        layer = 0 if is_shipped else 1
        for f in rule_files(root):
            b.add_file(f, _display(f, base, is_shipped), layer)
    rs = b.finish()
    if strict and rs.errors:
        raise RuleError(rs.errors)
    return rs
