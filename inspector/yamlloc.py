"""A safe YAML loader that keeps line and column for every node and closes PyYAML's traps.

- built on yaml.SafeLoader: no Python objects are ever constructed;
- `1e-5` is a float (YAML 1.2), `on`/`yes`/`no`/`off` stay strings (only true/false are booleans);
- duplicate keys and aliases are errors (aliases: no billion-laughs, and they cannot cross files).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from . import validators as V
from .errors import Location, RuleProblem

MAX_RULE_FILE_BYTES = 5_000_000


class LocDict(dict):
    """A mapping that remembers where it and each of its keys and values stand."""

    loc: Location
    key_locs: dict[Any, Location]
    value_locs: dict[Any, Location]

    def where(self, key: Any) -> Location:
        return self.value_locs.get(key) or self.key_locs.get(key) or self.loc


class LocList(list):
    loc: Location
    item_locs: list[Location]

    def where(self, i: int) -> Location:
        return self.item_locs[i] if 0 <= i < len(self.item_locs) else self.loc


class YamlProblem(Exception):
    def __init__(self, problem: RuleProblem) -> None:
        self.problem = problem
        super().__init__(str(problem))


_FLOAT_RE = re.compile(
    r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
    |\.[0-9_]+(?:[eE][-+][0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""",
    re.X,
)
_BOOL_RE = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")


class _Loader(yaml.SafeLoader):
    file_name = "<string>"


# Rebuild the implicit resolvers: drop YAML 1.1 booleans (yes/no/on/off) and its float regex.
_Loader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in lst if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:float")]
    for ch, lst in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", _BOOL_RE, list("tTfF"))
_Loader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT_RE, list("-+0123456789."))


def _loc(loader: _Loader, node: Node) -> Location:
    return Location(loader.file_name, node.start_mark.line + 1, node.start_mark.column + 1)


def _compose_node(self: _Loader, parent: Node | None, index: Any) -> Node:
    if self.check_event(AliasEvent):
        ev = self.peek_event()
        raise YamlProblem(
            V.yaml_alias.CHECK("YAML aliases are not allowed here; share predicates with `fragments:`",
                        Location(self.file_name, ev.start_mark.line + 1, ev.start_mark.column + 1))
        )
    return yaml.SafeLoader.compose_node(self, parent, index)


_Loader.compose_node = _compose_node  # type: ignore[method-assign]


def _construct_mapping(loader: _Loader, node: MappingNode) -> LocDict:
    out = LocDict()
    out.loc, out.key_locs, out.value_locs = _loc(loader, node), {}, {}
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise YamlProblem(V.complex_key.CHECK("a mapping key must be a plain value", _loc(loader, key_node))) from None
        if key in out:
            raise YamlProblem(
                V.duplicate_key.CHECK(f"duplicate key {key!r} (first at line {out.key_locs[key].line})", _loc(loader, key_node))
            )
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_locs[key] = _loc(loader, key_node)
        out.value_locs[key] = _loc(loader, value_node)
    return out


def _construct_sequence(loader: _Loader, node: SequenceNode) -> LocList:
    out = LocList(loader.construct_object(child, deep=True) for child in node.value)
    out.loc = _loc(loader, node)
    out.item_locs = [_loc(loader, child) for child in node.value]
    return out


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
_Loader.add_constructor("tag:yaml.org,2002:seq", _construct_sequence)


try:  # libyaml's parser, when PyYAML was built with it: the same nodes and marks, ~8x faster
    from yaml._yaml import CParser as _CParser
except ImportError:  # pragma: no cover
    _CParser = None

if _CParser is not None:

    class _FastLoader(_CParser, yaml.constructor.SafeConstructor, yaml.resolver.Resolver):
        """libyaml composes, our constructors and resolvers build: only for documents that load cleanly."""

        file_name = "<string>"

        def __init__(self, stream: str) -> None:
            _CParser.__init__(self, stream)
            yaml.constructor.SafeConstructor.__init__(self)
            yaml.resolver.Resolver.__init__(self)

        def resolve(self, kind, value, implicit):
            # A plain scalar's tag follows from its text alone, and rule files repeat their keys and
            # values: ~19,000 scalars a start, each matched against the resolvers' regexes before.
            if kind is ScalarNode and implicit[0]:
                tag = _PLAIN_TAGS.get(value)
                if tag is None:
                    tag = super().resolve(kind, value, implicit)
                    if len(value) <= 200 and len(_PLAIN_TAGS) < 20_000:
                        _PLAIN_TAGS[value] = tag
                return tag
            return super().resolve(kind, value, implicit)

    _PLAIN_TAGS: dict[str, str] = {}

    _FastLoader.yaml_implicit_resolvers = _Loader.yaml_implicit_resolvers
    _FastLoader.yaml_constructors = dict(_Loader.yaml_constructors)


