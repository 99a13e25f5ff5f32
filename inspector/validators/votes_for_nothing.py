"""E125: a rule that votes for no field (`kind`, `layout` or `lineage`)."""

from . import Check
from .examples import FACTS_PREAMBLE, RULES

CHECK = Check(
    code="E125",
    severity="error",
    title='a rule that votes for no field (`kind`, `layout` or `lineage`)',
    passing=RULES,
    failing=FACTS_PREAMBLE + """\
rules:
  - id: t.vocab
    match:
      vocab:
        - fact: vocab_size
          in: [151936]
""",
    at=(7, 5),
    at_file='rules.yaml',
)
