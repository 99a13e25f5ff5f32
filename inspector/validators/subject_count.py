"""E144: a predicate that names no subject or more than one (`fact`, `config`, `tensor`, `file`)."""

from . import Check
from .examples import FACTS_PREAMBLE, RULES

CHECK = Check(
    code="E144",
    severity="error",
    title='a predicate that names no subject or more than one (`fact`, `config`, `tensor`, `file`)',
    passing=RULES,
    failing=FACTS_PREAMBLE + """\
rules:
  - id: t.vocab
    lineage: qwen
    match:
      vocab:
        - fact: vocab_size
          config: vocab_size
          in: [151936]
""",
    at=(11, 11),
    at_file='rules.yaml',
)