def _shares_nodes(root: Node) -> bool:
    """An alias makes libyaml reuse the anchored node: a node met twice means the text has one."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        n = stack.pop()
        if id(n) in seen:
            return True
        seen.add(id(n))
        if isinstance(n, MappingNode):
            for k, v in n.value:
                stack.append(k)
                stack.append(v)
        elif isinstance(n, SequenceNode):
            stack.extend(n.value)
    return False


class _Unusual(Exception):
    """A node the direct builder leaves to PyYAML's constructors (merge keys, explicit tags)."""


_PLAIN = {"tag:yaml.org,2002:str", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float",
          "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null"}


class _Build:
    """Rule files are plain maps, lists and scalars: built straight from libyaml's nodes, the same
    values and locations as the constructors above at a third of their cost (rules load at every start)."""

    def __init__(self, loader) -> None:
        self.loader = loader
        self.scalars = {tag: loader.yaml_constructors[tag] for tag in _PLAIN}

    def loc(self, node: Node) -> Location:
        return _loc(self.loader, node)

    def node(self, node: Node) -> Any:
        if isinstance(node, MappingNode):
            if node.tag != "tag:yaml.org,2002:map":
                raise _Unusual
            return self.mapping(node)
        if isinstance(node, SequenceNode):
            if node.tag != "tag:yaml.org,2002:seq":
                raise _Unusual
            out = LocList(self.node(child) for child in node.value)
            out.loc, out.item_locs = self.loc(node), [self.loc(child) for child in node.value]
            return out
        construct = self.scalars.get(node.tag)
        if construct is None:
            raise _Unusual
        return node.value if node.tag == "tag:yaml.org,2002:str" else construct(self.loader, node)

    def mapping(self, node: MappingNode) -> LocDict:
        out = LocDict()
        out.loc, out.key_locs, out.value_locs = self.loc(node), {}, {}
        for key_node, value_node in node.value:
            if key_node.tag not in self.scalars:  # a merge key, a complex key: PyYAML's path words it
                raise _Unusual
            key = self.node(key_node)
            if key in out:
                raise YamlProblem(V.duplicate_key.CHECK(
                    f"duplicate key {key!r} (first at line {out.key_locs[key].line})", self.loc(key_node)))
            out[key] = self.node(value_node)
            out.key_locs[key] = self.loc(key_node)
            out.value_locs[key] = self.loc(value_node)
        return out


def _load_fast(text: str, file_name: str) -> tuple[bool, Any]:
    """(True, document) when libyaml reads the text cleanly; (False, None) sends it to the exact
    (pure-Python) loader, which then reports the problem with its own message and location."""
    if _CParser is None:
        return False, None
    loader = _FastLoader(text)
    loader.file_name = file_name
    try:
        node = loader.get_single_node()
        if node is None:
            return True, None
        if "&" in text and _shares_nodes(node):  # no anchor, no alias: nothing can be shared
            return False, None
        try:
            return True, _Build(loader).node(node)
        except _Unusual:
            return True, loader.construct_document(node)
    except YamlProblem:
        raise
    except Exception:  # any libyaml complaint: let the exact loader word it
        return False, None
    finally:
        loader.dispose()


def load_text(text: str, file_name: str) -> Any:
    ok, doc = _load_fast(text, file_name)
    if ok:
        return doc
    loader: _Loader | None = None
    try:
        # The reader refuses control characters (NUL, ...) already in the constructor.
        loader = _Loader(text)
        loader.file_name = file_name
        return loader.get_single_data()
    except YamlProblem:
        raise
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        loc = Location(file_name, mark.line + 1, mark.column + 1) if mark else Location(file_name, 1, 1)
        msg = " ".join(f"{e.context or ''} {e.problem or ''}".split()) or "invalid YAML"
        raise YamlProblem(V.invalid_yaml.CHECK(f"invalid YAML: {msg}", loc)) from None
    except RecursionError:
        raise YamlProblem(V.invalid_yaml.CHECK("invalid YAML: collections nest too deeply", Location(file_name, 1, 1))) from None
    except (yaml.YAMLError, ValueError) as e:
        raise YamlProblem(V.invalid_yaml.CHECK(f"invalid YAML: {str(e).splitlines()[0][:160]}", Location(file_name, 1, 1))) from None
    finally:
        if loader is not None:
            loader.dispose()


def read_capped(path: Path, display: str | None = None, limit: int = MAX_RULE_FILE_BYTES) -> str:
    """A rule or fixture file's text, read through transport.localfs: only regular files (a FIFO would
    block, /dev/zero never ends), the size cap enforced while reading, not only from stat."""
    from .errors import InvalidData, TooLarge
    from .transport.localfs import read_capped as read_file

    name = display or str(path)
    try:
        data = read_file(path, limit, name, what="file")
    except TooLarge:
        raise YamlProblem(V.file_too_large.CHECK(f"file is larger than the limit of {limit} bytes", Location(name, 1, 1))) from None
    except InvalidData as e:
        raise YamlProblem(V.unreadable_path.CHECK(e.message, Location(name, 1, 1))) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise YamlProblem(V.invalid_yaml.CHECK("file is not UTF-8", Location(name, 1, 1))) from None


def load_file(path: Path, display: str | None = None) -> Any:
    name = display or str(path)
    return load_text(read_capped(path, name), name)
