"""E145: a subject that names nothing (not a non-empty string)."""

from . import Check
from .examples import FACTS_PREAMBLE, RULES

CHECK = Check(
    code="E145",
    severity="error",
    title='a subject that names nothing (not a non-empty string)',
    passing=RULES,
    failing=FACTS_PREAMBLE + """\
rules:
  - id: t.vocab
    lineage: qwen
    match:
      vocab:
        - fact: ''
          in: [151936]
""",
    at=(11, 17),
    at_file='rules.yaml',
)
