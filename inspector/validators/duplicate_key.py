"""E102: the same key twice in a mapping (PyYAML would keep the last silently)."""

from . import Check
from .examples import FACTS_PREAMBLE, RULES

CHECK = Check(
    code="E102",
    severity="error",
    title='the same key twice in a mapping (PyYAML would keep the last silently)',
    passing=RULES,
    failing=FACTS_PREAMBLE + """\
rules:
  - id: t.vocab
    lineage: qwen
    lineage: llama
    match:
      vocab:
        - fact: vocab_size
          in: [151936]
""",
    at=(9, 5),
    at_file='rules.yaml',
)
