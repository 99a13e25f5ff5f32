"""E143: fragments that nest too deeply (or loop)."""

from . import Check
from .examples import FACTS_PREAMBLE, RULES

CHECK = Check(
    code="E143",
    severity="error",
    title='fragments that nest too deeply (or loop)',
    passing=RULES,
    failing=FACTS_PREAMBLE + """\
rules:
  - id: t.vocab
    lineage: qwen
    match:
      vocab:
        - use: f.loop
fragments:
  - id: f.loop
    predicates:
      - use: f.loop
""",
    at=(15, 14),
    at_file='rules.yaml',
)
