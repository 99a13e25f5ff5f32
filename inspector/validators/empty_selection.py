"""E140: a selection that is neither a predicate nor a non-empty list of predicates."""

from . import Check
from .examples import FACTS_PREAMBLE, RULES

CHECK = Check(
    code="E140",
    severity="error",
    title='a selection that is neither a predicate nor a non-empty list of predicates',
    passing=RULES,
    failing=FACTS_PREAMBLE + """\
rules:
  - id: t.vocab
    lineage: qwen
    match:
      vocab: []
""",
    at=(10, 14),
    at_file='rules.yaml',
)
