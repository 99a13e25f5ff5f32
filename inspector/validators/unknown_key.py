"""E111: an unknown key, operator, kind or status (with a did-you-mean)."""

from . import Check
from .examples import FACTS_PREAMBLE, RULES

CHECK = Check(
    code="E111",
    severity="error",
    title='an unknown key, operator, kind or status (with a did-you-mean)',
    passing=RULES,
    failing=FACTS_PREAMBLE + """\
rules:
  - id: t.vocab
    lineage: qwen
    wieght: 0.5
    match:
      vocab:
        - fact: vocab_size
          in: [151936]
""",
    at=(9, 5),
    at_file='rules.yaml',
)
