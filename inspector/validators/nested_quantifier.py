"""W303: a regex with a nested quantifier such as `(a+)+`: linear on RE2, catastrophic on backtracking engines."""

from . import Check
from .examples import FACTS_PREAMBLE, RULES

CHECK = Check(
    code="W303",
    severity="warning",
    title='a regex with a nested quantifier such as `(a+)+`: linear on RE2, catastrophic on backtracking engines',
    passing=RULES,
    failing=FACTS_PREAMBLE + """\
rules:
  - id: t.vocab
    lineage: qwen
    match:
      vocab:
        - fact: vocab_size
          matches: '(q+)+wen'
""",
    at=(12, 20),
    at_file='rules.yaml',
)
