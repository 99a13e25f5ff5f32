"""E149: a `fact` or `config` predicate without an operator."""

from . import Check
from .examples import FACTS_PREAMBLE, RULES

CHECK = Check(
    code="E149",
    severity="error",
    title='a `fact` or `config` predicate without an operator',
    passing=RULES,
    failing=FACTS_PREAMBLE + """\
rules:
  - id: t.vocab
    lineage: qwen
    match:
      vocab:
        - fact: vocab_size
""",
    at=(11, 11),
    at_file='rules.yaml',
)
