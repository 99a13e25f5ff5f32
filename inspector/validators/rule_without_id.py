"""E121: a rule without an `id`."""

from . import Check
from .examples import FACTS_PREAMBLE, RULES

CHECK = Check(
    code="E121",
    severity="error",
    title='a rule without an `id`',
    passing=RULES,
    failing=FACTS_PREAMBLE + """\
rules:
  - lineage: qwen
    match:
      vocab:
        - fact: vocab_size
          in: [151936]
""",
    at=(7, 5),
    at_file='rules.yaml',
)
