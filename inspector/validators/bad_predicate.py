"""E141: a predicate that is not a mapping, or a `use:` with other keys."""

from . import Check
from .examples import FACTS_PREAMBLE, RULES

CHECK = Check(
    code="E141",
    severity="error",
    title='a predicate that is not a mapping, or a `use:` with other keys',
    passing=RULES,
    failing=FACTS_PREAMBLE + """\
rules:
  - id: t.vocab
    lineage: qwen
    match:
      vocab:
        - vocab_size
""",
    at=(11, 11),
    at_file='rules.yaml',
)
