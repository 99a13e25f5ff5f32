"""E126: a `weight` that is not a number."""

from . import Check
from .examples import FACTS_PREAMBLE, RULES

CHECK = Check(
    code="E126",
    severity="error",
    title='a `weight` that is not a number',
    passing=RULES,
    failing=FACTS_PREAMBLE + """\
rules:
  - id: t.vocab
    lineage: qwen
    weight: heavy
    match:
      vocab:
        - fact: vocab_size
          in: [151936]
""",
    at=(9, 13),
    at_file='rules.yaml',
)
