"""W304: a `config:` key that no fixture or sample has (a dead predicate, or a missing fixture)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import RuleProblem
from . import Check, unique_predicates
from .examples import FACTS_PREAMBLE, FIXTURES

if TYPE_CHECKING:
    from ..authoring import KnownNames
    from ..ruleset import RuleSet

CHECK = Check(
    code="W304",
    severity="warning",
    title='a `config:` key that no fixture or sample has (a dead predicate, or a missing fixture)',
    passing={
        'rules.yaml': FACTS_PREAMBLE + """\
rules:
  - id: t.vocab
    lineage: qwen
    match:
      vocab:
        - config: vocab_size
          exists: true
""",
        'tests/f.yaml': FIXTURES,
    },
    failing={
        'rules.yaml': FACTS_PREAMBLE + """\
rules:
  - id: t.vocab
    lineage: qwen
    match:
      vocab:
        - config: vocab.size
          exists: true
""",
        'tests/f.yaml': FIXTURES,
    },
    at=(11, 19),
    at_file='rules.yaml',
)


def run(rs: RuleSet, known: KnownNames) -> list[RuleProblem]:
    from ..facts import config_get

    out = []
    for where, p in unique_predicates(rs, "config"):
        if not any(config_get(c, p.key)[0] for c in known.configs):
            out.append(CHECK(f"config key {p.key!r} is in no known config ({known.sources} fixtures and samples): "
                             "add a fixture that has it", where))
    return out
