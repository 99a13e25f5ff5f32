"""A population of repos to study, defined by the organisations that publish them (data, with sources),
and the Hub listing queries that find their models and, optionally, those models' derivatives.

The shipped population `china` lives in inspector/data/populations/china.yaml; a user passes their
own file in the same layout. Derivatives are found through the Hub's base-model links: every model
that declares `base_model: <org>/<name>` carries the tag `base_model:<org>/<name>` (and
`base_model:<relation>:<org>/<name>`), which `list_models(filter=...)` selects.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import validators as V
from .errors import Location, RuleProblem, UsageError
from .yamlloc import LocDict, LocList, YamlProblem, load_file

POPULATIONS_DIR = Path(__file__).resolve().parent / "data" / "populations"
ORG_KEYS = ("org", "name", "kind", "source", "says", "how", "note")
ORG_KINDS = ("company", "lab", "university", "institute", "community")
HOW = ("checked", "recalled")
POPULATION_KEYS = ("id", "title", "description", "as_of")
# A Hub namespace: letters, digits, '-', '_', '.'; not starting with a separator.
_ORG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,95}$")
_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$")


@dataclass(frozen=True)
class Organisation:
    org: str  # the Hub namespace
    name: str
    kind: str
    source: str  # a public URL that says where the organisation is
    says: str  # what that source says
    how: str  # checked | recalled
    loc: Location | None = None


@dataclass
class Population:
    id: str
    title: str
    organisations: list[Organisation] = field(default_factory=list)
    description: str = ""
    as_of: str | None = None
    file: str = ""

    @property
    def orgs(self) -> list[str]:
        return [o.org for o in self.organisations]

    def member(self, repo_id: str) -> Organisation | None:
        """The organisation that publishes `repo_id` (Hub namespaces compare without case)."""
        ns = repo_id.split("/", 1)[0].lower() if "/" in repo_id else None
        return next((o for o in self.organisations if o.org.lower() == ns), None)


@dataclass(frozen=True)
class ListingQuery:
    """One Hub `list_models` call: the models of an author, or those that declare a base model."""

    author: str | None = None
    filters: tuple[str, ...] = ()
    why: str = ""  # "org Qwen" | "derivatives of Qwen/Qwen2.5-7B"


def population_path(name_or_path: str | Path) -> Path:
    """A shipped population by name (`china`), else a file path."""
    name = str(name_or_path)
    shipped = POPULATIONS_DIR / f"{name}.yaml"
    if "/" not in name and "\\" not in name and not name.endswith((".yaml", ".yml")) and shipped.is_file():
        return shipped
    return Path(name)


def shipped_populations() -> list[str]:
    return sorted(p.stem for p in POPULATIONS_DIR.glob("*.yaml"))


def check_population(path: Path, display: str | None = None) -> tuple[Population | None, list[RuleProblem]]:
    """The population and every problem of its file (each with file:line:col)."""
    name = display or str(path)
    problems: list[RuleProblem] = []

    def bad(msg: str, loc: Location | None, check: V.Check = V.wrong_type.CHECK) -> None:
        problems.append(check(msg, loc or Location(name, 1, 1)))

    try:
        doc = load_file(path, name)
    except YamlProblem as e:
        return None, [e.problem]
    if not isinstance(doc, LocDict):
        bad("a population file is a mapping with `population:` and `organisations:`", None, V.not_a_mapping.CHECK)
        return None, problems
    for k in doc:
        if k not in ("population", "organisations"):
            bad(f"unknown top-level key {k!r} (known: population, organisations)", doc.key_locs[k], V.unknown_key.CHECK)
    head = doc.get("population")
    if not isinstance(head, LocDict) or not isinstance(head.get("id"), str) or not head["id"]:
        bad("`population:` needs an `id` (a name such as china)", doc.where("population") if "population" in doc else doc.loc, V.rule_without_id.CHECK)
        head = LocDict()
        head.loc, head.key_locs, head.value_locs = doc.loc, {}, {}
    for k in head:
        if k not in POPULATION_KEYS:
            bad(f"unknown population key {k!r} (known: {', '.join(POPULATION_KEYS)})", head.key_locs[k], V.unknown_key.CHECK)
    pop = Population(id=str(head.get("id", "")), title=str(head.get("title") or head.get("id", "")),
                     description=str(head.get("description") or ""), as_of=_str_or_none(head.get("as_of")), file=name)
    items = doc.get("organisations")
    if not isinstance(items, LocList) or not items:
        bad("`organisations:` must be a non-empty list", doc.where("organisations") if "organisations" in doc else doc.loc)
        return pop, problems
    seen: dict[str, Location] = {}
    for i, it in enumerate(items):
        if not isinstance(it, LocDict):
            bad("an organisation is a mapping with org, name, kind, source, says, how", items.where(i))
            continue
        for k in it:
            if k not in ORG_KEYS:
                bad(f"unknown organisation key {k!r} (known: {', '.join(ORG_KEYS)})", it.key_locs[k], V.unknown_key.CHECK)
        org = it.get("org")
        if not isinstance(org, str) or not _ORG.match(org):
            bad(f"`org` must be a Hub namespace (letters, digits, - _ .), got {org!r}", it.where("org") if "org" in it else it.loc, V.bad_field_value.CHECK)
            continue
        if org.lower() in seen:
            bad(f"organisation {org!r} is listed twice (first at {seen[org.lower()]})", it.where("org"), V.duplicate_id.CHECK)
            continue
        seen[org.lower()] = it.where("org")
        missing = [k for k in ("name", "source", "says", "how") if not isinstance(it.get(k), str) or not it[k].strip()]
        if missing:
            bad(f"organisation {org!r} needs {', '.join(missing)}: every member says who it is and which public source says so", it.loc, V.bad_base_model.CHECK)
            continue
        if not _URL.match(it["source"]):
            bad(f"`source` of {org!r} must be a public http(s) URL, got {it['source']!r}", it.where("source"), V.bad_field_value.CHECK)
            continue
        if it["how"] not in HOW:
            bad(f"`how` of {org!r} must be one of {', '.join(HOW)}, got {it['how']!r}", it.where("how"), V.bad_field_value.CHECK)
            continue
        kind = it.get("kind", "company")
        if kind not in ORG_KINDS:
            bad(f"`kind` of {org!r} must be one of {', '.join(ORG_KINDS)}, got {kind!r}", it.where("kind"), V.bad_field_value.CHECK)
            continue
        pop.organisations.append(Organisation(org, it["name"].strip(), kind, it["source"], it["says"].strip(), it["how"], it.where("org")))
    return pop, problems


def _str_or_none(v: Any) -> str | None:
    return None if v is None else str(v)


def load_population(name_or_path: str | Path) -> Population:
    """A shipped population (`china`) or a user's file; a broken file is one UsageError naming the
    file, line and column of its first problem (and how many more there are)."""
    path = population_path(name_or_path)
    if not path.is_file():
        known = ", ".join(shipped_populations())
        raise UsageError(f"no population {str(name_or_path)!r}: give a shipped name ({known}) or a population file", where=str(name_or_path))
    display = f"populations/{path.name}" if path.parent == POPULATIONS_DIR else str(path)
    pop, problems = check_population(path, display)
    if problems or pop is None:
        first = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise UsageError(f"{first.message}{more}", where=str(first.location) if first.location else display)
    return pop


# ---- Hub listings ------------------------------------------------------------------------------


def population_queries(pop: Population) -> list[ListingQuery]:
    """One query per organisation: the Hub takes one author per `list_models` call."""
    return [ListingQuery(author=o.org, why=f"org {o.org}") for o in pop.organisations]


def derivative_queries(model_ids: Iterable[str]) -> Iterator[ListingQuery]:
    """One query per model: the repos that declare it as `base_model` (each id once)."""
    seen: set[str] = set()
    for mid in model_ids:
        if mid.lower() in seen:
            continue
        seen.add(mid.lower())
        yield ListingQuery(filters=(f"base_model:{mid}",), why=f"derivatives of {mid}")


def run_query(q: ListingQuery, *, api=None, sort: str | None = None, limit: int | None = None, client=None):
    """The listed Items of one query (listing.list_hub does the Hub call and its errors)."""
    from .listing import list_hub

    return list_hub(authors=[q.author] if q.author else [], filters=q.filters, sort=sort, limit=limit, api=api,
                    client=client)


def list_population(pop: Population, *, derivatives: bool = False, api=None, sort: str | None = None,
                    limit: int | None = None, client=None) -> Iterator[tuple[Any, ListingQuery]]:
    """(Item, the query that found it) for every model of the population's organisations, then, with
    `derivatives`, every model that declares one of those as its base; each repo once. Lazy, so a
    caller can stop at a quota and record which queries it finished."""
    seen: set[str] = set()
    org_models: list[str] = []
    for q in population_queries(pop):
        for item in run_query(q, api=api, sort=sort, limit=limit, client=client):
            if item.repo not in seen:
                seen.add(item.repo)
                org_models.append(item.repo)
                yield item, q
    if not derivatives:
        return
    for q in derivative_queries(org_models):
        for item in run_query(q, api=api, sort=sort, limit=limit, client=client):
            if item.repo not in seen and pop.member(item.repo) is None:
                seen.add(item.repo)
                yield item, q
