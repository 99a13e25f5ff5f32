"""W305: a `tensor:` pattern that matches no tensor of any fixture or sample."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import RuleProblem
from ..patterns import PatternError, compile_tensor_pattern
from . import Check, unique_predicates
from .examples import FACTS_PREAMBLE, FIXTURES

if TYPE_CHECKING:
    from ..authoring import KnownNames
    from ..ruleset import RuleSet

CHECK = Check(
    code="W305",
    severity="warning",
    title='a `tensor:` pattern that matches no tensor of any fixture or sample',
    passing={
        'rules.yaml': FACTS_PREAMBLE + """\
rules:
  - id: t.vocab
    lineage: qwen
    match:
      vocab:
        - tensor: embed_tokens
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
        - tensor: embed_tokenz
""",
        'tests/f.yaml': FIXTURES,
    },
    at=(11, 19),
    at_file='rules.yaml',
)


def run(rs: RuleSet, known: KnownNames) -> list[RuleProblem]:
    out = []
    for where, p in unique_predicates(rs, "tensor"):
        try:
            skel_rx = compile_tensor_pattern(p.key)[0]
        except PatternError:
            continue
        if not any(skel_rx.search(s) for s in known.skeletons):
            out.append(CHECK(f"tensor pattern {p.key!r} matches no tensor of a known layout ({known.sources} fixtures "
                             "and samples): add a fixture that has it", where))
    return out
