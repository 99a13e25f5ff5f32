"""E148: an operator's argument of the wrong kind: a regex RE2 refuses, `on` where true/false is wanted, a dimension expression too long."""

from . import Check
from .examples import FACTS_PREAMBLE, RULES

CHECK = Check(
    code="E148",
    severity="error",
    title="an operator's argument of the wrong kind: a regex RE2 refuses, `on` where true/false is wanted, a dimension expression too long",
    passing=RULES,
    failing=FACTS_PREAMBLE + """\
rules:
  - id: t.vocab
    lineage: qwen
    match:
      vocab:
        - fact: vocab_size
          in: 151936
""",
    at=(12, 15),
    at_file='rules.yaml',
)
