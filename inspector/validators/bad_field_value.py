"""E122: a rule field of the wrong type: a vote that is not a string, `references`, `related` or `tags` not lists of strings."""

from . import Check
from .examples import FACTS_PREAMBLE, RULES

CHECK = Check(
    code="E122",
    severity="error",
    title='a rule field of the wrong type: a vote that is not a string, `references`, `related` or `tags` not lists of strings',
    passing=RULES,
    failing=FACTS_PREAMBLE + """\
rules:
  - id: t.vocab
    lineage: [qwen]
    match:
      vocab:
        - fact: vocab_size
          in: [151936]
""",
    at=(8, 14),
    at_file='rules.yaml',
)
