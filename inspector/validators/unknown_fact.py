"""E146: a fact that no `facts:` entry defines and no code computes."""

from . import Check
from .examples import FACTS_PREAMBLE, RULES

CHECK = Check(
    code="E146",
    severity="error",
    title='a fact that no `facts:` entry defines and no code computes',
    passing=RULES,
    failing=FACTS_PREAMBLE + """\
rules:
  - id: t.vocab
    lineage: qwen
    match:
      vocab:
        - fact: vocab_sise
          in: [151936]
""",
    at=(11, 17),
    at_file='rules.yaml',
)
